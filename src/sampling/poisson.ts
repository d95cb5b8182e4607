import { ErrorCode, TallyError } from "../core/errors.ts";
import type { RandomSource } from "../core/random.ts";

/**
 * A draw from Poisson(mean): the size of an Erdős–Rényi gossip sample (Algorithm 6, line 12). Drawing the
 * size from a Poisson law rather than fixing it is what makes every pair of correct nodes linked
 * independently, so the correct nodes' gossip graph is an Erdős–Rényi graph (thesis §4.3.3).
 *
 * Knuth's multiplication method for small means; for large ones, the sum of Poisson(mean/k) parts (Poisson
 * laws add up), which keeps e^{-part} far from underflow. O(mean) uniform draws — means here are tens.
 */
export function poissonSample(mean: number, random: RandomSource): number {
  if (!(mean >= 0) || !Number.isFinite(mean)) {
    throw new TallyError(ErrorCode.InvalidConfig, "sampling: a Poisson mean is a finite number ≥ 0");
  }
  const maxPartMean = 30;
  const parts = Math.max(1, Math.ceil(mean / maxPartMean));
  const limit = Math.exp(-mean / parts);
  let total = 0;
  for (let part = 0; part < parts; part++) {
    let product = random();
    while (product > limit) {
      total++;
      product *= random();
    }
  }
  return total;
}
