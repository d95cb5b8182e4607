import { GrowthSweep } from "../../core/growthSweep.ts";
import type { PeerId } from "../../core/peerId.ts";

export interface PeerBudgetOptions {
  readonly perSecond: number;
  readonly burst: number;
}

/**
 * Buckets held before a sweep drops the full ones. A full bucket is one a new peer would get anyway, so
 * dropping it changes no verdict; what stays is the peers that spent tokens within one refill of the burst.
 */
const SWEEP_AT = 4_096;

/**
 * A token bucket per peer. Payload answers are the only messages a peer can make this node send that carry
 * payload bytes on demand, so each peer's share of our upload is capped. Only members get a bucket; in an
 * open network members come and go, so buckets that have refilled are swept once the map passes `SWEEP_AT`
 * (and then twice the size the last sweep left), which keeps it to the peers active within one refill.
 */
export class PeerBudget {
  private readonly perSecond: number;
  private readonly burst: number;
  private readonly buckets = new Map<PeerId, { tokens: number; updatedMs: number }>();
  private readonly sweep = new GrowthSweep(SWEEP_AT);

  constructor(options: PeerBudgetOptions) {
    this.perSecond = options.perSecond;
    this.burst = options.burst;
  }

  /** Buckets held now (tests and bounds). */
  get size(): number {
    return this.buckets.size;
  }

  /** Spends one token of `peer` if it has one. */
  take(peer: PeerId, nowMs: number): boolean {
    let bucket = this.buckets.get(peer);
    if (bucket === undefined) {
      this.sweep.beforeAdd(this.buckets, (_, b) => this.refilled(b, nowMs) >= this.burst);
      bucket = { tokens: this.burst, updatedMs: nowMs };
      this.buckets.set(peer, bucket);
    }
    bucket.tokens = this.refilled(bucket, nowMs);
    bucket.updatedMs = Math.max(bucket.updatedMs, nowMs);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private refilled(bucket: { tokens: number; updatedMs: number }, nowMs: number): number {
    // Clocks may be injected out of order by a simulator; never refill for negative time.
    const elapsedMs = Math.max(0, nowMs - bucket.updatedMs);
    return Math.min(this.burst, bucket.tokens + (elapsedMs * this.perSecond) / 1000);
  }
}
