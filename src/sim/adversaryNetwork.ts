import type { BroadcastMessage, MessageKind } from "../broadcast/types.ts";

/**
 * The simulator's adversary as the rest of the simulator sees it, and the simulator as the adversary sees
 * it: the strategies, the network view an attack works through, and the report of what it did.
 */

/** The adversaries the bounds are calibrated against (`tally params --verify`, `npm run analysis`). */
export const ADVERSARIES = ["silent", "equivocate", "ready-flood"] as const;
/**
 * Every adversary `tally sim` knows: the calibrated ones, and `subscribe-first`, an attack on the
 * subscriptions rather than on the samples' arithmetic (against today's subscriber sets it reduces to silent
 * Byzantine nodes, so the bounds' checks need not run it; the simulator's tests do).
 */
export const SIM_ADVERSARIES = [...ADVERSARIES, "subscribe-first"] as const;
export type Adversary = (typeof SIM_ADVERSARIES)[number];

/** The simulator as the adversary sees it: who is who, the clock, and the network it schedules. */
export interface AdversaryNetwork {
  readonly protocol: "contagion" | "bracha";
  readonly correct: readonly number[];
  readonly byzantine: readonly number[];
  readonly seed: number;
  readonly meanLatencyMs: number;
  readonly payloadBytes: number;
  now(): number;
  /** A message from a Byzantine node, delivered after the latency model's delay; returns its arrival time. */
  send(from: number, to: number, message: BroadcastMessage): number;
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
  /** Correct nodes' own subscriptions held back until every Byzantine one had landed (`subscribe-first`). */
  readonly subscriptionsHeld: number;
}

/** What an attack may do through the adversary: send as a Byzantine node, and know whose votes count where. */
export interface AttackContext {
  readonly network: AdversaryNetwork;
  send(from: number, to: number, message: BroadcastMessage): void;
  /** Whether `target` counts `byzantine`'s ECHOs (or READYs): it sampled it (contagion), or always (Bracha). */
  reaches(byzantine: number, target: number, layer: "echo" | "ready"): boolean;
}
