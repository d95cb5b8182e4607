import type { PeerId } from "../../core/peerId.ts";
import type { RandomSource } from "../../core/random.ts";
import { BasaltSampler } from "../../membership/basalt.ts";
import type { RankedCandidate } from "../../membership/rank.ts";
import { drawDistinct } from "../../sampling/randomDraw.ts";
import { percentile } from "../percentile.ts";
import { childSeed, seededRandom, shuffled } from "../prng.ts";
import { type Dissemination, RecordFlood } from "./recordFlood.ts";
import { type SamplerAttack, SamplerPopulation } from "./samplerPopulation.ts";

export interface SamplerSimOptions {
  readonly nodes: number;
  /** Fraction of real nodes that are Byzantine. */
  readonly byzantine: number;
  readonly attack: SamplerAttack;
  readonly rounds: number;
  readonly viewSize: number;
  readonly resetsPerRound: number;
  readonly seed: number;
  /** Random peers each correct node starts with (each Byzantine with probability f). Default 5. */
  readonly bootstrapPeers?: number;
  /**
   * Pushes per Byzantine node per round, each to a random correct node. Default 2: a correct node's view
   * leaves it about twice a round (its own push, and its answer to one pull), so the admission layer that
   * accepts that much from a correct peer accepts it from a Byzantine one.
   */
  readonly pushesPerByzantineNode?: number;
  /** Rank by peer id only (no prefix hierarchy), to show what the hierarchy buys. Default false. */
  readonly flatRanks?: boolean;
  /** `flood` (default, the node's design): records flooded into every book, samplers refill from it (recordFlood.ts). */
  readonly dissemination?: Dissemination;
  readonly onRound?: (stats: SamplerRoundStats) => void;
}

export interface SamplerRoundStats {
  readonly round: number;
  /** Byzantine share of correct nodes' views (distinct peers): mean over correct nodes. */
  readonly viewByzantineMean: number;
  /** …and its 99th percentile over correct nodes. */
  readonly viewByzantineP99: number;
  /** Byzantine share of the samples correct nodes emitted this round. */
  readonly sampleByzantine: number;
  /** Distinct peers per correct node's view, mean. */
  readonly viewSizeMean: number;
}

/**
 * A round-based simulation of N nodes, a fraction f Byzantine, every correct one running the real
 * BasaltSampler. Each round, in a random order, each correct node runs `round()` and exchanges with the peer
 * it names: push and pull, both sides offering the other's view plus the other itself. A Byzantine peer
 * answers a pull with v + 1 Byzantine identities, fresh each time; then every Byzantine node pushes such
 * lists to random correct nodes (`pushesPerByzantineNode`). Under `sybil` those identities include 10 sybils
 * per Byzantine node, packed on a few /24s (samplerPopulation.ts). Under `flood` dissemination, before the
 * exchanges each correct node first receives the records that reach it this round (each offered once, as
 * the node's `receive` does), and its sampler refills reset slots from every identity it has received.
 */
export class SamplerSimulation {
  readonly population: SamplerPopulation;
  /** Per real node: its sampler (undefined for Byzantine nodes, which run none). */
  readonly samplers: readonly (BasaltSampler | undefined)[];
  private readonly options: SamplerSimOptions;
  private readonly random: RandomSource;
  private readonly scratch: number[];
  /** Record flooding, or undefined under `exchange`. */
  readonly flood: RecordFlood | undefined;
  /** The round being simulated: what each node's book holds depends on it. */
  private currentRound = 0;

  constructor(options: SamplerSimOptions) {
    if (options.nodes < 4) throw new RangeError("a sampler simulation needs at least 4 nodes");
    if (!(options.byzantine >= 0 && options.byzantine < 0.5))
      throw new RangeError("byzantine fraction must be in [0, 0.5)");
    this.options = options;
    this.random = seededRandom(options.seed);
    this.population = new SamplerPopulation(options.nodes, options.byzantine, options.attack, this.random);
    const { ids, adversarial, candidates } = this.population;
    const flood =
      (options.dissemination ?? "flood") === "flood"
        ? new RecordFlood(this.population, childSeed(this.random))
        : undefined;
    this.flood = flood;
    this.samplers = ids.slice(0, options.nodes).map((self, i) =>
      adversarial[i]
        ? undefined
        : new BasaltSampler({
            self,
            viewSize: options.viewSize,
            resetsPerRound: options.resetsPerRound,
            random: seededRandom(childSeed(this.random)),
            flatRanks: options.flatRanks === true,
            // Population candidates are RankedCandidates with shared digests: no per-node digest table.
            ...(flood === undefined ? {} : { known: () => flood.known(i, this.currentRound) }),
          }),
    );
    this.scratch = [...this.population.adversaryIdentities];
    const bootstrap = options.bootstrapPeers ?? 5;
    for (const i of this.population.correct) {
      const peers: RankedCandidate[] = [];
      while (peers.length < bootstrap) {
        const j = Math.floor(this.random() * options.nodes);
        if (j !== i) peers.push(candidates[j]!);
      }
      this.samplers[i]!.offer(peers);
    }
  }

  run(): SamplerRoundStats[] {
    const history: SamplerRoundStats[] = [];
    for (let round = 1; round <= this.options.rounds; round++) {
      const stats = this.step(round);
      history.push(stats);
      this.options.onRound?.(stats);
    }
    return history;
  }

  /** Byzantine share of each correct node's distinct view peers. */
  viewShares(): Float64Array {
    const { correct } = this.population;
    return Float64Array.from(correct, (i) => {
      const peers = this.samplers[i]!.peers();
      if (peers.length === 0) return 0;
      let bad = 0;
      for (const p of peers) if (this.population.isAdversarial(p)) bad++;
      return bad / peers.length;
    });
  }

  private step(round: number): SamplerRoundStats {
    const { correct, candidates, byzantineNodes } = this.population;
    this.currentRound = round;
    if (this.flood !== undefined) {
      // A new record enters the book and is offered once (OpenMembership.receive).
      for (const i of correct) {
        const sampler = this.samplers[i]!;
        for (const candidate of this.flood.arrivals(i, round)) sampler.offer([candidate]);
      }
    }
    let samples = 0;
    let byzantineSamples = 0;
    for (const i of shuffled(correct, this.random)) {
      const sampler = this.samplers[i]!;
      const result = sampler.round();
      samples += result.samples.length;
      for (const p of result.samples) if (this.population.isAdversarial(p)) byzantineSamples++;
      if (result.exchangeWith === undefined) continue;
      const j = this.population.index(result.exchangeWith)!;
      const peer = j < this.options.nodes ? this.samplers[j] : undefined;
      if (peer === undefined) {
        // Our push lands with the adversary, which learns nothing it needs; its answer is all Byzantine.
        sampler.offer(this.adversaryList());
        continue;
      }
      const mine = [candidates[i]!, ...sampler.view()];
      const theirs = [candidates[j]!, ...peer.view()];
      peer.offer(mine);
      sampler.offer(theirs);
    }
    const pushes = this.options.pushesPerByzantineNode ?? 2;
    for (let b = 0; b < byzantineNodes.length * pushes; b++) {
      const target = correct[Math.floor(this.random() * correct.length)]!;
      this.samplers[target]!.offer(this.adversaryList());
    }
    const shares = this.viewShares();
    const sorted = Float64Array.from(shares).sort();
    const sizes = correct.reduce((sum, i) => sum + this.samplers[i]!.peers().length, 0);
    return {
      round,
      viewByzantineMean: mean(shares),
      viewByzantineP99: percentile(sorted, 0.99),
      sampleByzantine: samples === 0 ? 0 : byzantineSamples / samples,
      viewSizeMean: sizes / correct.length,
    };
  }

  /** v + 1 distinct adversary identities, uniformly drawn afresh: as many different ranks as one offer allows. */
  private adversaryList(): RankedCandidate[] {
    const drawn = drawDistinct(this.scratch, this.options.viewSize + 1, this.random);
    return drawn.map((index) => this.population.candidates[index]!);
  }

  /** Peer ids of correct node i's view. */
  viewOf(i: number): readonly PeerId[] {
    return this.samplers[i]?.peers() ?? [];
  }
}

function mean(values: Float64Array): number {
  let sum = 0;
  for (const v of values) sum += v;
  return values.length === 0 ? 0 : sum / values.length;
}
