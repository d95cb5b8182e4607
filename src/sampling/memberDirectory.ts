import { ErrorCode, TallyError } from "../core/errors.ts";
import type { PeerId } from "../core/peerId.ts";
import type { RandomSource } from "../core/random.ts";
import { drawDistinct, randomIndex } from "./randomDraw.ts";
import type { SamplingOracle } from "./samplingOracle.ts";

/**
 * An immutable member list with an index, shareable by every node of one process: the simulator runs
 * 10,000 nodes, and a private copy of the list per node would cost N² memory.
 */
export class MemberDirectory {
  readonly members: readonly PeerId[];
  private readonly indexOf: ReadonlyMap<PeerId, number>;

  constructor(members: readonly PeerId[]) {
    const index = new Map<PeerId, number>();
    members.forEach((m, i) => {
      if (typeof m !== "string" || m.length === 0) throw configError("members: non-empty strings");
      index.set(m, i);
    });
    if (index.size === 0 || index.size !== members.length)
      throw configError("members: a non-empty list without duplicates");
    this.members = members;
    this.indexOf = index;
  }

  index(peer: PeerId): number | undefined {
    return this.indexOf.get(peer);
  }

  /** Ω for one node of the directory: uniform over every member but `self`. */
  oracleFor(self: PeerId, random: RandomSource): SamplingOracle {
    const selfIndex = this.indexOf.get(self);
    if (selfIndex === undefined) throw configError("self: must be one of members");
    return new DirectoryOracle(this, selfIndex, random);
  }
}

class DirectoryOracle implements SamplingOracle {
  readonly size: number;
  private readonly directory: MemberDirectory;
  private readonly selfIndex: number;
  private readonly random: RandomSource;

  constructor(directory: MemberDirectory, selfIndex: number, random: RandomSource) {
    this.directory = directory;
    this.selfIndex = selfIndex;
    this.random = random;
    this.size = directory.members.length - 1;
  }

  sample(count: number): PeerId[] {
    checkCount(count);
    if (this.size === 0) return [];
    return Array.from({ length: count }, () => this.peerAt(randomIndex(this.random, this.size)));
  }

  distinct(count: number): PeerId[] {
    checkCount(count);
    const take = Math.min(count, this.size);
    if (take * 4 <= this.size)
      return [...floydSample(this.size, take, (bound) => randomIndex(this.random, bound))].map((i) =>
        this.peerAt(i),
      );
    // Over the other members' positions: a shuffle of all of them costs O(size), worth it for a large take.
    const pool = Array.from({ length: this.size }, (_, i) => i);
    return drawDistinct(pool, take, this.random).map((i) => this.peerAt(i));
  }

  isMember(peer: PeerId): boolean {
    return this.directory.index(peer) !== undefined;
  }

  /** Position among the other members → member (skipping self). */
  private peerAt(position: number): PeerId {
    return this.directory.members[position >= this.selfIndex ? position + 1 : position]!;
  }
}

/**
 * `take` distinct positions of [0, size), every subset equally likely (Floyd's algorithm): O(take), where a
 * shuffle of all positions costs O(size) — per node, O(N²) for a 10,000-node simulation.
 */
function floydSample(size: number, take: number, draw: (bound: number) => number): Set<number> {
  const chosen = new Set<number>();
  for (let j = size - take; j < size; j++) {
    const t = draw(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return chosen;
}

function checkCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) throw configError("sample size: a non-negative integer");
}

function configError(message: string): TallyError {
  return new TallyError(ErrorCode.InvalidConfig, `sampling: ${message}`);
}
