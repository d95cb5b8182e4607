import type { RandomSource } from "../core/random.ts";

/** One-way message delay in simulated milliseconds. */
export type LatencyModel = (random: RandomSource) => number;
export const LATENCY_MODELS = ["constant", "uniform", "wan"] as const;
export type LatencyModelName = (typeof LATENCY_MODELS)[number];

/**
 * - constant: every message takes `meanMs` (hops = latency / meanMs exactly);
 * - uniform: uniform on [0.5, 1.5] × meanMs;
 * - wan: log-normal with median `meanMs` and σ = 0.5, a common fit for wide-area RTTs (a heavy
 *   right tail: p99 ≈ 3.2 × median), floored at 1 ms.
 */
export function latencyModel(name: LatencyModelName, meanMs: number): LatencyModel {
  switch (name) {
    case "constant":
      return () => meanMs;
    case "uniform":
      return (random) => meanMs * (0.5 + random());
    case "wan":
      return (random) => Math.max(1, meanMs * Math.exp(0.5 * standardNormal(random)));
  }
}

/**
 * The shortest delay a model can produce, in whole milliseconds (at least 1): the widest window the
 * simulator may take receiver by receiver without reordering cause and effect.
 */
export function minimumLatencyMs(name: LatencyModelName, meanMs: number): number {
  switch (name) {
    case "constant":
      return Math.max(1, Math.floor(meanMs));
    case "uniform":
      return Math.max(1, Math.floor(0.5 * meanMs));
    case "wan":
      return 1;
  }
}

/** Box–Muller. */
function standardNormal(random: RandomSource): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
