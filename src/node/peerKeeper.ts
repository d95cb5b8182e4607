import type { PeerId } from "../core/peerId.ts";

/** What the keeper drives: the transport's members (dialled, redialled, pruned last). */
export interface KeptConnections {
  addPeer(addr: string): PeerId;
  removePeer(peer: PeerId): void;
}

/**
 * Why the node keeps a peer connected: a bootstrap peer, the sampler's view, or the host of a co-owner of a
 * shared account this node hosts (one reason per account and owner). Each part of the node keeps and
 * releases its own reasons; the peer stays a transport member while any reason holds, so the sampler
 * dropping a peer from its view does not cut a committee's link to it, nor the reverse. Reasons per peer are
 * bounded by their sources: one view and one bootstrap reason, and ≤ 32 × 31 co-owner reasons.
 */
export class PeerKeeper {
  private readonly transport: KeptConnections;
  private readonly reasons = new Map<PeerId, Set<string>>();

  constructor(transport: KeptConnections) {
    this.transport = transport;
  }

  /** Keep `peer` connected for `reason`, dialling it at `addr` (a multiaddr; `/p2p/<peer>` added if missing). */
  keep(peer: PeerId, addr: string, reason: string): void {
    let held = this.reasons.get(peer);
    if (held === undefined) {
      held = new Set();
      this.reasons.set(peer, held);
      this.transport.addPeer(addr.includes("/p2p/") ? addr : `${addr}/p2p/${peer}`);
    }
    held.add(reason);
  }

  /** Drop one reason; with the last one the transport stops keeping the peer. */
  release(peer: PeerId, reason: string): void {
    const held = this.reasons.get(peer);
    if (held === undefined || !held.delete(reason) || held.size > 0) return;
    this.reasons.delete(peer);
    this.transport.removePeer(peer);
  }

  isKept(peer: PeerId, reason?: string): boolean {
    const held = this.reasons.get(peer);
    return held !== undefined && (reason === undefined || held.has(reason));
  }

  /** The peers kept for `reason`. */
  keptFor(reason: string): PeerId[] {
    return [...this.reasons].filter(([, held]) => held.has(reason)).map(([peer]) => peer);
  }
}
