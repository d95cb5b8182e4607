import type { ReadonlyInlineMap } from "../../core/inlineMap.ts";
import type { PeerId } from "../../core/peerId.ts";
import type { BroadcastAction, Digest, InstanceRef } from "../types.ts";
import type { DeliveredLog } from "./deliveredLog.ts";
import { copyRef, instanceKey, isWellFormedDigest, isWellFormedInstance } from "./instanceId.ts";
import { PeerBudget, type PeerBudgetOptions } from "./peerBudget.ts";

/** The counters answering keeps: those of the mode that owns it. */
export interface PayloadAnswerCounters {
  readonly sent: { payload: number };
  readonly dropped: Record<"malformed" | "notHeld" | "rateLimited", number>;
}

export interface PayloadAnswersOptions {
  /** The live instances' payloads. */
  readonly live: {
    get(key: string): { readonly payloads: ReadonlyInlineMap<Digest, Uint8Array> } | undefined;
  };
  readonly delivered: DeliveredLog;
  readonly budget: PeerBudgetOptions;
  readonly count: PayloadAnswerCounters;
}

/**
 * The other side of `PayloadPull`: answers a peer's `request` with a payload this node holds — a live
 * instance's, a recent delivery's, or, for an instance delivered or settled long ago, one the driver looks up
 * in its store (`serveFromStore`). Rate-limited per peer (`PeerBudget`).
 */
export class PayloadAnswers {
  private readonly live: PayloadAnswersOptions["live"];
  private readonly delivered: DeliveredLog;
  private readonly budget: PeerBudget;
  private readonly count: PayloadAnswerCounters;

  constructor(options: PayloadAnswersOptions) {
    this.live = options.live;
    this.delivered = options.delivered;
    this.budget = new PeerBudget(options.budget);
    this.count = options.count;
  }

  answer(from: PeerId, instance: InstanceRef, digest: Digest, nowMs: number, out: BroadcastAction[]): void {
    if (!isWellFormedInstance(instance) || !isWellFormedDigest(digest)) {
      this.count.dropped.malformed++;
      return;
    }
    const key = instanceKey(instance);
    const payload = this.live.get(key)?.payloads.get(digest) ?? this.delivered.payloadOf(key, digest);
    if (payload === undefined && !this.delivered.inStore(key, instance, digest)) {
      this.count.dropped.notHeld++;
      return;
    }
    if (!this.budget.take(from, nowMs)) {
      this.count.dropped.rateLimited++;
      return;
    }
    if (payload === undefined) {
      out.push({ type: "serveFromStore", to: from, instance: copyRef(instance), digest });
      return;
    }
    this.count.sent.payload++;
    out.push({ type: "send", to: [from], message: { kind: "payload", payload } });
  }
}
