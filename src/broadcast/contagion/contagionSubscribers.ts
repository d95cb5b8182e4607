import type { PeerId } from "../../core/peerId.ts";

/**
 * The peers that subscribed to one layer of this node (Algorithms 6, 8 and 9: the reciprocated gossip links
 * and the echo and ready subscription sets Ẽ and R̃): who gets this node's relays, ECHOs or READYs.
 *
 * No cap below the membership: every member may subscribe once per layer. A cap sized for the *expected*
 * number of subscribers (it was ⌈4 × expected⌉ + 16) is first come, first served, so Byzantine members that
 * subscribe first take the slots correct subscribers need — at N = 10,000, f = 0.1, the 1,000 Byzantine
 * members filled every gossip slot and most echo slots, and broadcasts stalled. Bounded instead by who can
 * get here: only members (the caller checks), each at most once, so at most N − 1 entries per layer.
 */
export class SubscriberSet {
  private readonly members = new Set<PeerId>();
  /**
   * Sends go to the same list many times between changes; rebuilt lazily, at most once per send, so a
   * subscriber that flaps costs O(1) per message and never more rebuilds than this node sends anyway.
   */
  private cached: readonly PeerId[] | undefined;

  get size(): number {
    return this.members.size;
  }

  has(peer: PeerId): boolean {
    return this.members.has(peer);
  }

  add(peer: PeerId): "added" | "present" {
    if (this.members.has(peer)) return "present";
    this.members.add(peer);
    this.cached = undefined;
    return "added";
  }

  delete(peer: PeerId): boolean {
    if (!this.members.delete(peer)) return false;
    this.cached = undefined;
    return true;
  }

  list(): readonly PeerId[] {
    this.cached ??= [...this.members];
    return this.cached;
  }
}
