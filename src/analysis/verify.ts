/**
 * `tally params --verify`: a Monte-Carlo cross-check of the bounds in the simulator. The chosen parameters run
 * under each adversary strategy for a number of broadcasts spread over several seeds (a run reuses its
 * samples for all its broadcasts, so independent samples need independent runs), and each property's
 * observed violation count is set against its bound with a 95 % Clopper–Pearson interval.
 *
 * At ε = 1e-9 the expected outcome is 0 violations; the check can only catch a gross error (a bound off by
 * orders of magnitude, or a protocol bug). calibration.ts does the sharper check with small samples.
 */

import type { ContagionParams } from "../broadcast/contagion/contagionParams.ts";
import type { LatencyModelName } from "../sim/latency.ts";
import { ADVERSARIES, type Adversary } from "../sim/simulation.ts";
import { boundsFor, type FailureBounds } from "./bounds.ts";
import { clopperPearson } from "./confidence.ts";
import { runJobs, type SimJob, type SimOutcome } from "./monteCarlo.ts";

export const PROPERTIES = ["validity", "consistency", "totality"] as const;
export type Property = (typeof PROPERTIES)[number];

/** In-process simulation beyond this many nodes takes minutes per broadcast (~10⁶ messages per broadcast). */
export const MAX_VERIFY_NODES = 2_000;
export const DEFAULT_VERIFY_BROADCASTS = 100;
export const DEFAULT_VERIFY_SEEDS = 4;
const CONFIDENCE_LEVEL = 0.95;

export interface VerifyOptions {
  readonly params: ContagionParams;
  /** N the simulation runs at (may be smaller than the N the parameters were chosen for). */
  readonly nodes: number;
  readonly byzantine: number;
  /** Broadcasts per adversary, split over `seeds` runs. */
  readonly broadcasts?: number;
  readonly seeds?: number;
  readonly adversaries?: readonly Adversary[];
  readonly latency?: LatencyModelName;
  readonly meanLatencyMs?: number;
  /** First seed; run i of an adversary uses a seed derived from it. */
  readonly seed?: number;
  readonly workers?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/** One property under one adversary (or pooled over all of them). */
export interface PropertyCheck {
  readonly violations: number;
  /** Broadcasts the property is about: correct-source ones for validity, all for the others. */
  readonly trials: number;
  /** violations / trials, null without trials. */
  readonly rate: number | null;
  /** Two-sided 95 % Clopper–Pearson interval of the rate, null without trials. */
  readonly lower95: number | null;
  readonly upper95: number | null;
  readonly bound: number;
  /** Even the lower confidence end exceeds the bound: a real disagreement, not sampling noise. */
  readonly exceedsBound: boolean;
}

export type PropertyChecks = Readonly<Record<Property, PropertyCheck>>;

export interface AdversaryCheck {
  readonly adversary: Adversary;
  readonly broadcasts: number;
  readonly runs: number;
  readonly properties: PropertyChecks;
  readonly messagesPerNodePerBroadcast: number;
  readonly deliveredFraction: number;
}

export interface VerifyReport {
  readonly nodes: number;
  readonly byzantine: number;
  readonly params: ContagionParams;
  /** The bounds of these parameters at the simulated N (what the observations are compared with). */
  readonly bounds: FailureBounds;
  readonly adversaries: readonly AdversaryCheck[];
  /** All adversaries together (each property's trials summed). */
  readonly pooled: PropertyChecks;
  /** No property, under any adversary or pooled, has its lower confidence end above its bound. */
  readonly consistentWithBounds: boolean;
  readonly seeds: readonly number[];
  readonly wallSeconds: number;
}

/** A 32-bit seed for the i-th run of a stream, well mixed (murmur3's finaliser) so runs do not correlate. */
export function runSeed(base: number, stream: number, i: number): number {
  let h = (base ^ Math.imul(stream + 1, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Counts of one property summed over runs, checked against its bound. */
export function checkProperty(violations: number, trials: number, bound: number): PropertyCheck {
  if (trials === 0) {
    return { violations, trials, rate: null, lower95: null, upper95: null, bound, exceedsBound: false };
  }
  const { lower, upper } = clopperPearson(violations, trials, CONFIDENCE_LEVEL);
  return {
    violations,
    trials,
    rate: violations / trials,
    lower95: lower,
    upper95: upper,
    bound,
    exceedsBound: lower > bound,
  };
}

/** The property checks of a set of outcomes (runs of one setting) against `bounds`. */
export function checkOutcomes(outcomes: readonly SimOutcome[], bounds: FailureBounds): PropertyChecks {
  const sum = (f: (o: SimOutcome) => number) => outcomes.reduce((total, o) => total + f(o), 0);
  const all = sum((o) => o.broadcasts);
  return {
    validity: checkProperty(
      sum((o) => o.violations.validity),
      sum((o) => o.correctSourceBroadcasts),
      bounds.validity,
    ),
    consistency: checkProperty(
      sum((o) => o.violations.consistency),
      all,
      bounds.consistency,
    ),
    totality: checkProperty(
      sum((o) => o.violations.totality),
      all,
      bounds.totality,
    ),
  };
}

export function anyExceeds(checks: PropertyChecks): boolean {
  return PROPERTIES.some((p) => checks[p].exceedsBound);
}

export async function verifyParams(options: VerifyOptions): Promise<VerifyReport> {
  const started = performance.now();
  const broadcasts = options.broadcasts ?? DEFAULT_VERIFY_BROADCASTS;
  const seedCount = Math.max(1, Math.min(options.seeds ?? DEFAULT_VERIFY_SEEDS, broadcasts));
  const adversaries = options.adversaries ?? ADVERSARIES;
  const base = options.seed ?? 1;
  const meanLatencyMs = options.meanLatencyMs ?? 50;
  const seeds = Array.from({ length: seedCount }, (_, i) => runSeed(base, 0, i));
  const jobs: SimJob[] = [];
  for (const adversary of adversaries) {
    for (const [i, seed] of seeds.entries()) {
      // Split the broadcasts as evenly as possible over the runs.
      const share = Math.floor(broadcasts / seedCount) + (i < broadcasts % seedCount ? 1 : 0);
      if (share === 0) continue;
      jobs.push({
        nodes: options.nodes,
        byzantine: options.byzantine,
        adversary,
        protocol: { contagion: options.params },
        broadcasts: share,
        seed,
        latency: options.latency ?? "uniform",
        meanLatencyMs,
        intervalMs: 10 * meanLatencyMs,
      });
    }
  }
  const outcomes = await runJobs(jobs, {
    workers: options.workers,
    onDone: options.onProgress && ((_, done, total) => options.onProgress!(done, total)),
  });
  const report = boundsFor(options.params, options.nodes, options.byzantine);
  const bounds: FailureBounds = {
    validity: report.validity,
    consistency: report.consistency,
    totality: report.totality,
  };
  const checks: AdversaryCheck[] = adversaries.map((adversary) => {
    const mine = outcomes.filter((o) => o.job.adversary === adversary);
    const n = mine.reduce((total, o) => total + o.broadcasts, 0);
    const weighted = (f: (o: SimOutcome) => number) =>
      mine.reduce((total, o) => total + f(o) * o.broadcasts, 0) / Math.max(1, n);
    return {
      adversary,
      broadcasts: n,
      runs: mine.length,
      properties: checkOutcomes(mine, bounds),
      messagesPerNodePerBroadcast: weighted((o) => o.messagesPerNodePerBroadcast.mean),
      deliveredFraction: weighted((o) => o.deliveredFraction),
    };
  });
  const pooled = checkOutcomes(outcomes, bounds);
  return {
    nodes: options.nodes,
    byzantine: options.byzantine,
    params: options.params,
    bounds,
    adversaries: checks,
    pooled,
    consistentWithBounds: !anyExceeds(pooled) && !checks.some((c) => anyExceeds(c.properties)),
    seeds,
    wallSeconds: (performance.now() - started) / 1000,
  };
}

const prob = (p: number | null) => (p === null ? "–" : p === 0 ? "0" : p.toExponential(1));

/** The human-readable table `tally params --verify` prints under the parameters. */
export function formatVerifyReport(report: VerifyReport, note?: string): string {
  const cell = (c: PropertyCheck) =>
    c.trials === 0
      ? "–".padEnd(24)
      : `${c.violations}/${c.trials} (≤ ${prob(c.upper95)})${c.exceedsBound ? " !" : ""}`.padEnd(24);
  const lines = [
    `Monte-Carlo check: ${report.nodes} nodes, f = ${report.byzantine}, ${report.seeds.length} seeds per adversary` +
      ` (${report.wallSeconds.toFixed(1)} s)`,
  ];
  if (note !== undefined) lines.push(`  ${note}`);
  lines.push(
    "  violations / broadcasts (95% upper confidence bound on the rate)",
    `  ${"adversary".padEnd(12)} ${"validity".padEnd(24)} ${"consistency".padEnd(24)} ${"totality".padEnd(24)}`,
  );
  for (const a of report.adversaries) {
    lines.push(
      `  ${a.adversary.padEnd(12)} ${cell(a.properties.validity)} ${cell(a.properties.consistency)} ${cell(a.properties.totality)}`,
    );
  }
  lines.push(
    `  ${"all".padEnd(12)} ${cell(report.pooled.validity)} ${cell(report.pooled.consistency)} ${cell(report.pooled.totality)}`,
    `  ${"bound".padEnd(12)} ${prob(report.bounds.validity).padEnd(24)} ${prob(report.bounds.consistency).padEnd(24)} ${prob(report.bounds.totality).padEnd(24)}`,
    report.consistentWithBounds
      ? "  consistent with the bounds: no observed rate is significantly above its bound"
      : "  INCONSISTENT: an observed rate is above its bound beyond sampling noise (marked !)",
  );
  return lines.map((line) => line.trimEnd()).join("\n");
}
