import type { PeerId } from "../../core/peerId.ts";

/**
 * The peers that subscribed to one layer of this node (Algorithms 8 and 9: the echo and ready subscription
 * sets Ẽ and R̃): who gets this node's ECHOs or READYs. Bounded: a subscriber beyond the cap is refused.
 * Static membership already bounds it by N − 1 (only members get this far); the cap is what will bound it
 * when identities are cheap (permissionless membership).
 */
export class SubscriberSet {
  readonly cap: number;
  private readonly members = new Set<PeerId>();
  /** Sends go to the same list many times between changes; rebuilt lazily. */
  private cached: readonly PeerId[] | undefined;

  constructor(cap: number) {
    this.cap = cap;
  }

  get size(): number {
    return this.members.size;
  }

  has(peer: PeerId): boolean {
    return this.members.has(peer);
  }

  add(peer: PeerId): "added" | "present" | "full" {
    if (this.members.has(peer)) return "present";
    if (this.members.size >= this.cap) return "full";
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

/**
 * The expected subscriber count of a layer is the number of draws all other nodes make of this node:
 * G for gossip, E for echo, R + D for ready (fewer once draws repeat). A cap of `factor` times that, plus
 * `slack`, refuses a correct subscriber only with negligible probability — the count is a sum of
 * independent indicators with mean μ, and P[X ≥ 4μ + 16] < 1e-9 for every μ (Chernoff) — so only surplus
 * identities (Sybils) are ever refused.
 */
export function subscriberCap(expected: number, factor: number, slack: number): number {
  return Math.ceil(factor * expected) + slack;
}
