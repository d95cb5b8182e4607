import type { PeerId } from "../core/peerId.ts";
import type { FrameBufferBudget } from "./framing.ts";
import type { TransportLimits } from "./limits.ts";

/**
 * Memory reserved by inbound streams for frames that have not fully arrived, across all streams (sans-I/O).
 * A FrameDecoder reserves a frame's announced size before allocating it and releases it when the frame
 * completes or the stream ends; a reservation that would break a cap is refused and the transport resets that
 * stream. Three caps: the total, one peer's share, and a part of the total only members may use.
 *
 * The per-peer map holds only peers with a partial frame in flight, so it is bounded by the open streams.
 */
export type InboundBufferCaps = Pick<
  TransportLimits,
  "maxBufferedInboundBytes" | "maxBufferedInboundBytesPerPeer" | "memberReservedInboundBytes"
>;

export class InboundBufferBudget {
  private readonly caps: InboundBufferCaps;
  private total = 0;
  private readonly perPeer = new Map<PeerId, number>();

  constructor(caps: InboundBufferCaps) {
    this.caps = caps;
  }

  /** Bytes reserved across all streams right now. */
  get totalBytes(): number {
    return this.total;
  }

  bytesOf(peerId: PeerId): number {
    return this.perPeer.get(peerId) ?? 0;
  }

  tryReserve(peerId: PeerId, isMember: boolean, bytes: number): boolean {
    const { maxBufferedInboundBytes: total, maxBufferedInboundBytesPerPeer: perPeer } = this.caps;
    const cap = isMember ? total : total - this.caps.memberReservedInboundBytes;
    const peerBytes = this.bytesOf(peerId);
    if (this.total + bytes > cap || peerBytes + bytes > perPeer) return false;
    this.total += bytes;
    this.perPeer.set(peerId, peerBytes + bytes);
    return true;
  }

  release(peerId: PeerId, bytes: number): void {
    const peerBytes = this.bytesOf(peerId) - bytes;
    if (peerBytes <= 0) this.perPeer.delete(peerId);
    else this.perPeer.set(peerId, peerBytes);
    this.total = Math.max(0, this.total - bytes);
  }

  /** The view one stream's decoder uses; membership is read per frame, so it follows addPeer/removePeer. */
  forPeer(peerId: PeerId, isMember: (peerId: PeerId) => boolean): FrameBufferBudget {
    return {
      tryReserve: (bytes) => this.tryReserve(peerId, isMember(peerId), bytes),
      release: (bytes) => this.release(peerId, bytes),
    };
  }
}
