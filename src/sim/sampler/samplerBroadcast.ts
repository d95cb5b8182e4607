import { defaultContagionParams } from "../../analysis/defaultParams.ts";
import type { ContagionParams } from "../../broadcast/contagion/contagionParams.ts";
import { ViewOracle } from "../../membership/viewOracle.ts";
import { latencyModel, minimumLatencyMs } from "../latency.ts";
import { contagionFactory } from "../protocols.ts";
import { Simulation, type SimulationResult } from "../simulation.ts";
import type { SamplerSimulation } from "./samplerSimulation.ts";

const MEAN_LATENCY_MS = 50;

/**
 * The contagion broadcast run over a converged sampler simulation: every correct node's Ω is a ViewOracle
 * over its own Basalt view (frozen: the sampler does not run during the broadcast), the Byzantine side — its
 * nodes and its sybils — is silent, and the parameters are what a node of an N-node network runs by default
 * (`defaultContagionParams`: designed for ⌊(N−1)/5⌋ Byzantine, ε = 10⁻⁹). The design fraction (~0.2) above the
 * attack's (0.1) is the margin that absorbs the spread of views: a node's view is Byzantine in its own
 * proportion, up to ~25 % at the tail of 10,000 nodes with 100 slots. Violations of validity, consistency or
 * totality are what a biased view would cause.
 */
export function broadcastOverViews(
  sampler: SamplerSimulation,
  options: { readonly broadcasts: number; readonly byzantine: number; readonly seed: number },
): SimulationResult {
  const population = sampler.population;
  const params: ContagionParams = defaultContagionParams(population.nodes);
  const protocol = contagionFactory(params, (self, random) => {
    const i = population.index(self)!;
    const peers = sampler.viewOf(i);
    return new ViewOracle({
      view: () => peers,
      isMember: (peer) => population.index(peer) !== undefined,
      random,
    });
  });
  return new Simulation({
    // Sybils are nodes of the broadcast too: a message to one reaches the adversary, which stays silent.
    nodes: population.ids.length,
    byzantine: options.byzantine,
    byzantineIndices: population.ids.flatMap((_, i) => (population.adversarial[i] ? [i] : [])),
    adversary: "silent",
    protocol,
    broadcasts: options.broadcasts,
    seed: options.seed,
    latency: latencyModel("uniform", MEAN_LATENCY_MS),
    meanLatencyMs: MEAN_LATENCY_MS,
    intervalMs: MEAN_LATENCY_MS * 10,
    windowMs: Math.min(1000, minimumLatencyMs("uniform", MEAN_LATENCY_MS)),
  }).run();
}
