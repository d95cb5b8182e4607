/**
 * `tally params`: the smallest samples whose failure bounds (bounds.ts) are each ≤ ε.
 *
 * Two stages. First every event of bounds.ts gets an equal share ε/5 (no property is a union of more than five
 * events) and each sample is sized on its own: the ready and delivery samples jointly with the critical
 * fraction they are built around, then the echo sample, whose validity term leans on the ready sample. Then
 * a descent shrinks the samples entry by entry (re-fitting thresholds) while all three property bounds stay
 * ≤ ε, which hands the slack left by the equal shares to whichever sample it saves most.
 */

import type { ContagionParams } from "../broadcast/contagion/contagionParams.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import {
  type BoundTerms,
  type FailureBounds,
  type LogBounds,
  logBoundsFor,
  logCriticalContagion,
  logCriticalDelivery,
  logDeliveryMissing,
  logEchoEquivocation,
  logEchoMissing,
  logEchoMissPerNode,
  logGossipDisconnected,
  logReadyByzantine,
  reportFromLog,
} from "./bounds.ts";
import { type NetworkModel, type Population, population } from "./population.ts";

export interface ChooseParamsInput extends NetworkModel {
  /** The target: validity, consistency and totality each fail with probability ≤ ε per broadcast. */
  readonly epsilon: number;
  /**
   * Cap on π, the chance that one correct node misses a correct sender's echo quorum (every Byzantine echoer
   * silent) and must wait to become ready by contagion, one message delay later. The bounds already count
   * such nodes, so this is a latency choice, not a safety one. Default ε: each correct node echo-delivers a
   * correct sender's message as reliably as the whole broadcast is asked to be, so the three-phase path is
   * the normal path and contagion only covers the union over nodes. Without a cap (pass 1) the search lets
   * about 45% of correct nodes fall back on contagion to save ~18% of the messages (N = 10,000, f = 0.1).
   */
  readonly maxEchoMissPerNode?: number;
}

export interface ChosenParams extends ContagionParams {
  readonly bounds: FailureBounds;
  readonly terms: BoundTerms;
}

/** The search gives up beyond this sample size (f = 0.3, ε = 1e-9 needs ~26,000; f = 0.1 needs ~350). */
export const MAX_SAMPLE_SIZE = 50_000;
/** No property of bounds.ts is a union of more than five events. */
const SHARES = 5;
/** Critical fractions tried per grid pass (two passes: coarse, then around the best coarse point). */
const GRID_POINTS = 24;

type Feasible = (size: number) => boolean;

/** Smallest size in [1, MAX_SAMPLE_SIZE] passing `feasible` (assumed monotone), or undefined. */
function smallestSize(feasible: Feasible): number | undefined {
  let hi = 1;
  while (!feasible(hi)) {
    if (hi >= MAX_SAMPLE_SIZE) return undefined;
    hi = Math.min(MAX_SAMPLE_SIZE, hi * 2);
  }
  // feasible(hi) and, unless hi = 1, not feasible(⌊hi/2⌋).
  let lo = hi === 1 ? 1 : Math.floor(hi / 2) + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (feasible(mid)) hi = mid;
    else lo = mid + 1;
  }
  return hi;
}

/** Smallest threshold t in [1, K+1] with logTail(t) ≤ budget (logTail falls with t). K+1 means none fits. */
function smallestThreshold(K: number, budget: number, logTail: (t: number) => number): number {
  let lo = 1;
  let hi = K + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (logTail(mid) <= budget) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

interface Sized {
  readonly size: number;
  readonly threshold: number;
}

/** The ready sample for s correct ready nodes: no Byzantine-only readiness, and s of them infect anyone. */
function readyFor(s: number, budget: number, pop: Population): Sized | undefined {
  const thresholdFor = (R: number) => smallestThreshold(R, budget, (t) => logReadyByzantine(R, t, pop));
  const size = smallestSize((R) => {
    const Rhat = thresholdFor(R);
    return Rhat <= R && logCriticalContagion(R, Rhat, s, pop) <= budget;
  });
  return size === undefined ? undefined : { size, threshold: thresholdFor(size) };
}

/** The delivery sample for s: no delivery with fewer than s correct ready, and delivery once all are. */
function deliveryFor(s: number, budget: number, pop: Population): Sized | undefined {
  const thresholdFor = (D: number) => smallestThreshold(D, budget, (t) => logCriticalDelivery(D, t, s, pop));
  const size = smallestSize((D) => {
    const Dhat = thresholdFor(D);
    return Dhat <= D && logDeliveryMissing(D, Dhat, pop) <= budget;
  });
  return size === undefined ? undefined : { size, threshold: thresholdFor(size) };
}

/** Ready and delivery samples around the critical number of correct ready nodes that makes them cheapest. */
function readyAndDelivery(budget: number, pop: Population): { ready: Sized; delivery: Sized } | undefined {
  // s/N must exceed β (or Byzantine readies alone would infect) and (B + s)/(N−1) stay below 1 − β (or a
  // delivery sample could not tell "s ready" from "all correct ready").
  const lo = pop.byzantineNodes + 1;
  const hi = pop.nodes - 2 * pop.byzantineNodes - 2;
  if (hi < lo) return undefined;
  let best: { ready: Sized; delivery: Sized; cost: number; s: number } | undefined;
  const tryAt = (s: number) => {
    const ready = readyFor(s, budget, pop);
    const delivery = ready && deliveryFor(s, budget, pop);
    if (ready === undefined || delivery === undefined) return;
    const cost = ready.size + delivery.size;
    if (best === undefined || cost < best.cost) best = { ready, delivery, cost, s };
  };
  const grid = (from: number, to: number) => {
    const step = (to - from) / (GRID_POINTS - 1);
    for (let i = 0; i < GRID_POINTS; i++) tryAt(Math.round(from + i * step));
  };
  grid(lo, hi);
  if (best === undefined) return undefined;
  const width = (hi - lo) / (GRID_POINTS - 1);
  const around = best.s;
  grid(Math.max(lo, Math.round(around - width)), Math.min(hi, Math.round(around + width)));
  return best;
}

function echoFor(ready: Sized, budget: number, missCap: number, pop: Population): Sized | undefined {
  const thresholdFor = (E: number) => smallestThreshold(E, budget, (t) => logEchoEquivocation(E, t, pop));
  const size = smallestSize((E) => {
    const Ehat = thresholdFor(E);
    return (
      Ehat <= E &&
      logEchoMissPerNode(E, Ehat, pop) <= missCap &&
      logEchoMissing(E, Ehat, ready.size, ready.threshold, pop) <= budget
    );
  });
  return size === undefined ? undefined : { size, threshold: thresholdFor(size) };
}

function worst(log: LogBounds): number {
  return Math.max(log.validity, log.consistency, log.totality);
}

type SampleKey = "E" | "R" | "D";
const THRESHOLD_OF = { E: "Ehat", R: "Rhat", D: "Dhat" } as const;

/** Thresholds worth trying when a sample goes from `from` to `to` entries: near the old ratio. */
function thresholdsNear(threshold: number, from: number, to: number): number[] {
  const centre = Math.round((threshold * to) / from);
  const out: number[] = [];
  for (let t = centre - 2; t <= centre + 2; t++) if (t >= 1 && t <= to) out.push(t);
  return out;
}

/** `p` with sample `key` resized by `delta`, once per nearby threshold. */
function resized(p: ContagionParams, key: SampleKey, delta: number): ContagionParams[] {
  const size = p[key] + delta;
  if (size < 1) return [];
  const thresholdKey = THRESHOLD_OF[key];
  return thresholdsNear(p[thresholdKey], p[key], size).map((t) => ({ ...p, [key]: size, [thresholdKey]: t }));
}

/**
 * Shrinks the samples while every property bound stays ≤ ε (and π within its cap). A move removes one entry
 * from one sample, or, when none fits any more, adds one entry to a sample and removes two from another (the
 * equal ε/5 shares of the first stage rarely split the budget best, and single steps stall at that split).
 * Among the fitting moves of the largest saving, the one leaving the most slack wins.
 */
function descend(
  start: ContagionParams,
  logEpsilon: number,
  missCap: number,
  pop: Population,
): ContagionParams {
  const gossip = new Map<number, number>();
  const evaluate = (p: ContagionParams): LogBounds | undefined => {
    if (p.G < 1) return undefined;
    let g = gossip.get(p.G);
    if (g === undefined) {
      g = logGossipDisconnected(p.G, pop);
      gossip.set(p.G, g);
    }
    if (g > logEpsilon) return undefined;
    const log = logBoundsFor(p, pop);
    return worst(log) <= logEpsilon && log.logEchoMissPerNode <= missCap ? log : undefined;
  };
  const keys: readonly SampleKey[] = ["E", "R", "D"];
  const shrinks = (p: ContagionParams) => [{ ...p, G: p.G - 1 }, ...keys.flatMap((k) => resized(p, k, -1))];
  const exchanges = (p: ContagionParams) =>
    keys.flatMap((grow) =>
      keys
        .filter((k) => k !== grow)
        .flatMap((shrink) => resized(p, grow, 1).flatMap((q) => resized(q, shrink, -2))),
    );
  const cost = (p: ContagionParams) => 2 * p.G + p.E + p.R + p.D;
  const bestOf = (current: ContagionParams, candidates: ContagionParams[]) => {
    let best: { params: ContagionParams; saved: number; slack: number } | undefined;
    for (const candidate of candidates) {
      const log = evaluate(candidate);
      if (log === undefined) continue;
      const saved = cost(current) - cost(candidate);
      const slack = logEpsilon - worst(log);
      if (best === undefined || saved > best.saved || (saved === best.saved && slack > best.slack)) {
        best = { params: candidate, saved, slack };
      }
    }
    return best?.params;
  };
  let current = start;
  for (;;) {
    const next = bestOf(current, shrinks(current)) ?? bestOf(current, exchanges(current));
    if (next === undefined) return current;
    current = next;
  }
}

function noParams(input: ChooseParamsInput): TallyError {
  return new TallyError(
    ErrorCode.InvalidField,
    `no parameters with samples up to ${MAX_SAMPLE_SIZE} reach ε = ${input.epsilon} at f = ${input.byzantine}`,
  );
}

/**
 * The smallest parameters (by messages per node per broadcast: 2G + E + R + D) found whose validity,
 * consistency and totality bounds are each ≤ ε, with those bounds and the events they are made of.
 */
export function chooseParams(input: ChooseParamsInput): ChosenParams {
  const pop = population(input);
  const { epsilon } = input;
  if (!(epsilon > 0 && epsilon < 1)) {
    throw new TallyError(ErrorCode.InvalidField, `epsilon must be in (0, 1), got ${epsilon}`);
  }
  const maxMiss = input.maxEchoMissPerNode ?? epsilon;
  if (!(maxMiss > 0 && maxMiss <= 1)) {
    throw new TallyError(ErrorCode.InvalidField, `maxEchoMissPerNode must be in (0, 1], got ${maxMiss}`);
  }
  const missCap = Math.log(maxMiss);
  const logEpsilon = Math.log(epsilon);
  const budget = logEpsilon - Math.log(SHARES);

  if (pop.nodes < 3 * pop.byzantineNodes + 3) {
    // No s with B < s < N − 1 − 2B: a delivery sample could not tell "s correct ready plus every Byzantine
    // node" from "every correct node ready, Byzantine silent", whatever its size.
    throw new TallyError(
      ErrorCode.InvalidField,
      `${pop.nodes} nodes with ${pop.byzantineNodes} Byzantine leave no critical fraction for contagion ` +
        "(it needs N ≥ 3B + 3); use the Bracha broadcast",
    );
  }
  const G = smallestSize((g) => logGossipDisconnected(g, pop) <= budget);
  const layers = readyAndDelivery(budget, pop);
  if (G === undefined || layers === undefined) throw noParams(input);
  const echo = echoFor(layers.ready, budget, missCap, pop);
  if (echo === undefined) throw noParams(input);

  const start: ContagionParams = {
    G,
    E: echo.size,
    Ehat: echo.threshold,
    R: layers.ready.size,
    Rhat: layers.ready.threshold,
    D: layers.delivery.size,
    Dhat: layers.delivery.threshold,
  };
  const params = descend(start, logEpsilon, missCap, pop);
  const report = reportFromLog(logBoundsFor(params, pop));
  return {
    ...params,
    bounds: { validity: report.validity, consistency: report.consistency, totality: report.totality },
    terms: report.terms,
  };
}
