import type { BroadcastMessage, MessageKind } from "../broadcast/types.ts";

/**
 * The simulator's adversary as the rest of the simulator sees it, and the simulator as the adversary sees
 * it: the strategies, the network view an attack works through, and the report of what it did.
 */

export const ADVERSARIES = ["silent", "equivocate", "ready-flood"] as const;
export type Adversary = (typeof ADVERSARIES)[number];

/** The simulator as the adversary sees it: who is who, the clock, and the network it schedules. */
export interface AdversaryNetwork {
  readonly protocol: "contagion" | "bracha";
  readonly correct: readonly number[];
  readonly byzantine: readonly number[];
  readonly seed: number;
  readonly meanLatencyMs: number;
  readonly payloadBytes: number;
  now(): number;
  /** A message from a Byzantine node, delivered after the latency model's delay. */
  send(from: number, to: number, message: BroadcastMessage): void;
  /** Calls `ByzantineAdversary.wake(token)` after `delayMs`. */
  wakeAfter(delayMs: number, token: number): void;
}

/** What the adversary did in a run: the evidence that its attacks actually happened. */
export interface AttackReport {
  /** Messages the Byzantine nodes sent, by kind. */
  readonly byzantineMessages: Readonly<Partial<Record<MessageKind, number>>>;
  /** Broadcasts with an equivocating source, and those in which a correct node became ready for m. */
  readonly equivocations: number;
  readonly switches: number;
  /** Correct nodes fed m before the first one became ready for it: mean over the switches. */
  readonly fedBeforeSwitch: number;
  /** Correct nodes' gossip relays of equivocated instances: never delivered. */
  readonly relaysWithheld: number;
  /** Correct nodes' READYs for the other side's digest of an equivocated instance: delayed. */
  readonly readiesDelayed: number;
}

/** What an attack may do through the adversary: send as a Byzantine node, and know whose votes count where. */
export interface AttackContext {
  readonly network: AdversaryNetwork;
  send(from: number, to: number, message: BroadcastMessage): void;
  /** Whether `target` counts `byzantine`'s ECHOs (or READYs): it sampled it (contagion), or always (Bracha). */
  reaches(byzantine: number, target: number, layer: "echo" | "ready"): boolean;
}
