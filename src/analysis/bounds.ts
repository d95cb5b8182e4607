/**
 * Conservative failure bounds of the probabilistic secure broadcast (gossip → echo → ready, paper Ch. 4) for
 * given parameters. Each property's bound is a union bound over a few events, each a binomial tail
 * multiplied by the number of correct nodes; docs/analysis.md derives every term and states its assumptions.
 * Everything is computed in log space and reported clamped to [0, 1], so the bounds stay meaningful both at
 * ε = 1e-9 and for the deliberately small samples used to calibrate against the simulator (1e-3 … 1e-1).
 */

import type { ContagionParams } from "../broadcast/contagion/contagionParams.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { logAddExp, logOneMinusExp } from "./logMath.ts";
import { type NetworkModel, type Population, population } from "./population.ts";
import { logBinomialLowerTail, logBinomialUpperTail } from "./tails.ts";

const NEG_INF = Number.NEGATIVE_INFINITY;

/** Summation of the gossip cut series stops once the rest cannot move the sum in its 17th digit. */
const LOG_NEGLIGIBLE = Math.log(1e-17);

/** The three properties of probabilistic secure broadcast (§4.5.1), each failing with at most this probability. */
export interface FailureBounds {
  readonly validity: number;
  readonly consistency: number;
  readonly totality: number;
}

/** The events the property bounds are unions of (each a probability, clamped to 1); see docs/analysis.md. */
export interface BoundTerms {
  /** The correct nodes' Erdős–Rényi gossip graph is disconnected. */
  readonly gossipDisconnected: number;
  /** With a correct sender, some correct node ends neither echo-delivered nor ready by contagion. */
  readonly echoMissing: number;
  /** Per correct node: the chance it does not echo-deliver a correct sender's message (contagion covers it). */
  readonly echoMissPerNode: number;
  /** Two correct nodes echo-deliver different messages (the paper's optimal adversary, §4.4.3). */
  readonly echoEquivocation: number;
  /** Some correct node's ready sample holds ≥ R̂ Byzantine entries: readiness without any correct origin. */
  readonly readyByzantine: number;
  /** Some correct node's delivery sample holds ≥ D̂ Byzantine entries. */
  readonly deliveryByzantine: number;
  /** Some correct node's delivery sample holds < D̂ correct entries. */
  readonly deliveryMissing: number;
  /** Fewer than a fraction x of all nodes are correct and ready, yet some delivery sample sees D̂ readies. */
  readonly criticalDelivery: number;
  /** A fraction x of all nodes are correct and ready, yet some correct node's ready sample sees < R̂ of them. */
  readonly criticalContagion: number;
  /** The critical fraction x that minimises criticalDelivery + criticalContagion. */
  readonly criticalFraction: number;
}

export interface BoundsReport extends FailureBounds {
  readonly terms: BoundTerms;
}

/**
 * The same report in natural logarithms (no clamping), for the parameter search; the critical fraction stays
 * a fraction, and the per-node echo miss is named for its logarithm.
 */
export type LogBounds = FailureBounds &
  Omit<BoundTerms, "echoMissPerNode"> & { readonly logEchoMissPerNode: number };

// ── the individual events ──────────────────────────────────────────────────────────────────────────────

/**
 * ln P[the correct nodes' gossip graph is disconnected]. Every correct node picks Poisson(G) distinct uniform
 * peers, independently of the others, and links are reciprocated (§4.3.2). A disconnected graph has a vertex
 * set S of 1 ≤ k ≤ C/2 correct nodes with no link to the other C − k: each of S avoids those C − k, each of
 * them avoids S. A node whose K picks avoid t given nodes does so with probability ≤ (1 − t/N)^K (fewer
 * hits without replacement than with), and E[(1 − t/N)^K] = e^(−Gt/N) for K ~ Poisson(G); so
 * P ≤ Σₖ C(C, k)·e^(−2G·k(C−k)/N). The terms rise then fall in k, so the sum stops once they are negligible.
 */
export function logGossipDisconnected(G: number, pop: Population): number {
  const n = pop.correctNodes;
  if (n <= 1) return NEG_INF;
  if (G <= 0) return 0;
  const logNoEdge = (-2 * G) / pop.nodes;
  const half = Math.floor(n / 2);
  let logChoose = 0;
  let sum = NEG_INF;
  let previous = NEG_INF;
  for (let k = 1; k <= half; k++) {
    logChoose += Math.log((n - k + 1) / k);
    const term = logChoose + k * (n - k) * logNoEdge;
    sum = logAddExp(sum, term);
    if (sum >= 0) return 0;
    // The log-terms have a single maximum in k, so once they fall they keep falling: the rest is below
    // (half − k)·term.
    if (term < previous && term + Math.log(half - k + 1) < sum + LOG_NEGLIGIBLE) break;
    previous = term;
  }
  return sum;
}

/** ln C + ln P[Bin(K, p) ≥ t]: some correct node's sample of K has ≥ t entries from a share p. */
function logSomeAtLeast(pop: Population, K: number, p: number, t: number): number {
  return Math.log(pop.correctNodes) + logBinomialUpperTail(K, p, t);
}

/** ln C + ln P[Bin(K, p) < t]. */
function logSomeBelow(pop: Population, K: number, p: number, t: number): number {
  return Math.log(pop.correctNodes) + logBinomialLowerTail(K, p, t - 1);
}

/**
 * A share of "supporting" nodes (a set of k nodes) among a sample's entries, taken from above: entries are
 * uniform over the N−1 others (or all N; k/(N−1) covers both). Shares that must be reached are taken from
 * below, as k/N.
 */
function supportShare(k: number, pop: Population): number {
  return Math.min(1, k / (pop.nodes - 1));
}

/**
 * Echo consistency under any adversary that cannot tell correct nodes apart (assumptions 5–6): a correct node
 * echoes once, so the correct echoers of m and of m′ are disjoint and one side has at most ⌊C/2⌋ of them.
 * A delivery on that side needs Ê entries among its ≤ ⌊C/2⌋ correct echoers and the B Byzantine nodes (which
 * echo whatever helps). Union over the two sides and the C nodes: 2C·P[Bin(E, (B + ⌊C/2⌋)/(N−1)) ≥ Ê].
 */
export function logEchoEquivocation(E: number, Ehat: number, pop: Population): number {
  const share = supportShare(pop.byzantineNodes + Math.floor(pop.correctNodes / 2), pop);
  return Math.log(2) + logSomeAtLeast(pop, E, share, Ehat);
}

/** ln P[Bin(E, 1−β) < Ê]: one correct node misses a correct sender's echo quorum (Byzantine echoers silent). */
export function logEchoMissPerNode(E: number, Ehat: number, pop: Population): number {
  return logBinomialLowerTail(E, 1 - pop.byzantineShare, Ehat - 1);
}

/**
 * Smallest integer s in [lo, hi] with a(s) ≥ b(s), for a rising and b falling; hi + 1 if there is none.
 * The sum a + b is then within a factor 2 of its minimum at s − 1 or s.
 */
function crossing(lo: number, hi: number, a: (s: number) => number, b: (s: number) => number): number {
  let left = lo;
  let right = hi + 1;
  while (left < right) {
    const mid = Math.floor((left + right) / 2);
    if (a(mid) >= b(mid)) right = mid;
    else left = mid + 1;
  }
  return left;
}

/**
 * ln P[with a correct sender, some correct node is never ready]. If the gossip graph is connected every correct
 * node echoes m; each misses its echo quorum independently with probability π (its own sample), so the
 * number M of misses is Bin(C, π). A node that missed still becomes ready if ≥ R̂ entries of its ready sample
 * (independent of all echo samples) echo-delivered. For any m: P ≤ P[M > m] + C·π·P[Bin(R, (C−m)/N) < R̂];
 * m = 0 gives the plain union bound 1 − (1−π)^C ≤ C·π. We take the best m.
 */
export function logEchoMissing(E: number, Ehat: number, R: number, Rhat: number, pop: Population): number {
  const C = pop.correctNodes;
  const logMiss = logEchoMissPerNode(E, Ehat, pop);
  if (logMiss === NEG_INF) return NEG_INF;
  const miss = Math.exp(logMiss);
  // m = 0: nobody may miss. 1 − (1 − π)^C, or C·π where π underflows.
  const noneMiss = miss > 0 ? logOneMinusExp(C * Math.log1p(-miss)) : Math.log(C) + logMiss;
  if (miss === 0 || C < 2) return noneMiss;
  const tooMany = (m: number) => logBinomialUpperTail(C, miss, m + 1);
  const stranded = (m: number) =>
    Math.log(C) + logMiss + logBinomialLowerTail(R, (C - m) / pop.nodes, Rhat - 1);
  const m0 = crossing(1, C - 1, stranded, tooMany);
  let best = noneMiss;
  for (const m of [m0 - 1, m0]) {
    if (m >= 1 && m <= C - 1) best = Math.min(best, logAddExp(tooMany(m), stranded(m)));
  }
  return best;
}

/** ln C·P[Bin(R, β) ≥ R̂]. */
export function logReadyByzantine(R: number, Rhat: number, pop: Population): number {
  return logSomeAtLeast(pop, R, pop.byzantineShare, Rhat);
}

/** ln C·P[Bin(D, β) ≥ D̂]. */
export function logDeliveryByzantine(D: number, Dhat: number, pop: Population): number {
  return logSomeAtLeast(pop, D, pop.byzantineShare, Dhat);
}

/** ln C·P[Bin(D, 1−β) < D̂]. */
export function logDeliveryMissing(D: number, Dhat: number, pop: Population): number {
  return logSomeBelow(pop, D, 1 - pop.byzantineShare, Dhat);
}

/** ln C·P[Bin(D, (B + s)/(N−1)) ≥ D̂]: a delivery while fewer than s correct nodes are ready. */
export function logCriticalDelivery(D: number, Dhat: number, s: number, pop: Population): number {
  return logSomeAtLeast(pop, D, supportShare(pop.byzantineNodes + s, pop), Dhat);
}

/** ln C·P[Bin(R, s/N) < R̂]: s correct ready nodes fail to infect another correct node (Byzantine silent). */
export function logCriticalContagion(R: number, Rhat: number, s: number, pop: Population): number {
  return logSomeBelow(pop, R, s / pop.nodes, Rhat);
}

/**
 * The critical number s* of correct ready nodes (as a fraction, x = s/N) minimising the totality pair: the first
 * term rises with s, the second falls; any s gives a valid bound, the crossing is within 2× of the best.
 */
export function criticalSplit(
  R: number,
  Rhat: number,
  D: number,
  Dhat: number,
  pop: Population,
): { readonly delivery: number; readonly contagion: number; readonly correctReady: number } {
  const delivery = (s: number) => logCriticalDelivery(D, Dhat, s, pop);
  const contagion = (s: number) => logCriticalContagion(R, Rhat, s, pop);
  const s0 = crossing(0, pop.correctNodes, delivery, contagion);
  let best = { delivery: 0, contagion: 0, correctReady: 0, sum: Number.POSITIVE_INFINITY };
  for (const s of [s0 - 1, s0]) {
    if (s < 0 || s > pop.correctNodes) continue;
    const d = delivery(s);
    const c = contagion(s);
    const sum = logAddExp(d, c);
    if (sum < best.sum) best = { delivery: d, contagion: c, correctReady: s, sum };
  }
  return best;
}

// ── the properties ─────────────────────────────────────────────────────────────────────────────────────

function checkParams(p: ContagionParams): void {
  for (const key of ["G", "E", "Ehat", "R", "Rhat", "D", "Dhat"] as const) {
    const v = p[key];
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new TallyError(ErrorCode.InvalidField, `params.${key} must be a positive integer, got ${v}`);
    }
  }
  if (p.Ehat > p.E || p.Rhat > p.R || p.Dhat > p.D) {
    throw new TallyError(ErrorCode.InvalidField, "params: a threshold must not exceed its sample size");
  }
}

/** The bounds in natural logarithms for a population (the parameter search's inner loop). */
export function logBoundsFor(params: ContagionParams, pop: Population): LogBounds {
  checkParams(params);
  const { G, E, Ehat, R, Rhat, D, Dhat } = params;
  const gossipDisconnected = logGossipDisconnected(G, pop);
  const echoMissing = logEchoMissing(E, Ehat, R, Rhat, pop);
  const echoEquivocation = logEchoEquivocation(E, Ehat, pop);
  const readyByzantine = logReadyByzantine(R, Rhat, pop);
  const deliveryByzantine = logDeliveryByzantine(D, Dhat, pop);
  const deliveryMissing = logDeliveryMissing(D, Dhat, pop);
  const split = criticalSplit(R, Rhat, D, Dhat, pop);
  const sum = (...terms: number[]) => terms.reduce(logAddExp, NEG_INF);
  return {
    // A correct sender's payload is the only one, but Byzantine READYs alone could still make a correct node
    // decide a digest nobody holds (ready- or delivery-sample capture): it would never deliver the real one.
    validity: sum(gossipDisconnected, echoMissing, deliveryMissing, readyByzantine, deliveryByzantine),
    consistency: sum(echoEquivocation, readyByzantine, deliveryByzantine),
    totality: sum(echoEquivocation, readyByzantine, split.delivery, split.contagion, deliveryMissing),
    gossipDisconnected,
    echoMissing,
    logEchoMissPerNode: logEchoMissPerNode(E, Ehat, pop),
    echoEquivocation,
    readyByzantine,
    deliveryByzantine,
    deliveryMissing,
    criticalDelivery: split.delivery,
    criticalContagion: split.contagion,
    criticalFraction: split.correctReady / pop.nodes,
  };
}

/** A log-probability as a probability, clamped to [0, 1] (a union bound can exceed 1). */
export function probability(logP: number): number {
  return Math.min(1, Math.exp(logP));
}

/**
 * The three failure bounds, and the events they are unions of, for given parameters on N nodes of which a
 * fraction `byzantine` is Byzantine.
 */
export function boundsFor(params: ContagionParams, nodes: number, byzantine: number): BoundsReport {
  return reportFromLog(logBoundsFor(params, population({ nodes, byzantine } satisfies NetworkModel)));
}

export function reportFromLog(log: LogBounds): BoundsReport {
  return {
    validity: probability(log.validity),
    consistency: probability(log.consistency),
    totality: probability(log.totality),
    terms: {
      gossipDisconnected: probability(log.gossipDisconnected),
      echoMissing: probability(log.echoMissing),
      echoMissPerNode: probability(log.logEchoMissPerNode),
      echoEquivocation: probability(log.echoEquivocation),
      readyByzantine: probability(log.readyByzantine),
      deliveryByzantine: probability(log.deliveryByzantine),
      deliveryMissing: probability(log.deliveryMissing),
      criticalDelivery: probability(log.criticalDelivery),
      criticalContagion: probability(log.criticalContagion),
      criticalFraction: log.criticalFraction,
    },
  };
}
