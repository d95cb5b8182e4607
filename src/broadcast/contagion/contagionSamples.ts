import type { PeerId } from "../../core/peerId.ts";
import type { RandomSource } from "../../core/random.ts";
import { randomIndex } from "../../sampling/randomDraw.ts";
import type { SamplingOracle } from "../../sampling/samplingOracle.ts";

/**
 * A sample drawn with replacement (Algorithm 7): a multiset of peers. A peer drawn k times weighs k in every
 * threshold (thesis §4.4.2: "its echo message accordingly counts multiple times"); on the wire it is one
 * subscription and one message per broadcast, whatever k.
 */
export class SampleMultiset {
  private readonly counts = new Map<PeerId, number>();
  private total = 0;

  constructor(draws: readonly PeerId[]) {
    for (const peer of draws) this.add(peer, 1);
  }

  /** Draws, counting repeats: the sample size the thresholds refer to. */
  get draws(): number {
    return this.total;
  }

  get distinct(): number {
    return this.counts.size;
  }

  multiplicity(peer: PeerId): number {
    return this.counts.get(peer) ?? 0;
  }

  peers(): IterableIterator<PeerId> {
    return this.counts.keys();
  }

  /**
   * Drops every copy of `peer` and adds `replacements` (fresh draws, one per dropped copy). Returns the
   * peers whose multiplicity changed, with their old and new multiplicities.
   */
  replace(peer: PeerId, replacements: readonly PeerId[]): MultiplicityChange[] {
    const before = new Map<PeerId, number>([[peer, this.multiplicity(peer)]]);
    for (const added of replacements) if (!before.has(added)) before.set(added, this.multiplicity(added));
    this.add(peer, -this.multiplicity(peer));
    for (const added of replacements) this.add(added, 1);
    const changes: MultiplicityChange[] = [];
    for (const [changed, was] of before) {
      const now = this.multiplicity(changed);
      if (now !== was) changes.push({ peer: changed, was, now });
    }
    return changes;
  }

  /**
   * Replaces `fresh.length` of the draws, each picked uniformly among all draws (so a peer drawn k times is
   * picked in proportion to k), by `fresh`. The result is again independent uniform draws: what the
   * thresholds' bounds assume. Returns the peers whose multiplicity changed.
   */
  refreshDraws(fresh: readonly PeerId[], random: RandomSource): MultiplicityChange[] {
    const before = new Map<PeerId, number>();
    const note = (peer: PeerId) => {
      if (!before.has(peer)) before.set(peer, this.multiplicity(peer));
    };
    for (let i = 0; i < fresh.length && this.total > 0; i++) {
      let pick = randomIndex(random, this.total);
      for (const [peer, count] of this.counts) {
        if (pick < count) {
          note(peer);
          this.add(peer, -1);
          break;
        }
        pick -= count;
      }
    }
    for (const peer of fresh) {
      note(peer);
      this.add(peer, 1);
    }
    const changes: MultiplicityChange[] = [];
    for (const [changed, was] of before) {
      const now = this.multiplicity(changed);
      if (now !== was) changes.push({ peer: changed, was, now });
    }
    return changes;
  }

  /** Replaces the whole sample by `draws` (a fresh sample); returns the peers whose multiplicity changed. */
  redraw(draws: readonly PeerId[]): MultiplicityChange[] {
    const before = new Map(this.counts);
    for (const peer of draws) if (!before.has(peer)) before.set(peer, 0);
    this.counts.clear();
    this.total = 0;
    for (const peer of draws) this.add(peer, 1);
    const changes: MultiplicityChange[] = [];
    for (const [changed, was] of before) {
      const now = this.multiplicity(changed);
      if (now !== was) changes.push({ peer: changed, was, now });
    }
    return changes;
  }

  private add(peer: PeerId, delta: number): void {
    const next = this.multiplicity(peer) + delta;
    if (next > 0) this.counts.set(peer, next);
    else this.counts.delete(peer);
    this.total += delta;
  }
}

export interface MultiplicityChange {
  readonly peer: PeerId;
  readonly was: number;
  readonly now: number;
}

/** What replacing one peer changed in the echo, ready and delivery samples. */
export interface SampleReplacement {
  readonly echo: readonly MultiplicityChange[];
  readonly ready: readonly MultiplicityChange[];
  readonly delivery: readonly MultiplicityChange[];
}

/**
 * This node's echo sample E, ready sample R and delivery sample D (Algorithms 8 and 9), drawn once and reused
 * by every instance — the multi-shot use of the single-shot algorithms. R and D share one subscription
 * (ReadySubscribe), so "sampled for the ready layer" means drawn into either.
 */
export class ContagionSamples {
  readonly echo: SampleMultiset;
  readonly ready: SampleMultiset;
  readonly delivery: SampleMultiset;
  private readyUnion: PeerId[] | undefined;
  /**
   * A peer's multiplicities in E, R and D packed in one number (see `NARROW`), so counting a vote — the
   * bulk of all traffic — costs one lookup, which also tells whether the peer was sampled at all.
   */
  readonly weightsOf: ReadonlyMap<PeerId, number> = new Map<PeerId, number>();
  /** The packing base: 2^10, so a packed value is a small integer (unboxed), or 2^16 for huge samples. */
  readonly base: number;

  private readonly sizes: { readonly E: number; readonly R: number; readonly D: number };

  constructor(oracle: SamplingOracle, sizes: { readonly E: number; readonly R: number; readonly D: number }) {
    this.sizes = sizes;
    if (sizes.E >= WIDE || sizes.R >= WIDE || sizes.D >= WIDE)
      throw new RangeError(`samples must stay below ${WIDE}`);
    // No multiplicity exceeds its sample's size: samples under 1,024 draws pack into a small integer.
    this.base = Math.max(sizes.E, sizes.R, sizes.D) < NARROW ? NARROW : WIDE;
    this.echo = new SampleMultiset(oracle.sample(sizes.E));
    this.ready = new SampleMultiset(oracle.sample(sizes.R));
    this.delivery = new SampleMultiset(oracle.sample(sizes.D));
    for (const sample of [this.echo, this.ready, this.delivery])
      for (const peer of sample.peers()) this.repack(peer);
  }

  /** The peer's packed multiplicities (0: in no sample); split with `echoMultiplicityOf` etc. `weightsOf` is the
   * same as a map, which callers on the hot path may hold directly. */
  weights(peer: PeerId): number {
    return this.weightsOf.get(peer) ?? 0;
  }

  private repack(peer: PeerId): void {
    const base = this.base;
    const packed =
      (this.echo.multiplicity(peer) * base + this.ready.multiplicity(peer)) * base +
      this.delivery.multiplicity(peer);
    const weightsOf = this.weightsOf as Map<PeerId, number>;
    if (packed === 0) weightsOf.delete(peer);
    else weightsOf.set(peer, packed);
  }

  /** Distinct peers to send EchoSubscribe / ReadySubscribe to. */
  echoPeers(): PeerId[] {
    return [...this.echo.peers()];
  }

  readyPeers(): PeerId[] {
    this.readyUnion ??= [...new Set([...this.ready.peers(), ...this.delivery.peers()])];
    return [...this.readyUnion];
  }

  inEcho(peer: PeerId): boolean {
    return echoMultiplicityOf(this.weights(peer), this.base) > 0;
  }

  inReady(peer: PeerId): boolean {
    return this.weights(peer) % (this.base * this.base) > 0;
  }

  /**
   * The scheduled refresh: redraws `share` of each sample's draws (at least one), picked uniformly among its
   * draws, from the oracle's whole population.
   */
  refresh(share: number, oracle: SamplingOracle, random: RandomSource): SampleReplacement {
    const redraw = (sample: SampleMultiset, size: number) =>
      sample.refreshDraws(oracle.sample(Math.max(1, Math.ceil(size * share))), random);
    this.readyUnion = undefined;
    const replacement = {
      echo: redraw(this.echo, this.sizes.E),
      ready: redraw(this.ready, this.sizes.R),
      delivery: redraw(this.delivery, this.sizes.D),
    };
    for (const change of [...replacement.echo, ...replacement.ready, ...replacement.delivery])
      this.repack(change.peer);
    return replacement;
  }

  /** Draws all three samples afresh (the oracle's population grew: see `SampledLayers.redrawIfGrown`). */
  redrawAll(oracle: SamplingOracle): SampleReplacement {
    this.readyUnion = undefined;
    const replacement = {
      echo: this.echo.redraw(oracle.sample(this.sizes.E)),
      ready: this.ready.redraw(oracle.sample(this.sizes.R)),
      delivery: this.delivery.redraw(oracle.sample(this.sizes.D)),
    };
    for (const change of [...replacement.echo, ...replacement.ready, ...replacement.delivery])
      this.repack(change.peer);
    return replacement;
  }

  /**
   * Replaces every copy of a departed `peer` with fresh uniform draws from the others (so a peer that went
   * down is not drawn straight back).
   */
  replace(peer: PeerId, oracle: SamplingOracle): SampleReplacement {
    const redraw = (sample: SampleMultiset) =>
      sample.replace(peer, drawExcluding(oracle, sample.multiplicity(peer), peer));
    this.readyUnion = undefined;
    const replacement = {
      echo: redraw(this.echo),
      ready: redraw(this.ready),
      delivery: redraw(this.delivery),
    };
    for (const change of [...replacement.echo, ...replacement.ready, ...replacement.delivery])
      this.repack(change.peer);
    return replacement;
  }
}

/**
 * Packing bases: three multiplicities in one number, (E·b + R)·b + D. With b = 2^10 the value stays below
 * 2^30, a small integer V8 keeps unboxed in a map (a boxed number is one more cache miss per vote).
 */
const NARROW = 1_024;
const WIDE = 65_536;

/** Splits `ContagionSamples.weights` (packed with `base`) into the multiplicity in E, in R and in D. */
export function echoMultiplicityOf(packed: number, base: number): number {
  return Math.floor(packed / (base * base));
}
export function readyMultiplicityOf(packed: number, base: number): number {
  return Math.floor(packed / base) % base;
}
export function deliveryMultiplicityOf(packed: number, base: number): number {
  return packed % base;
}

/**
 * `count` uniform draws from the oracle, rejecting `excluded`. If the excluded peer is the only one, no
 * replacement exists and the sample shrinks (a two-member network whose other member left).
 */
export function drawExcluding(oracle: SamplingOracle, count: number, excluded: PeerId): PeerId[] {
  const draws: PeerId[] = [];
  if (oracle.size <= 1) return draws;
  // Each attempt succeeds with probability ≥ 1/2, so 64 attempts per draw fail with probability 2^-64.
  for (let attempts = 0; draws.length < count && attempts < 64 * count; attempts++) {
    const [peer] = oracle.sample(1);
    if (peer !== undefined && peer !== excluded) draws.push(peer);
  }
  return draws;
}
