import { ErrorCode, TallyError } from "../core/errors.ts";
import type { PeerId } from "../core/peerId.ts";

export interface AnnouncementBudgetOptions {
  /** Sustained announcements a sender may deliver per second. */
  readonly ratePerSecond: number;
  /** How many it may deliver at once after being quiet (the bucket's size). */
  readonly burst: number;
  /** Senders tracked at once; the least recently heard one is forgotten first. */
  readonly maxSenders: number;
}

/**
 * Defaults, sized for a relaying mesh neighbour: it forwards every node's announcements, so its fair rate is
 * the network-wide rate, nodes ÷ refresh interval (2,000 nodes at 120 s ≈ 17/s); 50/s leaves headroom, and
 * a burst of 500 absorbs a neighbour's catch-up after a reconnect. 1,024 senders exceed any sane
 * connection cap, so an active sender is not evicted (which would hand it a full bucket).
 */
export const DEFAULT_ANNOUNCEMENT_BUDGET: AnnouncementBudgetOptions = {
  ratePerSecond: 50,
  burst: 500,
  maxSenders: 1024,
};

interface Bucket {
  tokens: number;
  lastMs: number;
}

/**
 * A token bucket per sending peer, for the I/O layer to consult before it even decodes an announcement:
 * a sender over its budget costs us one map lookup per message. Memory is bounded by `maxSenders` buckets.
 */
export class AnnouncementBudget {
  private readonly ratePerMs: number;
  private readonly burst: number;
  private readonly maxSenders: number;
  /** Insertion order is recency order: every use moves the sender to the end. */
  private readonly buckets = new Map<PeerId, Bucket>();

  constructor(options: AnnouncementBudgetOptions = DEFAULT_ANNOUNCEMENT_BUDGET) {
    const { ratePerSecond, burst, maxSenders } = options;
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw invalid("ratePerSecond must be > 0");
    if (!(burst >= 1) || !Number.isFinite(burst)) throw invalid("burst must be ≥ 1");
    if (!Number.isSafeInteger(maxSenders) || maxSenders < 1)
      throw invalid("maxSenders must be a positive integer");
    this.ratePerMs = ratePerSecond / 1000;
    this.burst = burst;
    this.maxSenders = maxSenders;
  }

  /** Spends one token of `sender`'s budget; false when it has none left. */
  allow(sender: PeerId, nowMs: number): boolean {
    let bucket = this.buckets.get(sender);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxSenders) {
        const oldest = this.buckets.keys().next().value as PeerId;
        this.buckets.delete(oldest);
      }
      bucket = { tokens: this.burst, lastMs: nowMs };
    } else {
      this.buckets.delete(sender);
      // A clock that steps back refills nothing rather than draining the bucket.
      const elapsed = Math.max(0, nowMs - bucket.lastMs);
      bucket.tokens = Math.min(this.burst, bucket.tokens + elapsed * this.ratePerMs);
      bucket.lastMs = Math.max(bucket.lastMs, nowMs);
    }
    this.buckets.set(sender, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Senders currently tracked (≤ maxSenders). */
  get trackedSenders(): number {
    return this.buckets.size;
  }
}

function invalid(message: string): TallyError {
  return new TallyError(ErrorCode.InvalidConfig, `announcement budget: ${message}`);
}
