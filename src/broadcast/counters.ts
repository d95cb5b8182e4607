import { type BroadcastCounters, type DropReason, MESSAGE_KINDS, type MessageKind } from "./types.ts";

const DROP_REASONS: readonly DropReason[] = [
  "nonMember",
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

/** The mutable counters behind `BroadcastProtocol.counters()`; the metrics exporter reads snapshots. */
export interface MutableCounters {
  sent: Record<MessageKind, number>;
  received: Record<MessageKind, number>;
  dropped: Record<DropReason, number>;
  delivered: number;
  pullsStarted: number;
  pullRetries: number;
  stalledEvicted: number;
}

export function createCounters(): MutableCounters {
  return {
    sent: zeroes(MESSAGE_KINDS),
    received: zeroes(MESSAGE_KINDS),
    dropped: zeroes(DROP_REASONS),
    delivered: 0,
    pullsStarted: 0,
    pullRetries: 0,
    stalledEvicted: 0,
  };
}

export function snapshotCounters(counters: MutableCounters): BroadcastCounters {
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
