import type { RandomSource } from "../../core/random.ts";

export interface RetransmissionOptions {
  /** Delay before the first re-send of an instance's commitments; 0 turns retransmission off. */
  readonly initialMs: number;
  /** The delay doubles after every re-send, up to this cap. */
  readonly maxMs: number;
  /** Messages (counted per recipient) all re-sends of one tick may take together. */
  readonly budgetPerTick: number;
  readonly random: RandomSource;
}

/** One undelivered instance's retry state: two numbers, whatever the instance's size. */
interface RetryState {
  dueMs: number;
  delayMs: number;
}

/**
 * When to re-send an undelivered instance's commitments (its ECHO/READY and, at its introducer, the payload):
 * the transport is at-most-once, so a vote lost to a peer that was down or a stream that died is otherwise
 * never sent again. The first re-send comes `initialMs` after the first commitment — well after a broadcast
 * that flows normally has delivered everywhere, so a healthy network never sees one — then the delay doubles
 * up to `maxMs`, each later delay jittered to [½, 1]× with the injected random (drawn only when a re-send
 * fires, so a run without re-sends draws nothing). A tick re-sends due instances until `budgetPerTick`
 * messages are spent; the rest wait for the next tick, oldest first.
 */
export class Retransmissions {
  private readonly options: RetransmissionOptions;
  /** Insertion order = the order in which re-sends are tried: a re-sent instance moves to the back. */
  private readonly byKey = new Map<string, RetryState>();
  /** Instances restored after a restart, before any clock reading: scheduled from the first tick. */
  private restored: string[] = [];

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

  /** Starts the clock on an instance's first commitment; later ones keep its schedule. */
  schedule(key: string, nowMs: number): void {
    if (!this.enabled || this.byKey.has(key)) return;
    this.byKey.set(key, { dueMs: nowMs + this.options.initialMs, delayMs: this.options.initialMs });
  }

  /** The instance was delivered: nothing more to re-send. */
  cancel(key: string): void {
    this.byKey.delete(key);
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
      state.delayMs = Math.min(this.options.maxMs, state.delayMs * 2);
      state.dueMs = nowMs + state.delayMs * (0.5 + this.options.random() / 2);
      this.byKey.set(key, state);
    }
  }
}
