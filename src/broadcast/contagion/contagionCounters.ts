import { createCounters, DROP_REASONS, type MutableCounters } from "../instance/counters.ts";
import { CONTAGION_MESSAGE_KINDS, type MessageKind } from "../types.ts";

/** Every kind but Bracha's `send`. */
export type ContagionMessageKind = Exclude<MessageKind, "send">;

/** The mutable counters behind `ContagionBroadcast.counters()`: every drop reason applies. */
export interface ContagionCounters extends MutableCounters<ContagionMessageKind> {
  samplesReplaced: number;
}

export function createContagionCounters(): ContagionCounters {
  return {
    ...createCounters(CONTAGION_MESSAGE_KINDS as readonly ContagionMessageKind[], DROP_REASONS),
    samplesReplaced: 0,
  };
}
