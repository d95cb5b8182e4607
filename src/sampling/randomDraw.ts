import type { RandomSource } from "../core/random.ts";

/**
 * Uniform in [0, bound) for bound ≥ 1. The clamp guards a RandomSource that returns exactly 1 (a crypto-backed
 * one built by division may): unclamped, it would index one past the end.
 */
export function randomIndex(random: RandomSource, bound: number): number {
  return Math.min(bound - 1, Math.floor(random() * bound));
}

/** One uniformly drawn element of `items`, or undefined when there is none. */
export function randomElement<T>(random: RandomSource, items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[randomIndex(random, items.length)];
}

/**
 * A partial Fisher–Yates: swaps a uniform draw without replacement into the first `take` positions of `pool`
 * (in place; the rest is left in some order) and returns them. Costs `take` draws, one per position, in order.
 */
export function drawDistinct<T>(pool: T[], take: number, random: RandomSource): T[] {
  const count = Math.min(take, pool.length);
  for (let i = 0; i < count; i++) {
    const j = i + randomIndex(random, pool.length - i);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, count);
}
