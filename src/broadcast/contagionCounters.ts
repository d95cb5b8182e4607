import {
  type BroadcastCounters,
  CONTAGION_MESSAGE_KINDS,
  type DropReason,
  type MessageKind,
} from "./types.ts";

const CONTAGION_DROP_REASONS: readonly DropReason[] = [
  "nonMember",
  "notSampled",
  "subscribersFull",
  "malformed",
  "invalidPayload",
  "duplicateVote",
  "settled",
  "liveFull",
  "peerQuota",
  "rateLimited",
  "unsolicitedPayload",
  "unneededPayload",
  "notHeld",
];

/** Every kind but Bracha's `send`. */
export type ContagionMessageKind = Exclude<MessageKind, "send">;

/** The mutable counters behind `ContagionBroadcast.counters()`. */
export interface ContagionCounters {
  sent: Record<ContagionMessageKind, number>;
  received: Record<ContagionMessageKind, number>;
  dropped: Record<DropReason, number>;
  delivered: number;
  pullsStarted: number;
  pullRetries: number;
  stalledEvicted: number;
  samplesReplaced: number;
}

export function createContagionCounters(): ContagionCounters {
  return {
    sent: zeroes(CONTAGION_MESSAGE_KINDS as readonly ContagionMessageKind[]),
    received: zeroes(CONTAGION_MESSAGE_KINDS as readonly ContagionMessageKind[]),
    dropped: zeroes(CONTAGION_DROP_REASONS),
    delivered: 0,
    pullsStarted: 0,
    pullRetries: 0,
    stalledEvicted: 0,
    samplesReplaced: 0,
  };
}

export function snapshotContagionCounters(counters: ContagionCounters): BroadcastCounters {
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
