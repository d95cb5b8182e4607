import type { InspectPayload, InstanceRef } from "../types.ts";
import { nonNegativeInteger, positiveInteger } from "./configChecks.ts";

/** The options of both modes' per-instance bookkeeping: live table, payload pulls, delivered record. */
export interface InstanceOptions {
  readonly inspect: InspectPayload;
  /**
   * The ledger's "already delivered and applied" test (its per-account seq watermark); must be cheap and
   * synchronous. It recognises settled instances once the bounded delivered record has forgotten them and
   * after a restart, so a late SEND cannot reopen them. Without it, only the delivered record protects them.
   */
  readonly isSettled?: (instance: InstanceRef) => boolean;
  readonly maxLiveInstances?: number;
  /** Live instances one peer may open by voting before any payload exists; default: an equal share. */
  readonly maxOpenedPerPeer?: number;
  /** Live instances one peer may introduce by sending their first payload; default: an equal share, at least 100. */
  readonly maxIntroducedPerPeer?: number;
  /** Live instances with a payload per source account. */
  readonly maxIntroducedPerAccount?: number;
  readonly stallTimeoutMs?: number;
  readonly pullRetryMs?: number;
  readonly maxDeliveredRecords?: number;
  readonly retainedDeliveredPayloads?: number;
  readonly payloadAnswersPerPeerPerSecond?: number;
  readonly payloadAnswerBurst?: number;
  /** First re-send of an undelivered instance's commitments, after its first one; 0 = no retransmission. */
  readonly retransmitInitialMs?: number;
  /** Cap of the doubling re-send delay. */
  readonly retransmitMaxMs?: number;
  /** Messages (per recipient) all re-sends of one tick may take together. */
  readonly retransmitBudgetPerTick?: number;
  /** Answers to late or repeated messages one peer can trigger: a burst, refilled at this rate. */
  readonly lateAnswersPerPeerPerSecond?: number;
  readonly lateAnswerBurst?: number;
}

export type ResolvedInstanceOptions = Required<Omit<InstanceOptions, "inspect" | "isSettled">> & {
  readonly isSettled: (instance: InstanceRef) => boolean;
};

export const INSTANCE_DEFAULTS = {
  /**
   * Undelivered instances with full state (N votes + up to two ~4 KiB payloads each): tens of MB at most for
   * N ≤ 100, and several seconds of in-flight transfers at the signature-verify-bound rate.
   */
  maxLiveInstances: 10_000,
  /**
   * A correct wallet has one transfer in flight (it signs the next once the last applied); a few more cover
   * a resubmission at a later seq. An owner who signs more only delays its own account.
   */
  maxIntroducedPerAccount: 8,
  /**
   * A Bracha instance with a correct introducer finishes in three message delays; one idle for this long was
   * equivocated or forged and will not progress. Evicting it frees its slot; its commitments stay (`OwnCommitmentIndex`).
   */
  stallTimeoutMs: 10 * 60_000,
  /** A few round trips: a silent Byzantine voter costs the puller one period before it asks someone else. */
  pullRetryMs: 2_000,
  /**
   * ≈ 200 B a record (its key and digest strings included), ≈ 3.3 MB. ≈ 5 s at 3,000 deliveries/s: late
   * answers cover a behind peer's first re-sends (≈ 1 and 3 s after its first send), and catch-up, which asks
   * every 3 s, the rest; older instances are recognised by `isSettled`. 100,000 until session 38, when the
   * node's per-transfer tables were sized in seconds of traffic (docs/architecture.md, "Memory").
   */
  maxDeliveredRecords: 16_384,
  /** Pulls come within a few retry periods of the others' delivery; older payloads are served from the store. */
  retainedDeliveredPayloads: 1_024,
  /** Caps what one peer can make us upload on demand at ~200 KiB/s of 4 KiB transfers. */
  payloadAnswersPerPeerPerSecond: 50,
  payloadAnswerBurst: 100,
  /**
   * A broadcast completes in a few hundred ms (three message delays; the WAN simulation's p99 is 270 ms):
   * after 1 s, a missing vote was lost rather than slow, and a healthy network never re-sends.
   */
  retransmitInitialMs: 1_000,
  /** A peer down for minutes gets a re-send at most every 30 s per instance, from each correct node. */
  retransmitMaxMs: 30_000,
  /**
   * 2,000 votes per tick (4 ticks/s: 8,000/s, ~600 KB/s): a node with thousands of stalled instances re-sends
   * ten instances' worth per tick at N = 100 instead of flooding its links.
   */
  retransmitBudgetPerTick: 2_000,
  /** A restarted node behind on ~1,000 instances is answered by each peer within 20 s; votes are 74 bytes. */
  lateAnswersPerPeerPerSecond: 50,
  lateAnswerBurst: 200,
} as const;

/**
 * The floor of the default introduction quota. In a large contagion network the equal share of the live table
 * is one instance, but every gossip neighbour relays every payload; 100 lets an honest neighbour bring 100
 * concurrent broadcasts. What a coalition can hold this way is bounded by the account quota instead: each such
 * instance needs a funded account whose next seq it is (the node's echo admission).
 */
export const MIN_INTRODUCED_PER_PEER = 100;

/**
 * Applies the defaults and checks the bounds, in declaration order (so the first bad option is the one
 * reported). `peers` is how many peers share the live table by opening instances with votes: the default
 * `maxOpenedPerPeer` is an equal share. The answer rate has its own check because the modes differ there:
 * Bracha takes whole answers per second, contagion any positive rate.
 */
export function resolveInstanceOptions(
  options: InstanceOptions,
  peers: number,
  checkAnswerRate: (name: string, value: number) => number,
): ResolvedInstanceOptions {
  const pick = <K extends keyof typeof INSTANCE_DEFAULTS>(key: K): number =>
    options[key] ?? INSTANCE_DEFAULTS[key];
  const maxLiveInstances = positiveInteger("maxLiveInstances", pick("maxLiveInstances"));
  return {
    isSettled: options.isSettled ?? (() => false),
    maxLiveInstances,
    maxOpenedPerPeer: positiveInteger(
      "maxOpenedPerPeer",
      options.maxOpenedPerPeer ?? Math.ceil(maxLiveInstances / peers),
    ),
    maxIntroducedPerPeer: positiveInteger(
      "maxIntroducedPerPeer",
      options.maxIntroducedPerPeer ?? Math.max(MIN_INTRODUCED_PER_PEER, Math.ceil(maxLiveInstances / peers)),
    ),
    maxIntroducedPerAccount: positiveInteger("maxIntroducedPerAccount", pick("maxIntroducedPerAccount")),
    stallTimeoutMs: positiveInteger("stallTimeoutMs", pick("stallTimeoutMs")),
    pullRetryMs: positiveInteger("pullRetryMs", pick("pullRetryMs")),
    maxDeliveredRecords: positiveInteger("maxDeliveredRecords", pick("maxDeliveredRecords")),
    retainedDeliveredPayloads: positiveInteger(
      "retainedDeliveredPayloads",
      pick("retainedDeliveredPayloads"),
    ),
    payloadAnswersPerPeerPerSecond: checkAnswerRate(
      "payloadAnswersPerPeerPerSecond",
      pick("payloadAnswersPerPeerPerSecond"),
    ),
    payloadAnswerBurst: positiveInteger("payloadAnswerBurst", pick("payloadAnswerBurst")),
    retransmitInitialMs: nonNegativeInteger("retransmitInitialMs", pick("retransmitInitialMs")),
    retransmitMaxMs: positiveInteger("retransmitMaxMs", pick("retransmitMaxMs")),
    retransmitBudgetPerTick: positiveInteger("retransmitBudgetPerTick", pick("retransmitBudgetPerTick")),
    lateAnswersPerPeerPerSecond: checkAnswerRate(
      "lateAnswersPerPeerPerSecond",
      pick("lateAnswersPerPeerPerSecond"),
    ),
    lateAnswerBurst: positiveInteger("lateAnswerBurst", pick("lateAnswerBurst")),
  };
}
