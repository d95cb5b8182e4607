import type { RandomSource } from "../broadcast/types.ts";

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

export function randomIndex(random: RandomSource, length: number): number {
  return Math.floor(random() * length);
}
