import type { BroadcastCounters, DropReason, MessageKind } from "../types.ts";

/** Every drop reason, in the order the counters report them; each mode counts those that can happen to it. */
export const DROP_REASONS: readonly DropReason[] = [
  "nonMember",
  "notSampled",
  "subscribersFull",
  "malformed",
  "invalidPayload",
  "duplicateVote",
  "settled",
  "liveFull",
  "peerQuota",
  "accountQuota",
  "rateLimited",
  "unsolicitedPayload",
  "unneededPayload",
  "notHeld",
];

/** The mutable counters behind `BroadcastProtocol.counters()`; the metrics exporter reads snapshots. */
export interface MutableCounters<K extends MessageKind = MessageKind> {
  sent: Record<K, number>;
  received: Record<K, number>;
  dropped: Record<DropReason, number>;
  delivered: number;
  pullsStarted: number;
  pullRetries: number;
  stalledEvicted: number;
  /** Re-sends of an undelivered instance's commitments (each to the peers that had not shown progress). */
  retransmissions: number;
  /** READYs (and commitments) sent in answer to a late or repeated message from a peer that fell behind. */
  lateAnswers: number;
}

/** Zeroed counters for a mode that speaks `kinds` and can drop for `dropReasons`. */
export function createCounters<K extends MessageKind>(
  kinds: readonly K[],
  dropReasons: readonly DropReason[],
): MutableCounters<K> {
  return {
    sent: zeroes(kinds),
    received: zeroes(kinds),
    dropped: zeroes(dropReasons),
    delivered: 0,
    pullsStarted: 0,
    pullRetries: 0,
    stalledEvicted: 0,
    retransmissions: 0,
    lateAnswers: 0,
  };
}

/** A copy the caller may keep: later events do not change it. Mode-specific counters are copied along. */
export function snapshotCounters<K extends MessageKind>(counters: MutableCounters<K>): BroadcastCounters {
  return {
    ...counters,
    sent: { ...counters.sent },
    received: { ...counters.received },
    dropped: { ...counters.dropped },
  };
}

function zeroes<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}
