import type { RandomSource } from "../core/random.ts";

/** mulberry32: tiny, fast, and good enough for schedules and samples; every run replays from its seed. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A fresh 32-bit seed drawn from `random`, to give each simulated node its own independent stream. */
export function childSeed(random: RandomSource): number {
  return Math.floor(random() * 2 ** 32);
}

/** A uniformly shuffled copy of `items` (Fisher–Yates, from the last position down). */
export function shuffled<T>(items: readonly T[], random: RandomSource): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
