/**
 * Log-space helpers for the tail probabilities in `tails.ts`.
 *
 * The failure bounds we need go down to 1e-300 and beyond (a deep binomial tail is easily 1e-700), so every
 * probability is handled as its natural logarithm. Point probabilities use Loader's saddle-point form
 * (C. Loader, "Fast and accurate computation of binomial probabilities", 2000 — what R's dbinom/dpois use):
 * it never subtracts two large log-factorials, so it keeps full relative precision for n in the millions.
 */

const LN_2PI = Math.log(2 * Math.PI);
const HALF_LN_2PI = 0.5 * LN_2PI;

/** Below this, `stirlingError` comes from exact log-factorials; above, from its asymptotic series. */
const STIRLING_TABLE_MAX = 15;

/** δ(n) = ln n! − (n + ½) ln n + n − ½ ln 2π for n = 0…15, from exact log-factorials (δ(0) is unused). */
const STIRLING_TABLE: readonly number[] = (() => {
  const table = [0];
  let logFactorial = 0;
  for (let n = 1; n <= STIRLING_TABLE_MAX; n++) {
    logFactorial += Math.log(n);
    table.push(logFactorial - (n + 0.5) * Math.log(n) + n - HALF_LN_2PI);
  }
  return table;
})();

/**
 * Stirling's error δ(n) = ln n! − [(n + ½) ln n − n + ½ ln 2π] for an integer n ≥ 1. For n > 15 the series
 * 1/(12n) − 1/(360n³) + 1/(1260n⁵) − 1/(1680n⁷) + 1/(1188n⁹) is accurate to double precision.
 */
export function stirlingError(n: number): number {
  if (n <= STIRLING_TABLE_MAX) return STIRLING_TABLE[n] ?? 0;
  const nn = n * n;
  const s0 = 1 / 12;
  const s1 = 1 / 360;
  const s2 = 1 / 1260;
  const s3 = 1 / 1680;
  const s4 = 1 / 1188;
  if (n > 500) return (s0 - s1 / nn) / n;
  if (n > 80) return (s0 - (s1 - s2 / nn) / nn) / n;
  if (n > 35) return (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / n;
  return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n;
}

/**
 * The deviance term x·ln(x/m) + m − x ≥ 0, computed without cancellation when x ≈ m (there it is a small
 * difference of large numbers; the series in v = (x−m)/(x+m) converges fast because |v| < 0.1).
 */
export function deviance(x: number, m: number): number {
  if (Math.abs(x - m) < 0.1 * (x + m)) {
    let v = (x - m) / (x + m);
    let sum = (x - m) * v;
    let term = 2 * x * v;
    v *= v;
    for (let j = 1; j < 1000; j++) {
      term *= v;
      const next = sum + term / (2 * j + 1);
      if (next === sum) return next;
      sum = next;
    }
    return sum;
  }
  return x * Math.log(x / m) + m - x;
}

/** ln n! for an integer n ≥ 0 (exact to double precision through Stirling's series). */
export function logFactorial(n: number): number {
  if (n <= 1) return 0;
  return (n + 0.5) * Math.log(n) - n + HALF_LN_2PI + stirlingError(n);
}

/** ln C(n, k) for integers 0 ≤ k ≤ n. */
export function logChoose(n: number, k: number): number {
  if (k < 0 || k > n) return Number.NEGATIVE_INFINITY;
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

/** ln(eᵃ + eᵇ) without overflow or underflow. */
export function logAddExp(a: number, b: number): number {
  if (a === Number.NEGATIVE_INFINITY) return b;
  if (b === Number.NEGATIVE_INFINITY) return a;
  const hi = Math.max(a, b);
  return hi + Math.log1p(Math.exp(Math.min(a, b) - hi));
}

/** ln Σ eˣ over the values. */
export function logSumExp(values: readonly number[]): number {
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) if (v > hi) hi = v;
  if (hi === Number.NEGATIVE_INFINITY || hi === Number.POSITIVE_INFINITY) return hi;
  let sum = 0;
  for (const v of values) sum += Math.exp(v - hi);
  return hi + Math.log(sum);
}

/**
 * ln(1 − eˣ) for x ≤ 0, accurate at both ends (Mächler, "Accurately computing log(1 − exp(−|a|))", 2012):
 * this turns the log of one tail into the log of its complement.
 */
export function logOneMinusExp(x: number): number {
  if (x > 0) return Number.NaN;
  return x > -Math.LN2 ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x));
}

export { LN_2PI };
