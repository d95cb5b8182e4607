import type { ContagionParams } from "../broadcast/contagion/contagionParams.ts";
import type { Adversary } from "./adversaryNetwork.ts";
import { type LatencyModelName, latencyModel, minimumLatencyMs } from "./latency.ts";
import { brachaFactory, contagionFactory } from "./protocols.ts";
import { Simulation, type SimulationShard } from "./simulation.ts";

/**
 * A simulation as plain data, so it can cross a worker-thread boundary: every shard of a run rebuilds the
 * same network from it.
 */
export interface SimSpec {
  readonly nodes: number;
  /** Fraction of Byzantine nodes: ⌊f·N⌋ of them, chosen by the seed. */
  readonly byzantine: number;
  readonly adversary: Adversary;
  /** Contagion with these parameters, or Bracha. */
  readonly protocol: "bracha" | { readonly contagion: ContagionParams };
  readonly broadcasts: number;
  readonly seed: number;
  readonly latency: LatencyModelName;
  readonly meanLatencyMs: number;
  /** Simulated time between introductions; broadcasts overlap when it is shorter than one broadcast. */
  readonly intervalMs: number;
  /** Under `equivocate`, every `equivocateEvery`-th broadcast has a Byzantine source (default 2). */
  readonly equivocateEvery?: number;
}

export interface SimulationControls {
  readonly shard?: SimulationShard;
  readonly onProgress?: (done: number, total: number) => void;
}

export function createSimulation(spec: SimSpec, controls: SimulationControls = {}): Simulation {
  return new Simulation({
    nodes: spec.nodes,
    byzantine: spec.byzantine,
    adversary: spec.adversary,
    protocol: spec.protocol === "bracha" ? brachaFactory() : contagionFactory(spec.protocol.contagion),
    broadcasts: spec.broadcasts,
    seed: spec.seed,
    latency: latencyModel(spec.latency, spec.meanLatencyMs),
    meanLatencyMs: spec.meanLatencyMs,
    intervalMs: spec.intervalMs,
    // As wide as the latency model allows — except against the equivocator, which reacts to the first
    // READY it sees: taking a window receiver by receiver could show it a later one first.
    windowMs:
      spec.adversary === "equivocate"
        ? 1
        : Math.min(1000, minimumLatencyMs(spec.latency, spec.meanLatencyMs)),
    ...(spec.equivocateEvery === undefined ? {} : { equivocateEvery: spec.equivocateEvery }),
    ...(controls.shard === undefined ? {} : { shard: controls.shard }),
    ...(controls.onProgress === undefined ? {} : { onProgress: controls.onProgress }),
  });
}
