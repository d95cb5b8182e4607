import type { PeerId } from "../../core/peerId.ts";

export interface PeerBudgetOptions {
  readonly perSecond: number;
  readonly burst: number;
}

/**
 * A token bucket per peer. Payload answers are the only messages a peer can make this node send that carry
 * payload bytes on demand, so each peer's share of our upload is capped. Only members get a bucket, so the
 * map is bounded by the member list.
 */
export class PeerBudget {
  private readonly perSecond: number;
  private readonly burst: number;
  private readonly buckets = new Map<PeerId, { tokens: number; updatedMs: number }>();

  constructor(options: PeerBudgetOptions) {
    this.perSecond = options.perSecond;
    this.burst = options.burst;
  }

  /** Spends one token of `peer` if it has one. */
  take(peer: PeerId, nowMs: number): boolean {
    let bucket = this.buckets.get(peer);
    if (bucket === undefined) {
      bucket = { tokens: this.burst, updatedMs: nowMs };
      this.buckets.set(peer, bucket);
    }
    // Clocks may be injected out of order by a simulator; never refill for negative time.
    const elapsedMs = Math.max(0, nowMs - bucket.updatedMs);
    bucket.tokens = Math.min(this.burst, bucket.tokens + (elapsedMs * this.perSecond) / 1000);
    bucket.updatedMs = Math.max(bucket.updatedMs, nowMs);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
