import type { PeerId } from "../../core/peerId.ts";
import type { BroadcastAction, Digest, InstanceRef } from "../types.ts";
import type { DeliveredLog } from "./deliveredLog.ts";
import { copyRef, instanceKey, isWellFormedInstance } from "./instanceId.ts";
import { PeerBudget, type PeerBudgetOptions } from "./peerBudget.ts";

/** An ECHO or READY, the only messages late answers carry (payloads follow on request, `PayloadAnswers`). */
export interface VoteMessage {
  readonly kind: "echo" | "ready";
  readonly instance: InstanceRef;
  readonly digest: Digest;
}

/** The counters late answers keep: those of the mode that owns them. */
export interface LateAnswerCounters {
  readonly sent: { echo: number; ready: number };
  readonly dropped: { rateLimited: number };
  lateAnswers: number;
}

export interface LateAnswersOptions {
  readonly delivered: DeliveredLog;
  /**
   * A message for an instance delivered here at least this long ago comes from a peer that fell behind (a
   * retransmission, a restart's re-announcement): answered. Earlier ones are the broadcast's normal tail
   * (votes beyond the quorum) and answering them would only double its traffic.
   */
  readonly lateAfterMs: number;
  readonly budget: PeerBudgetOptions;
  readonly count: LateAnswerCounters;
}

/**
 * Helping a peer that fell behind: a settled node answers its late ECHO/READY/SEND/gossip/request with the
 * READY it delivered (so the late node can count it; the payload follows on request), and an undelivered one
 * answers a repeated vote with its own commitments (the sender re-sends only to peers it has not heard
 * progress from). Each answer is a message a peer makes this node send: capped per peer (`PeerBudget`).
 */
export class LateAnswers {
  private readonly delivered: DeliveredLog;
  private readonly lateAfterMs: number;
  private readonly budget: PeerBudget;
  private readonly count: LateAnswerCounters;

  constructor(options: LateAnswersOptions) {
    this.delivered = options.delivered;
    this.lateAfterMs = options.lateAfterMs;
    this.budget = new PeerBudget(options.budget);
    this.count = options.count;
  }

  /**
   * A message from `from` for a settled instance: answers with this node's READY if it delivered the instance
   * long enough ago to call the message late (and still records its digest; the ledger's `isSettled` alone
   * does not know it). Returns whether it answered.
   */
  answerSettled(
    from: PeerId,
    key: string,
    instance: InstanceRef,
    nowMs: number,
    out: BroadcastAction[],
  ): boolean {
    if (this.lateAfterMs <= 0) return false;
    const deliveredAtMs = this.delivered.deliveredAtMs(key);
    if (deliveredAtMs === undefined || nowMs - deliveredAtMs < this.lateAfterMs) return false;
    const digest = this.delivered.digestOf(key)!;
    return this.answer(from, [{ kind: "ready", instance: copyRef(instance), digest }], nowMs, out);
  }

  /**
   * A message for `instance` from a peer that may have fallen behind: answered as by `answerSettled` if this
   * node settled the instance (`isLive` says it has not: a live instance is undelivered by construction).
   */
  answerIfSettled(
    from: PeerId,
    instance: InstanceRef,
    isLive: (key: string) => boolean,
    nowMs: number,
    out: BroadcastAction[],
  ): void {
    if (!isWellFormedInstance(instance)) return;
    const key = instanceKey(instance);
    if (!isLive(key) && this.delivered.isSettled(key, instance))
      this.answerSettled(from, key, instance, nowMs, out);
  }

  /** Sends `messages` (votes) to `from` if its budget allows; one token per answer, however many votes. */
  answer(from: PeerId, messages: readonly VoteMessage[], nowMs: number, out: BroadcastAction[]): boolean {
    if (messages.length === 0) return false;
    if (!this.budget.take(from, nowMs)) {
      this.count.dropped.rateLimited++;
      return false;
    }
    this.count.lateAnswers++;
    for (const message of messages) {
      this.count.sent[message.kind]++;
      out.push({ type: "send", to: [from], message });
    }
    return true;
  }
}
