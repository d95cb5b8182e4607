import type { PeerId } from "../core/peerId.ts";
import type { RandomSource } from "../core/random.ts";
import { MemberDirectory } from "./memberDirectory.ts";
import type { SamplingOracle } from "./samplingOracle.ts";

export interface StaticMembershipOptions {
  /** This node; must be one of `members`. It is never drawn (see `SamplingOracle`). */
  readonly self: PeerId;
  /** The genesis member list, this node included, without duplicates. */
  readonly members: readonly PeerId[];
  /** This node's private randomness: seeded in tests and the simulator, crypto-backed in the node. */
  readonly random: RandomSource;
}

/**
 * Ω for a permissioned network (thesis §4.2: "sampling reduces to picking with uniform probability an
 * element from the set of processes"): uniform over the genesis member list minus this node. A view of a
 * `MemberDirectory`, which the simulator shares among all its nodes.
 */
export class StaticMembership implements SamplingOracle {
  readonly size: number;
  private readonly oracle: SamplingOracle;

  constructor(options: StaticMembershipOptions) {
    this.oracle = new MemberDirectory(options.members).oracleFor(options.self, options.random);
    this.size = this.oracle.size;
  }

  sample(count: number): PeerId[] {
    return this.oracle.sample(count);
  }

  distinct(count: number): PeerId[] {
    return this.oracle.distinct(count);
  }

  isMember(peer: PeerId): boolean {
    return this.oracle.isMember(peer);
  }
}
