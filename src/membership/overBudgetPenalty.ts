import type { PeerId } from "../core/peerId.ts";

/**
 * A sender over its record budget (50/s, burst 500) is penalized once per 64 excess records: a relay that
 * bursts briefly loses a few points it soon regains (10 s half-life); one sending 10× its budget is banned in
 * seconds.
 */
export const OVER_BUDGET_PER_PENALTY = 64;
/** Senders whose excess is being counted; the least recently counted is forgotten beyond this. */
export const MAX_COUNTED_SENDERS = 1_024;

/**
 * Counts, per sender, the records refused for being over its announcement budget, and says when the count
 * reaches another OVER_BUDGET_PER_PENALTY: the moment the sender is due one `budgetOverrun` penalty. Memory is
 * bounded by MAX_COUNTED_SENDERS counters; a forgotten sender starts again from zero, which only delays its
 * next penalty.
 */
export class OverBudgetPenalty {
  private readonly excess = new Map<PeerId, number>();
  private readonly maxSenders: number;

  constructor(maxSenders = MAX_COUNTED_SENDERS) {
    this.maxSenders = maxSenders;
  }

  /** One more refused record from `sender`; true when it is due a penalty. */
  count(sender: PeerId): boolean {
    const excess = (this.excess.get(sender) ?? 0) + 1;
    // Insertion order is recency order: the sender moves to the end.
    this.excess.delete(sender);
    if (this.excess.size >= this.maxSenders) {
      const oldest = this.excess.keys().next().value;
      if (oldest !== undefined) this.excess.delete(oldest);
    }
    this.excess.set(sender, excess % OVER_BUDGET_PER_PENALTY);
    return excess % OVER_BUDGET_PER_PENALTY === 0;
  }

  /** Senders currently counted (≤ the bound). */
  get countedSenders(): number {
    return this.excess.size;
  }
}
