/**
 * Binomial and Poisson probabilities in log space: point masses and both tails, with full relative
 * precision down to 1e-300 and far beyond (the logs stay finite where the probabilities underflow).
 *
 * A tail is summed from its boundary term outwards, in the direction where the terms shrink, until the rest
 * is negligible; a tail that would contain the mode is computed as the complement of the other tail, which
 * then holds at most about half the mass, so the subtraction loses nothing. Point masses use Loader's
 * saddle-point form (see `logMath.ts`).
 */

import { deviance, LN_2PI, logOneMinusExp, stirlingError } from "./logMath.ts";

const NEG_INF = Number.NEGATIVE_INFINITY;

/** Summation stops once the remaining terms cannot change the sum in the 17th significant digit. */
const NEGLIGIBLE = 1e-17;

function checkBinomial(n: number, p: number, k: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`binomial: n must be an integer ≥ 0, got ${n}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`binomial: p must be in [0, 1], got ${p}`);
  if (!Number.isSafeInteger(k)) throw new RangeError(`binomial: k must be an integer, got ${k}`);
}

function checkPoisson(lambda: number, k: number): void {
  if (!(lambda >= 0 && Number.isFinite(lambda))) {
    throw new RangeError(`poisson: lambda must be finite and ≥ 0, got ${lambda}`);
  }
  if (!Number.isSafeInteger(k)) throw new RangeError(`poisson: k must be an integer, got ${k}`);
}

/** ln P[Bin(n, p) = k] with q = 1 − p passed separately so that tiny q keeps its precision. */
function logBinomialPmfPQ(n: number, p: number, q: number, k: number): number {
  if (k < 0 || k > n) return NEG_INF;
  if (p === 0) return k === 0 ? 0 : NEG_INF;
  if (q === 0) return k === n ? 0 : NEG_INF;
  if (k === 0) return p < 0.1 ? -deviance(n, n * q) - n * p : n * Math.log(q);
  if (k === n) return q < 0.1 ? -deviance(n, n * p) - n * q : n * Math.log(p);
  const lc =
    stirlingError(n) - stirlingError(k) - stirlingError(n - k) - deviance(k, n * p) - deviance(n - k, n * q);
  // ½·ln(2π·k·(n−k)/n)
  const lf = LN_2PI + Math.log(k) + Math.log1p(-k / n);
  return lc - 0.5 * lf;
}

/**
 * ln P[Bin(n, p) ≥ k] for k > n·p: from k upwards every term is smaller than the one before (the ratio
 * (n−j)p / ((j+1)q) is below 1 once j > np − q), and the ratio itself keeps falling.
 */
function logUpperBeyondMean(n: number, p: number, q: number, k: number): number {
  const first = logBinomialPmfPQ(n, p, q, k);
  if (first === NEG_INF) return NEG_INF;
  const odds = p / q;
  let sum = 1;
  let term = 1;
  for (let j = k; j < n; j++) {
    const ratio = ((n - j) / (j + 1)) * odds;
    term *= ratio;
    sum += term;
    // Later terms shrink at least geometrically with this ratio: their total is below term·ratio/(1−ratio).
    if (ratio < 1 && (term * ratio) / (1 - ratio) < NEGLIGIBLE * sum) break;
  }
  return first + Math.log(sum);
}

function logBinomialUpperPQ(n: number, p: number, q: number, k: number): number {
  if (k <= 0) return 0;
  if (k > n) return NEG_INF;
  if (p === 0) return NEG_INF;
  if (q === 0) return 0;
  if (k > n * p) return logUpperBeyondMean(n, p, q, k);
  // k ≤ ⌊np⌋ ≤ median: this tail holds at least half the mass; take the complement of P[X ≤ k−1],
  // which is P[n−X ≥ n−k+1] with n−k+1 > nq.
  return logOneMinusExp(logUpperBeyondMean(n, q, p, n - k + 1));
}

/** ln P[Bin(n, p) = k]. */
export function logBinomialPmf(n: number, p: number, k: number): number {
  checkBinomial(n, p, k);
  return logBinomialPmfPQ(n, p, 1 - p, k);
}

/** ln P[Bin(n, p) ≥ k] (the upper tail, k included). */
export function logBinomialUpperTail(n: number, p: number, k: number): number {
  checkBinomial(n, p, k);
  return logBinomialUpperPQ(n, p, 1 - p, k);
}

/** ln P[Bin(n, p) ≤ k] (the lower tail, k included) = ln P[Bin(n, 1−p) ≥ n−k]. */
export function logBinomialLowerTail(n: number, p: number, k: number): number {
  checkBinomial(n, p, k);
  return logBinomialUpperPQ(n, 1 - p, p, n - k);
}

/** P[Bin(n, p) ≥ k]; underflows to 0 below ~1e-308 (use the log form there). */
export function binomialUpperTail(n: number, p: number, k: number): number {
  return Math.exp(logBinomialUpperTail(n, p, k));
}

/** P[Bin(n, p) ≤ k]; underflows to 0 below ~1e-308 (use the log form there). */
export function binomialLowerTail(n: number, p: number, k: number): number {
  return Math.exp(logBinomialLowerTail(n, p, k));
}

function logPoissonPmfUnchecked(lambda: number, k: number): number {
  if (k < 0) return NEG_INF;
  if (lambda === 0) return k === 0 ? 0 : NEG_INF;
  if (k === 0) return -lambda;
  return -stirlingError(k) - deviance(k, lambda) - 0.5 * (LN_2PI + Math.log(k));
}

/** ln P[Poisson(λ) ≥ k] for k > λ: terms fall from k on, with ratio λ/(j+1). */
function logPoissonUpperBeyondMean(lambda: number, k: number): number {
  const first = logPoissonPmfUnchecked(lambda, k);
  if (first === NEG_INF) return NEG_INF;
  let sum = 1;
  let term = 1;
  for (let j = k; ; j++) {
    const ratio = lambda / (j + 1);
    term *= ratio;
    sum += term;
    if ((term * ratio) / (1 - ratio) < NEGLIGIBLE * sum) break;
  }
  return first + Math.log(sum);
}

/** ln P[Poisson(λ) ≤ k] for k < λ: terms fall from k downwards, with ratio j/λ. */
function logPoissonLowerBelowMean(lambda: number, k: number): number {
  if (k < 0) return NEG_INF;
  const first = logPoissonPmfUnchecked(lambda, k);
  let sum = 1;
  let term = 1;
  for (let j = k; j > 0; j--) {
    const ratio = j / lambda;
    term *= ratio;
    sum += term;
    if ((term * ratio) / (1 - ratio) < NEGLIGIBLE * sum) break;
  }
  return first + Math.log(sum);
}

/** ln P[Poisson(λ) = k]. */
export function logPoissonPmf(lambda: number, k: number): number {
  checkPoisson(lambda, k);
  return logPoissonPmfUnchecked(lambda, k);
}

/** ln P[Poisson(λ) ≥ k]. */
export function logPoissonUpperTail(lambda: number, k: number): number {
  checkPoisson(lambda, k);
  if (k <= 0) return 0;
  if (lambda === 0) return NEG_INF;
  if (k > lambda) return logPoissonUpperBeyondMean(lambda, k);
  // k ≤ ⌊λ⌋ ≤ median (the median is ≥ λ − ln 2): the complement holds at most half the mass.
  return logOneMinusExp(logPoissonLowerBelowMean(lambda, k - 1));
}

/** ln P[Poisson(λ) ≤ k]. */
export function logPoissonLowerTail(lambda: number, k: number): number {
  checkPoisson(lambda, k);
  if (k < 0) return NEG_INF;
  if (lambda === 0) return 0;
  if (k < lambda) return logPoissonLowerBelowMean(lambda, k);
  return logOneMinusExp(logPoissonUpperBeyondMean(lambda, k + 1));
}

/** P[Poisson(λ) ≥ k]. */
export function poissonUpperTail(lambda: number, k: number): number {
  return Math.exp(logPoissonUpperTail(lambda, k));
}

/** P[Poisson(λ) ≤ k]. */
export function poissonLowerTail(lambda: number, k: number): number {
  return Math.exp(logPoissonLowerTail(lambda, k));
}
