import type { PeerId, RandomSource } from "../broadcast/types.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
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
 * element from the set of processes"): uniform over the genesis member list minus this node.
 */
export class StaticMembership implements SamplingOracle {
  readonly size: number;
  private readonly members: ReadonlySet<PeerId>;
  /** Every member but this node, in genesis order: what the draws index into. */
  private readonly others: readonly PeerId[];
  private readonly random: RandomSource;

  constructor(options: StaticMembershipOptions) {
    const members = new Set(options.members);
    if (members.size === 0 || members.size !== options.members.length) {
      throw configError("members: a non-empty list without duplicates");
    }
    for (const member of members) {
      if (typeof member !== "string" || member.length === 0) throw configError("members: non-empty strings");
    }
    if (!members.has(options.self)) throw configError("self: must be one of members");
    this.members = members;
    this.others = options.members.filter((peer) => peer !== options.self);
    this.size = this.others.length;
    this.random = options.random;
  }

  sample(count: number): PeerId[] {
    checkCount(count);
    if (this.size === 0) return [];
    return Array.from({ length: count }, () => this.others[this.index(this.size)]!);
  }

  distinct(count: number): PeerId[] {
    checkCount(count);
    const take = Math.min(count, this.size);
    // A partial Fisher–Yates shuffle: the first `take` slots are a uniform draw without replacement.
    const pool = [...this.others];
    for (let i = 0; i < take; i++) {
      const j = i + this.index(pool.length - i);
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    return pool.slice(0, take);
  }

  isMember(peer: PeerId): boolean {
    return this.members.has(peer);
  }

  /** Uniform in [0, bound); the clamp guards a RandomSource that returns exactly 1. */
  private index(bound: number): number {
    return Math.min(bound - 1, Math.floor(this.random() * bound));
  }
}

function checkCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) throw configError("sample size: a non-negative integer");
}

function configError(message: string): TallyError {
  return new TallyError(ErrorCode.InvalidConfig, `sampling: ${message}`);
}
