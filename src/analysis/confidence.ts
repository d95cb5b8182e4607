/**
 * Confidence intervals for a violation rate observed in the simulator: k violations in n independent
 * broadcasts. Clopper–Pearson ("exact"): it inverts the binomial tails themselves, so it never covers less
 * than the stated level, also at k = 0 and k = n where the normal approximation is useless — the usual case
 * here, since the bounds being checked are 1e-3 … 1e-1 and the runs are a few hundred broadcasts.
 */

import { binomialLowerTail, binomialUpperTail } from "./tails.ts";

export interface Interval {
  readonly lower: number;
  readonly upper: number;
}

/** Bisection steps on p ∈ [0, 1]: 2^-60 is below any rate a simulation can resolve. */
const BISECTION_STEPS = 60;

/** Smallest p in [0, 1] with `rises(p)` true, for a predicate false below some point and true above it. */
function threshold(rises: (p: number) => boolean): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < BISECTION_STEPS; i++) {
    const mid = (lo + hi) / 2;
    if (rises(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * The two-sided Clopper–Pearson interval at `level` (default 95 %) for k successes in n trials: the lower end
 * is the p at which P[Bin(n, p) ≥ k] = (1 − level)/2, the upper end the p at which P[Bin(n, p) ≤ k] does.
 * Each end alone is then a one-sided bound at 1 − (1 − level)/2 = 97.5 %.
 */
export function clopperPearson(k: number, n: number, level = 0.95): Interval {
  if (!Number.isSafeInteger(n) || n < 1 || !Number.isSafeInteger(k) || k < 0 || k > n) {
    throw new RangeError(`clopperPearson needs integers 0 ≤ k ≤ n, n ≥ 1; got k = ${k}, n = ${n}`);
  }
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  const tail = (1 - level) / 2;
  // P[Bin(n, p) ≥ k] rises with p: the lower end is where it reaches `tail`.
  const lower = k === 0 ? 0 : threshold((p) => binomialUpperTail(n, p, k) >= tail);
  // P[Bin(n, p) ≤ k] falls with p: the upper end is where it drops to `tail`.
  const upper = k === n ? 1 : threshold((p) => binomialLowerTail(n, p, k) <= tail);
  return { lower, upper };
}
