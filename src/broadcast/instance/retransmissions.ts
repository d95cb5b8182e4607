import type { RandomSource } from "../../core/random.ts";

export interface RetransmissionOptions {
  /** Delay before the first re-send of an instance's commitments; 0 turns retransmission off. */
  readonly initialMs: number;
  /** The delay doubles after every re-send, up to this cap; it also caps the backed-off first delay. */
  readonly maxMs: number;
  /** Messages (counted per recipient) all re-sends of one tick may take together. */
  readonly budgetPerTick: number;
  readonly random: RandomSource;
}

/** One undelivered instance's retry state: a few numbers, whatever the instance's size. */
interface RetryState {
  dueMs: number;
  delayMs: number;
  /** When its first commitment was made: a delivery without re-send measures how long instances take. */
  startMs: number;
  resent: boolean;
}

/**
 * Smoothing of the delivery-time estimate, as TCP's retransmission timer does it (RFC 6298): gains 1/8 for
 * the mean and 1/4 for the mean deviation, and the first re-send waits for mean + 4 deviations.
 */
const MEAN_GAIN = 1 / 8;
const DEVIATION_GAIN = 1 / 4;
const DEVIATIONS = 4;

/**
 * When to re-send an undelivered instance's commitments (its ECHO/READY and, at its introducer, the payload):
 * the transport is at-most-once, so a vote lost to a peer that was down or a stream that died is otherwise
 * never sent again. The first re-send comes `initialMs` after the first commitment — well after a broadcast
 * that flows normally has delivered everywhere, so a healthy network never sees one — or later when this
 * node's deliveries take longer: the delay is at least the smoothed delivery time plus four deviations,
 * measured on instances delivered without a re-send (Karn's rule). Under a load that makes every broadcast
 * take seconds, a fixed delay would re-send every instance and feed the congestion it came from (measured:
 * a 16-node devnet sent 166 messages per transfer per node instead of ~40). Then the delay doubles
 * up to `maxMs`, each later delay jittered to [½, 1]× with the injected random (drawn only when a re-send
 * fires, so a run without re-sends draws nothing). A tick re-sends due instances until `budgetPerTick`
 * messages are spent; the rest wait for the next tick, oldest first.
 *
 * Karn's rule alone would leave the first delay stuck when a load spike makes every instance time out: none
 * is sampled any more, so the old, too short delay stays and every new instance is re-sent too. So, as RFC
 * 6298 §5.5–5.7 does with its timer, a timeout backs the first delay off: it doubles (up to `maxMs`, the cap
 * later re-sends have too) and new instances keep the backed-off value until an instance delivered without a
 * re-send gives a clean sample, which hands the delay back to the estimator. Only an instance's first re-send
 * counts as a timeout, and only if it was scheduled with the current first delay: a burst of instances
 * scheduled under the old value doubles it once, not once per instance, and an instance that never delivers
 * (an equivocating source's) backs it off once, not on each of its later re-sends.
 */
export class Retransmissions {
  private readonly options: RetransmissionOptions;
  /** Insertion order = the order in which re-sends are tried: a re-sent instance moves to the back. */
  private readonly byKey = new Map<string, RetryState>();
  /** Instances restored after a restart, before any clock reading: scheduled from the first tick. */
  private restored: string[] = [];
  /** Smoothed delivery time and its mean deviation, ms; undefined before the first sample. */
  private meanMs: number | undefined;
  private deviationMs = 0;
  /** The first delay after timeouts (RFC 6298 §5.5); undefined when the estimate rules. Cleared by a clean sample. */
  private backedOffMs: number | undefined;

  constructor(options: RetransmissionOptions) {
    this.options = options;
  }

  get size(): number {
    return this.byKey.size;
  }

  get enabled(): boolean {
    return this.options.initialMs > 0;
  }

  /** A commitment reloaded after a restart (`restore` has no clock): its schedule starts at the next tick. */
  restore(key: string): void {
    if (this.enabled) this.restored.push(key);
  }

  /**
   * The delay before an instance's first re-send: `initialMs`, or longer while deliveries are slow, or the
   * backed-off value after a timeout until a clean sample.
   */
  get firstDelayMs(): number {
    if (this.backedOffMs !== undefined) return this.backedOffMs;
    const { initialMs, maxMs } = this.options;
    if (this.meanMs === undefined) return initialMs;
    return Math.min(maxMs, Math.max(initialMs, Math.ceil(this.meanMs + DEVIATIONS * this.deviationMs)));
  }

  /** Starts the clock on an instance's first commitment; later ones keep its schedule. */
  schedule(key: string, nowMs: number): void {
    if (!this.enabled || this.byKey.has(key)) return;
    const delayMs = this.firstDelayMs;
    this.byKey.set(key, { dueMs: nowMs + delayMs, delayMs, startMs: nowMs, resent: false });
  }

  /** The instance was delivered: nothing more to re-send. Its delivery time feeds the estimate. */
  cancel(key: string, nowMs: number): void {
    const state = this.byKey.get(key);
    if (state === undefined) return;
    this.byKey.delete(key);
    // Karn's rule: a re-sent instance's time says nothing about how long a delivery takes.
    if (!state.resent) this.sample(Math.max(0, nowMs - state.startMs));
  }

  private sample(elapsedMs: number): void {
    this.backedOffMs = undefined;
    if (this.meanMs === undefined) {
      this.meanMs = elapsedMs;
      this.deviationMs = elapsedMs / 2;
      return;
    }
    this.deviationMs += DEVIATION_GAIN * (Math.abs(elapsedMs - this.meanMs) - this.deviationMs);
    this.meanMs += MEAN_GAIN * (elapsedMs - this.meanMs);
  }

  /**
   * Timer: `resend` every due instance (it returns the messages it queued) while the tick's budget lasts.
   * An instance `resend` no longer knows (returns undefined) leaves the schedule.
   */
  resendDue(nowMs: number, resend: (key: string) => number | undefined): void {
    if (this.restored.length > 0) {
      for (const key of this.restored) this.schedule(key, nowMs);
      this.restored = [];
    }
    if (this.byKey.size === 0) return;
    let budget = this.options.budgetPerTick;
    const due: string[] = [];
    for (const [key, state] of this.byKey) if (nowMs >= state.dueMs) due.push(key);
    for (const key of due) {
      if (budget <= 0) return;
      const state = this.byKey.get(key)!;
      const sent = resend(key);
      this.byKey.delete(key);
      if (sent === undefined) continue;
      budget -= sent;
      if (!state.resent) this.backOff(state.delayMs);
      state.resent = true;
      state.delayMs = Math.min(this.options.maxMs, state.delayMs * 2);
      state.dueMs = nowMs + state.delayMs * (0.5 + this.options.random() / 2);
      this.byKey.set(key, state);
    }
  }

  /** An instance scheduled with `firstDelayMs` timed out: new instances wait twice as long, up to `maxMs`. */
  private backOff(firstDelayMs: number): void {
    const current = this.firstDelayMs;
    // Scheduled under an older, shorter delay: already backed off for (or the estimate has since grown).
    if (firstDelayMs < current) return;
    this.backedOffMs = Math.min(this.options.maxMs, current * 2);
  }
}
