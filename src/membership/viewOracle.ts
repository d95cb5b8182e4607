import { ErrorCode, TallyError } from "../core/errors.ts";
import type { PeerId } from "../core/peerId.ts";
import type { RandomSource } from "../core/random.ts";
import { drawDistinct, randomIndex } from "../sampling/randomDraw.ts";
import type { SamplingOracle } from "../sampling/samplingOracle.ts";

/** What a ViewOracle draws from: a sampler (its distinct view peers) or any function giving the current view. */
export type ViewSource = { peers(): readonly PeerId[] } | (() => readonly PeerId[]);

export interface ViewOracleOptions {
  readonly view: ViewSource;
  /** Whether a peer may take part at all (in an open network: it holds a valid node record). */
  readonly isMember: (peer: PeerId) => boolean;
  readonly random: RandomSource;
}

/**
 * Ω over a peer sampler's current view: `sample` draws uniformly with replacement from the view, `distinct`
 * without, and `size` is the view's current size. The contagion broadcast draws its samples from it once and
 * then keeps them up to date by replacing single peers (down, no longer members, or due for a refresh) and
 * redrawing them all when the view has grown by an eighth; docs/membership.md says how that bears on the
 * bounds.
 */
export class ViewOracle implements SamplingOracle {
  /** An empty view is an isolated node, never a one-member network. */
  readonly mayGrow = true;
  private readonly source: () => readonly PeerId[];
  private readonly member: (peer: PeerId) => boolean;
  private readonly random: RandomSource;

  constructor(options: ViewOracleOptions) {
    const view = options.view;
    this.source = typeof view === "function" ? view : () => view.peers();
    this.member = options.isMember;
    this.random = options.random;
  }

  get size(): number {
    return this.source().length;
  }

  sample(count: number): PeerId[] {
    checkCount(count);
    const peers = this.source();
    if (peers.length === 0) return [];
    return Array.from({ length: count }, () => peers[randomIndex(this.random, peers.length)]!);
  }

  distinct(count: number): PeerId[] {
    checkCount(count);
    return drawDistinct([...this.source()], count, this.random);
  }

  isMember(peer: PeerId): boolean {
    return this.member(peer);
  }
}

function checkCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0)
    throw new TallyError(ErrorCode.InvalidConfig, "view oracle: sample size must be a non-negative integer");
}
