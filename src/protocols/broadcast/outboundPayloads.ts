import {
  type BroadcastWireMessage,
  MAX_PAYLOAD_BATCH_BYTES,
  MAX_PAYLOADS_PER_BATCH,
  type PayloadMessage,
  payloadBatchBytes,
} from "../../broadcast/messageCodec.ts";
import type { PeerId } from "../../core/peerId.ts";

/**
 * The payload messages (send, payload, gossip) a processing step sends, gathered per peer as votes are
 * (`OutboundVotes`): at saturation a step introduces dozens of transfers and gossips each to the same few
 * peers, so each peer gets a few payload batches instead of a message per transfer. Taken at the end of the
 * step, so nothing waits for the next one; bounded by what one step emits. A peer with one item gets it as
 * the plain message.
 */
export class OutboundPayloads {
  private readonly pending = new Map<PeerId, PayloadMessage[]>();

  add(to: PeerId, message: PayloadMessage): void {
    const items = this.pending.get(to);
    if (items === undefined) this.pending.set(to, [message]);
    else items.push(message);
  }

  get peers(): number {
    return this.pending.size;
  }

  /** Every peer's messages in the order they were added, as batches within the codec's bounds; nothing is left. */
  takeAll(): Array<[PeerId, BroadcastWireMessage[]]> {
    const all: Array<[PeerId, BroadcastWireMessage[]]> = [];
    for (const [to, items] of this.pending) all.push([to, toBatches(items)]);
    this.pending.clear();
    return all;
  }
}

/** Splits in order at 64 items or 64 KiB; an item too large for any batch (never a valid transfer) goes alone. */
export function toBatches(items: readonly PayloadMessage[]): BroadcastWireMessage[] {
  if (items.length === 1) return [items[0]!];
  const batches: BroadcastWireMessage[] = [];
  let current: PayloadMessage[] = [];
  let bytes = 0;
  const close = () => {
    if (current.length === 1) batches.push(current[0]!);
    else if (current.length > 1) batches.push({ kind: "payloads", items: current });
    current = [];
    bytes = 0;
  };
  for (const item of items) {
    const fits =
      current.length < MAX_PAYLOADS_PER_BATCH &&
      payloadBatchBytes(current.length + 1, bytes + item.payload.length) <= MAX_PAYLOAD_BATCH_BYTES;
    if (!fits) close();
    current.push(item);
    bytes += item.payload.length;
  }
  close();
  return batches;
}
