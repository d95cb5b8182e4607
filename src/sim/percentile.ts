/**
 * The simulator's one percentile: the value at rank ⌊p·n⌋ of `sorted` (ascending), clamped to the last, so
 * p = 0.5 of an even count is the upper median and p = 0.99 of 100 values is the largest. 0 for no samples.
 * Every report of `tally sim` uses it, so their figures compare.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}
