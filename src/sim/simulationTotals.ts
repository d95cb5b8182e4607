import { brachaMessagesPerNode } from "../analysis/messages.ts";
import type { Adversary, AttackReport } from "./adversaryNetwork.ts";
import { percentile } from "./percentile.ts";

/** What `tally sim` reports of a run (or of a run's merged shards). */
export interface SimulationResult {
  readonly nodes: number;
  readonly byzantine: number;
  readonly protocol: string;
  readonly adversary: Adversary;
  readonly broadcasts: number;
  readonly seed: number;
  /**
   * Sent by correct nodes, per node per broadcast: mean over correct nodes and the busiest one. Sample
   * subscriptions are one-off (samples are reused across broadcasts) and reported in `setupMessagesPerNode`.
   */
  readonly messagesPerNodePerBroadcast: { readonly mean: number; readonly max: number };
  readonly bytesPerNodePerBroadcast: { readonly mean: number; readonly max: number };
  readonly setupMessagesPerNode: number;
  /**
   * The cost with the setup paid for: messages per correct node per broadcast with `setupMessagesPerNode`
   * spread over `overBroadcasts` broadcasts (this run's), against Bracha's 2(N−1) + (N−1)/N on the same N.
   */
  readonly amortised: {
    readonly overBroadcasts: number;
    readonly messagesPerNodePerBroadcast: number;
    readonly brachaMessagesPerNodePerBroadcast: number;
    readonly ratioToBracha: number;
  };
  /** Subscriptions correct nodes refused (a full subscriber set), summed over them. */
  readonly subscriptionsRefused: number;
  /** Per correct node per broadcast, by message kind (subscriptions: per node, once). */
  readonly messagesByKind: Readonly<Record<string, number>>;
  /** From introduction to delivery, over (correct node, correct-source broadcast) pairs. */
  readonly latencyMs: { readonly p50: number; readonly p99: number };
  readonly latencyHops: { readonly p50: number; readonly p99: number };
  /**
   * Broadcasts violating each property. Validity: a correct-source broadcast that some correct node did not
   * deliver, or delivered with another digest than the one introduced.
   */
  readonly violations: { readonly validity: number; readonly consistency: number; readonly totality: number };
  /** (correct node, broadcast) pairs delivered more than once: integrity, which must never fail. */
  readonly doubleDeliveries: number;
  /** What the adversary did: messages its nodes sent, equivocations, held-back relays and READYs. */
  readonly attack: AttackReport;
  readonly deliveredFraction: number;
  readonly simulatedMessages: number;
  readonly simulatedMs: number;
  readonly messagesPerSecond: number;
  readonly wallSeconds: number;
}

/**
 * The raw sums of a run, before any averaging: what a shard of a run (a subset of its broadcasts, on another
 * thread) hands back, so shards merge exactly — per-node sums add up, latency samples concatenate — and the
 * merged run is summarised the same way as a single one.
 */
export interface SimulationTotals {
  readonly nodes: number;
  readonly byzantine: number;
  readonly protocol: string;
  readonly adversary: Adversary;
  readonly seed: number;
  readonly meanLatencyMs: number;
  readonly correctNodes: number;
  /** Broadcasts simulated. */
  readonly broadcasts: number;
  /** Per correct node: messages and bytes it sent for broadcasts (subscriptions excluded). */
  readonly sentMessages: Float64Array;
  readonly sentBytes: Float64Array;
  /** Messages correct nodes sent, by kind, subscriptions excluded. */
  readonly messagesByKind: Readonly<Record<string, number>>;
  /** Sample subscriptions, by kind: set up once, reused by every broadcast, so the same in every shard. */
  readonly setupByKind: Readonly<Record<string, number>>;
  /** From introduction to delivery, per (correct node, correct-source broadcast) pair, in simulated ms. */
  readonly latencies: Float64Array;
  readonly violations: SimulationResult["violations"];
  readonly doubleDeliveries: number;
  /** (correct node, broadcast) pairs that delivered. */
  readonly deliveredPairs: number;
  /** Every message simulated (any sender), subscriptions excluded; and the subscriptions. */
  readonly simulatedMessages: number;
  readonly setupMessages: number;
  /** Set up once, like the subscriptions: the same in every shard. */
  readonly subscriptionsRefused: number;
  readonly simulatedMs: number;
  readonly attack: AttackReport;
}

/** Two shards of one run (same network, disjoint broadcasts) as one. */
export function mergeTotals(a: SimulationTotals, b: SimulationTotals): SimulationTotals {
  for (const field of ["nodes", "byzantine", "protocol", "adversary", "seed", "correctNodes"] as const) {
    if (a[field] !== b[field]) throw new RangeError(`merging shards of different runs: ${field} differs`);
  }
  return {
    ...a,
    broadcasts: a.broadcasts + b.broadcasts,
    sentMessages: addArrays(a.sentMessages, b.sentMessages),
    sentBytes: addArrays(a.sentBytes, b.sentBytes),
    messagesByKind: addRecords(a.messagesByKind, b.messagesByKind),
    latencies: concat(a.latencies, b.latencies),
    violations: {
      validity: a.violations.validity + b.violations.validity,
      consistency: a.violations.consistency + b.violations.consistency,
      totality: a.violations.totality + b.violations.totality,
    },
    doubleDeliveries: a.doubleDeliveries + b.doubleDeliveries,
    deliveredPairs: a.deliveredPairs + b.deliveredPairs,
    simulatedMessages: a.simulatedMessages + b.simulatedMessages,
    simulatedMs: Math.max(a.simulatedMs, b.simulatedMs),
    attack: mergeAttacks(a.attack, b.attack),
  };
}

/** Means and percentiles of a run (or of merged shards); `wallSeconds` is the caller's clock. */
export function summarize(t: SimulationTotals, wallSeconds: number): SimulationResult {
  const broadcasts = Math.max(1, t.broadcasts);
  const correct = Math.max(1, t.correctNodes);
  const perNode = Array.from(t.sentMessages, (sent) => sent / broadcasts);
  const perNodeBytes = Array.from(t.sentBytes, (sent) => sent / broadcasts);
  const latencies = Float64Array.from(t.latencies).sort();
  const pct = (p: number) => percentile(latencies, p);
  const setupMessagesPerNode = sum(Object.values(t.setupByKind)) / correct;
  const byKind: Record<string, number> = {};
  for (const [kind, count] of Object.entries(t.setupByKind)) byKind[kind] = count / correct;
  for (const [kind, count] of Object.entries(t.messagesByKind)) byKind[kind] = count / correct / broadcasts;
  const totalMessages = t.simulatedMessages + t.setupMessages;
  const perBroadcast = mean(perNode);
  const withSetup = perBroadcast + setupMessagesPerNode / broadcasts;
  const bracha = brachaMessagesPerNode(t.nodes).total;
  return {
    nodes: t.nodes,
    byzantine: t.byzantine,
    protocol: t.protocol,
    adversary: t.adversary,
    broadcasts: t.broadcasts,
    seed: t.seed,
    messagesPerNodePerBroadcast: { mean: perBroadcast, max: max(perNode) },
    bytesPerNodePerBroadcast: { mean: mean(perNodeBytes), max: max(perNodeBytes) },
    setupMessagesPerNode,
    amortised: {
      overBroadcasts: broadcasts,
      messagesPerNodePerBroadcast: withSetup,
      brachaMessagesPerNodePerBroadcast: bracha,
      ratioToBracha: withSetup / bracha,
    },
    subscriptionsRefused: t.subscriptionsRefused,
    messagesByKind: byKind,
    latencyMs: { p50: pct(0.5), p99: pct(0.99) },
    latencyHops: { p50: pct(0.5) / t.meanLatencyMs, p99: pct(0.99) / t.meanLatencyMs },
    violations: t.violations,
    doubleDeliveries: t.doubleDeliveries,
    attack: t.attack,
    deliveredFraction: t.deliveredPairs / (broadcasts * correct),
    simulatedMessages: totalMessages,
    simulatedMs: t.simulatedMs,
    messagesPerSecond: totalMessages / Math.max(wallSeconds, 1e-9),
    wallSeconds,
  };
}

function mergeAttacks(a: AttackReport, b: AttackReport): AttackReport {
  const switches = a.switches + b.switches;
  // Subscriptions are set up once per network, and every shard builds the same network: counted once.
  const { subscribe, unsubscribe } = a.byzantineMessages;
  return {
    byzantineMessages: {
      ...addRecords(a.byzantineMessages, b.byzantineMessages),
      ...(subscribe === undefined ? {} : { subscribe }),
      ...(unsubscribe === undefined ? {} : { unsubscribe }),
    },
    equivocations: a.equivocations + b.equivocations,
    switches,
    // A mean over switches: weighed by each shard's switches.
    fedBeforeSwitch:
      switches === 0 ? 0 : (a.fedBeforeSwitch * a.switches + b.fedBeforeSwitch * b.switches) / switches,
    relaysWithheld: a.relaysWithheld + b.relaysWithheld,
    readiesDelayed: a.readiesDelayed + b.readiesDelayed,
    subscriptionsHeld: a.subscriptionsHeld,
  };
}

function addArrays(a: Float64Array, b: Float64Array): Float64Array {
  if (a.length !== b.length) throw new RangeError("merging shards of different networks");
  return a.map((x, i) => x + b[i]!);
}

function concat(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function addRecords<R extends Readonly<Partial<Record<string, number>>>>(a: R, b: R): R {
  const out: Record<string, number> = { ...a } as Record<string, number>;
  for (const [key, value] of Object.entries(b)) out[key] = (out[key] ?? 0) + (value ?? 0);
  return out as R;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: readonly number[]) => sum(xs) / Math.max(1, xs.length);
const max = (xs: readonly number[]) => xs.reduce((a, b) => Math.max(a, b), 0);
