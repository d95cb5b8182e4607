import type { RankedCandidate } from "../../membership/rank.ts";
import type { SamplerPopulation } from "./samplerPopulation.ts";

export const DISSEMINATIONS = ["flood", "exchange"] as const;
/**
 * How identities reach correct nodes. `flood` is the node's design: every signed record is flooded on the
 * network's gossipsub topic into every node's record book, and the sampler refills from the book (`known`);
 * `exchange` is Basalt alone, identities travelling only inside views.
 */
export type Dissemination = (typeof DISSEMINATIONS)[number];

/** gossipsub's mesh degree D: each hop multiplies the nodes reached by about 8. */
const MESH_DEGREE = 8;

/**
 * When each record reaches each correct node's record book under gossipsub flooding, without storing an
 * N × N schedule. The adversary announces all its identities (nodes and sybils) at once, everywhere: each
 * reaches every correct node in round 1. A correct identity reaches correct node i in a round drawn
 * uniformly from [1, H], H = ⌈log₂ N / log₂ 8⌉ + 1 — the hops a mesh of degree 8 needs to cover N nodes,
 * plus one. Ignored: a correct node whose whole mesh is Byzantine (probability ≈ f⁶ for 6 mesh peers,
 * 10⁻⁶ at f = 0.1), which would hear correct records only through exchanges; records learned through
 * exchanges before the flood brings them (they would only help correct identities); the book's bound
 * (10,000 identities — see docs/membership.md, Simulation). The draw is a hash of (seed, node, identity):
 * deterministic per seed, no per-node copy of the population.
 */
export class RecordFlood {
  /** H: the round by which every correct node holds every record. */
  readonly hops: number;
  private readonly population: SamplerPopulation;
  private readonly seed: number;

  constructor(population: SamplerPopulation, seed: number) {
    this.population = population;
    this.seed = seed >>> 0;
    this.hops = Math.ceil(Math.log2(population.nodes) / Math.log2(MESH_DEGREE)) + 1;
  }

  /** The round in which identity j's record reaches node i's book. */
  arrival(i: number, j: number): number {
    if (this.population.adversarial[j] === 1) return 1;
    return 1 + Math.floor((mix(this.seed, i, j) / 2 ** 32) * this.hops);
  }

  /** Identities (other than i) whose records reach node i in exactly `round`. */
  *arrivals(i: number, round: number): Generator<RankedCandidate> {
    if (round > this.hops) return;
    const { candidates } = this.population;
    for (let j = 0; j < candidates.length; j++) {
      if (j !== i && this.arrival(i, j) === round) yield candidates[j]!;
    }
  }

  /** Node i's record book after `round`: every identity once H rounds have passed (the shared array). */
  known(i: number, round: number): Iterable<RankedCandidate> {
    if (round >= this.hops) return this.population.candidates;
    return this.arrivedBy(i, round);
  }

  private *arrivedBy(i: number, round: number): Generator<RankedCandidate> {
    const { candidates } = this.population;
    for (let j = 0; j < candidates.length; j++) {
      if (this.arrival(i, j) <= round) yield candidates[j]!;
    }
  }
}

/** A 32-bit hash of three integers: murmur3's finalizer, applied after absorbing each. */
function mix(seed: number, i: number, j: number): number {
  return fmix(fmix(fmix(seed) ^ Math.imul(i + 1, 0x9e3779b1)) ^ Math.imul(j + 1, 0x85ebca77));
}

function fmix(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
