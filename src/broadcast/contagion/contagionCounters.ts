import type { PeerId } from "../../core/peerId.ts";
import { createCounters, DROP_REASONS, type MutableCounters } from "../instance/counters.ts";
import {
  type BroadcastAction,
  type BroadcastMessage,
  CONTAGION_MESSAGE_KINDS,
  type MessageKind,
} from "../types.ts";

/** Every kind but Bracha's `send`. */
export type ContagionMessageKind = Exclude<MessageKind, "send">;

/** The mutable counters behind `ContagionBroadcast.counters()`: every drop reason applies. */
export interface ContagionCounters extends MutableCounters<ContagionMessageKind> {
  samplesReplaced: number;
  staleSendersTold: number;
}

export function createContagionCounters(): ContagionCounters {
  return {
    ...createCounters(CONTAGION_MESSAGE_KINDS as readonly ContagionMessageKind[], DROP_REASONS),
    samplesReplaced: 0,
    staleSendersTold: 0,
  };
}

/** Queues a send of `message` to `to` (nothing if nobody), counted per recipient. */
export function countedSend(
  count: ContagionCounters,
  out: BroadcastAction[],
  to: readonly PeerId[],
  message: BroadcastMessage,
): void {
  if (to.length === 0 || message.kind === "send") return;
  count.sent[message.kind] += to.length;
  out.push({ type: "send", to, message });
}
