import type { PeerId } from "../core/peerId.ts";

/**
 * Inbound counters per peer, so metrics can show which peer floods (the global totals are in counters.ts).
 * Bounded: members always have an entry; other peers up to `maxOthers`, and when a new one arrives the one
 * idle the longest is forgotten (its counts restart if it comes back). Recency is the Map's insertion order:
 * every recorded frame moves the peer to the end.
 */
export interface PeerInboundCounters {
  framesIn: number;
  messagesIn: number;
  /** Frame headers included, as in the global `bytesIn`. */
  bytesIn: number;
  /** Streams reset because the peer broke the frame format. */
  protocolViolations: number;
  /** Streams reset because the inbound buffer budget had no room for the peer's next frame. */
  bufferResets: number;
}

export class PeerInboundStats {
  private readonly maxOthers: number;
  private readonly isMember: (peerId: PeerId) => boolean;
  private readonly byPeer = new Map<PeerId, PeerInboundCounters>();
  private others = 0;

  constructor(maxOthers: number, isMember: (peerId: PeerId) => boolean) {
    this.maxOthers = maxOthers;
    this.isMember = isMember;
  }

  /** The peer's counters for updating, created if needed and marked as the most recently active. */
  touch(peerId: PeerId): PeerInboundCounters {
    let entry = this.byPeer.get(peerId);
    if (entry !== undefined) {
      this.byPeer.delete(peerId);
      this.byPeer.set(peerId, entry);
      return entry;
    }
    entry = { framesIn: 0, messagesIn: 0, bytesIn: 0, protocolViolations: 0, bufferResets: 0 };
    this.byPeer.set(peerId, entry);
    if (!this.isMember(peerId)) {
      this.others++;
      if (this.others > this.maxOthers) this.evictIdlest();
    }
    return entry;
  }

  get(peerId: PeerId): PeerInboundCounters | undefined {
    return this.byPeer.get(peerId);
  }

  /** Copies, idlest first. */
  snapshot(): Map<PeerId, PeerInboundCounters> {
    const out = new Map<PeerId, PeerInboundCounters>();
    for (const [peerId, entry] of this.byPeer) out.set(peerId, { ...entry });
    return out;
  }

  get size(): number {
    return this.byPeer.size;
  }

  /** Recount after membership changed (a removed member becomes evictable, an added one is kept). */
  membershipChanged(): void {
    this.others = 0;
    for (const peerId of this.byPeer.keys()) if (!this.isMember(peerId)) this.others++;
    while (this.others > this.maxOthers) this.evictIdlest();
  }

  private evictIdlest(): void {
    for (const peerId of this.byPeer.keys()) {
      if (this.isMember(peerId)) continue;
      this.byPeer.delete(peerId);
      this.others--;
      return;
    }
  }
}
