import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type BroadcastWireMessage,
  decodeBroadcastMessage,
  encodeBroadcastMessage,
  MAX_PAYLOAD_BATCH_BYTES,
  MAX_PAYLOADS_PER_BATCH,
  type PayloadMessage,
} from "../../src/broadcast/messageCodec.ts";
import { OutboundPayloads, toBatches } from "../../src/protocols/broadcast/outboundPayloads.ts";

const gossip = (n: number, size = 8): PayloadMessage => ({
  kind: "gossip",
  payload: new Uint8Array(size).fill(n & 0xff),
});
/** The first byte of each message's payloads, in the order a receiver would hand them to its core. */
const firstBytes = (messages: readonly BroadcastWireMessage[]): number[] =>
  messages.flatMap((m) => {
    const decoded = decodeBroadcastMessage(encodeBroadcastMessage(m));
    if (decoded.kind === "payloads") return decoded.items.map((i) => i.payload[0]!);
    return "payload" in decoded ? [decoded.payload[0]!] : [];
  });

describe("outbound payload batches", () => {
  it("gives each peer its payloads in order, in batches of at most 64, and keeps nothing", () => {
    const out = new OutboundPayloads();
    for (let n = 1; n <= 150; n++) out.add("P", gossip(n));
    out.add("Q", { kind: "payload", payload: Uint8Array.of(42) });
    assert.equal(out.peers, 2);
    const all = new Map(out.takeAll());
    assert.equal(out.peers, 0);
    assert.deepEqual(out.takeAll(), []);
    const toP = all.get("P")!;
    assert.deepEqual(
      toP.map((m) => (m.kind === "payloads" ? m.items.length : 1)),
      [MAX_PAYLOADS_PER_BATCH, MAX_PAYLOADS_PER_BATCH, 150 - 2 * MAX_PAYLOADS_PER_BATCH],
    );
    assert.deepEqual(
      firstBytes(toP),
      Array.from({ length: 150 }, (_, i) => i + 1),
    );
    // A lone payload goes as the plain message: no batch header for nothing.
    assert.deepEqual(all.get("Q"), [{ kind: "payload", payload: Uint8Array.of(42) }]);
  });

  it("closes a batch before it would exceed 64 KiB, and every batch encodes", () => {
    const big = 20_000;
    const items = Array.from({ length: 7 }, (_, i) => gossip(i, big));
    const batches = toBatches(items);
    for (const batch of batches) {
      assert.ok(encodeBroadcastMessage(batch).length <= MAX_PAYLOAD_BATCH_BYTES);
    }
    assert.deepEqual(
      batches.map((m) => (m.kind === "payloads" ? m.items.length : 1)),
      [3, 3, 1],
    );
    assert.deepEqual(firstBytes(batches), [0, 1, 2, 3, 4, 5, 6]);
  });
});
