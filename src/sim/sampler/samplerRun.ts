import type { SimulationResult } from "../simulation.ts";
import type { Dissemination } from "./recordFlood.ts";
import { broadcastOverViews } from "./samplerBroadcast.ts";
import type { SamplerAttack } from "./samplerPopulation.ts";
import { type SamplerRoundStats, SamplerSimulation } from "./samplerSimulation.ts";

export interface SamplerRunSpec {
  readonly nodes: number;
  readonly byzantine: number;
  readonly attack: SamplerAttack;
  readonly rounds: number;
  readonly viewSize: number;
  readonly resetsPerRound: number;
  readonly seed: number;
  /** Contagion broadcasts run over the final views (0: none). */
  readonly broadcasts: number;
  readonly flatRanks?: boolean;
  /** Default `flood`, the node's design (recordFlood.ts). */
  readonly dissemination?: Dissemination;
  readonly onRound?: (stats: SamplerRoundStats) => void;
}

export interface SamplerRunReport {
  readonly sampler: "basalt";
  readonly attack: SamplerAttack;
  readonly nodes: number;
  readonly byzantine: number;
  readonly identities: number;
  readonly rounds: number;
  readonly viewSize: number;
  readonly resetsPerRound: number;
  readonly seed: number;
  readonly flatRanks: boolean;
  readonly dissemination: Dissemination;
  /** Under `flood`: H, the round by which every correct node has received every record. */
  readonly floodHops?: number;
  readonly history: readonly SamplerRoundStats[];
  readonly final: SamplerRoundStats | undefined;
  /** The broadcast over the final views, when `broadcasts` > 0. */
  readonly broadcast?: {
    readonly broadcasts: number;
    readonly violations: SimulationResult["violations"];
    readonly doubleDeliveries: number;
    readonly messagesPerNodePerBroadcast: number;
    readonly latencyP99Ms: number;
  };
  readonly wallSeconds: number;
}

export function runSamplerSimulation(spec: SamplerRunSpec): SamplerRunReport {
  const started = performance.now();
  const sim = new SamplerSimulation({ ...spec, flatRanks: spec.flatRanks === true });
  const history = sim.run();
  const result =
    spec.broadcasts > 0
      ? broadcastOverViews(sim, { broadcasts: spec.broadcasts, byzantine: spec.byzantine, seed: spec.seed })
      : undefined;
  return {
    sampler: "basalt",
    attack: spec.attack,
    nodes: spec.nodes,
    byzantine: spec.byzantine,
    identities: sim.population.ids.length,
    rounds: spec.rounds,
    viewSize: spec.viewSize,
    resetsPerRound: spec.resetsPerRound,
    seed: spec.seed,
    flatRanks: spec.flatRanks === true,
    dissemination: spec.dissemination ?? "flood",
    ...(sim.flood === undefined ? {} : { floodHops: sim.flood.hops }),
    history,
    final: history.at(-1),
    ...(result === undefined
      ? {}
      : {
          broadcast: {
            broadcasts: result.broadcasts,
            violations: result.violations,
            doubleDeliveries: result.doubleDeliveries,
            messagesPerNodePerBroadcast: result.messagesPerNodePerBroadcast.mean,
            latencyP99Ms: result.latencyMs.p99,
          },
        }),
    wallSeconds: (performance.now() - started) / 1000,
  };
}

export function formatSamplerReport(r: SamplerRunReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const lines = [
    `basalt, ${r.nodes} nodes (${r.identities} identities), ${pct(r.byzantine)} byzantine, attack ${r.attack}, v ${r.viewSize}, k ${r.resetsPerRound}, ${r.dissemination}${r.floodHops === undefined ? "" : ` (H ${r.floodHops})`}, ${r.rounds} rounds, seed ${r.seed}${r.flatRanks ? ", flat ranks" : ""}`,
    "round  byzantine in views: mean  p99    in samples",
  ];
  const every = Math.max(1, Math.ceil(r.history.length / 20));
  for (const s of r.history) {
    if (s.round % every !== 0 && s.round !== r.history.length) continue;
    lines.push(
      `${String(s.round).padStart(5)}  ${pct(s.viewByzantineMean).padStart(25)}  ${pct(s.viewByzantineP99).padStart(5)}  ${pct(s.sampleByzantine).padStart(10)}`,
    );
  }
  if (r.broadcast !== undefined) {
    const v = r.broadcast.violations;
    lines.push(
      `broadcast over the views: ${r.broadcast.broadcasts} broadcasts, violations validity ${v.validity} consistency ${v.consistency} totality ${v.totality}, double deliveries ${r.broadcast.doubleDeliveries}, ${r.broadcast.messagesPerNodePerBroadcast.toFixed(1)} messages per node per broadcast`,
    );
  }
  lines.push(`${r.wallSeconds.toFixed(1)} s`);
  return lines.join("\n");
}
