import type { PeerId } from "../../core/peerId.ts";
import type { RandomSource } from "../../core/random.ts";
import { RankedCandidate } from "../../membership/rank.ts";
import { shuffled } from "../prng.ts";

export const SAMPLER_ATTACKS = ["push", "sybil"] as const;
export type SamplerAttack = (typeof SAMPLER_ATTACKS)[number];

/** Sybil identities per Byzantine node under `sybil`. */
export const SYBILS_PER_BYZANTINE_NODE = 10;
/** The /24 prefixes (each in its own /16) that hold every sybil identity: rented from a few hosting providers. */
export const SYBIL_PREFIXES = 4;

/**
 * Who is who in a sampler simulation. Identity i < N is node i (`n${i}`, the broadcast simulator's naming);
 * identities ≥ N are the adversary's sybils. Every real node — correct or Byzantine — has a uniformly random
 * public IPv4 address: at 10,000 nodes over ~56,000 routable /16s a few share a /16, as machines of one
 * provider do. Sybils sit on SYBIL_PREFIXES /24s, random hosts, several identities per address.
 */
export class SamplerPopulation {
  readonly nodes: number;
  readonly ids: readonly PeerId[];
  /** Per identity: prepared once, shared by every sampler (digests are public). */
  readonly candidates: readonly RankedCandidate[];
  /** Per identity: controlled by the adversary. */
  readonly adversarial: Uint8Array;
  readonly correct: readonly number[];
  readonly byzantineNodes: readonly number[];
  /** Every identity the adversary can name in a view: its nodes and its sybils. */
  readonly adversaryIdentities: readonly number[];
  private readonly indexOf = new Map<PeerId, number>();

  constructor(nodes: number, byzantine: number, attack: SamplerAttack, random: RandomSource) {
    const byzantineCount = Math.floor(byzantine * nodes);
    const sybils = attack === "sybil" ? SYBILS_PER_BYZANTINE_NODE * byzantineCount : 0;
    const total = nodes + sybils;
    this.nodes = nodes;
    this.ids = Array.from({ length: total }, (_, i) => `n${i}`);
    for (const [i, id] of this.ids.entries()) this.indexOf.set(id, i);
    this.adversarial = new Uint8Array(total);
    const chosen = shuffled(
      Array.from({ length: nodes }, (_, i) => i),
      random,
    ).slice(0, byzantineCount);
    for (const i of chosen) this.adversarial[i] = 1;
    for (let i = nodes; i < total; i++) this.adversarial[i] = 1;
    const correct: number[] = [];
    const byzantineNodes: number[] = [];
    for (let i = 0; i < nodes; i++) (this.adversarial[i] ? byzantineNodes : correct).push(i);
    this.correct = correct;
    this.byzantineNodes = byzantineNodes;
    this.adversaryIdentities = [...byzantineNodes, ...Array.from({ length: sybils }, (_, s) => nodes + s)];
    const prefixes = Array.from({ length: SYBIL_PREFIXES }, () => publicIpv4(random).split(".").slice(0, 3));
    this.candidates = this.ids.map((peerId, i) => {
      const ip =
        i < nodes
          ? publicIpv4(random)
          : [...prefixes[i % SYBIL_PREFIXES]!, 1 + Math.floor(random() * 254)].join(".");
      return new RankedCandidate({ peerId, ip });
    });
  }

  index(peer: PeerId): number | undefined {
    return this.indexOf.get(peer);
  }

  isAdversarial(peer: PeerId): boolean {
    const i = this.indexOf.get(peer);
    return i !== undefined && this.adversarial[i] === 1;
  }
}

/** A uniformly random unicast IPv4 address outside 0/8, 10/8, 127/8 and the multicast/reserved 224/3. */
function publicIpv4(random: RandomSource): string {
  let first = 0;
  while (first === 0 || first === 10 || first === 127) first = Math.floor(random() * 224);
  const octet = () => Math.floor(random() * 256);
  return `${first}.${octet()}.${octet()}.${1 + Math.floor(random() * 254)}`;
}
