import { ErrorCode, TallyError } from "../core/errors.ts";
import type { PeerId } from "../core/peerId.ts";
import type { RandomSource } from "../core/random.ts";
import {
  BoundedCandidateDigests,
  type Candidate,
  type CandidateDigests,
  type RankedCandidate,
  rankWord,
} from "./rank.ts";

export type { Candidate } from "./rank.ts";

export interface BasaltOptions {
  readonly self: PeerId;
  /** v: slots in the view. */
  readonly viewSize: number;
  /** k: slots reset (and emitted as samples) per round, round-robin. */
  readonly resetsPerRound: number;
  /** Slot seeds; must be secret from peers (the node passes a crypto-backed source). */
  readonly random: RandomSource;
  /**
   * Where candidates get their digests (default: a private cache of 4·v entries). Digests are unkeyed, so a
   * simulator may share one cache across all its nodes.
   */
  readonly digests?: CandidateDigests;
  /** Rank by peer id only, ignoring addresses: for comparison runs, never in a node. Default false. */
  readonly flatRanks?: boolean;
  /**
   * Every identity this node knows from a trusted source — its record book of verified, paid-for records
   * (gossipsub floods every record to every node). When given, a slot refilled after a reset or a `remove`
   * takes the minimum-rank identity among all of these and the view, so the view no longer depends on which
   * peers happened to be offered since the last reset. Not capped like `offer` (the source is ours, and
   * bounded by the book); must hold live identities only. Iterated once per refill: k times per round.
   */
  readonly known?: () => Iterable<Candidate>;
  /**
   * Where `known` candidates get their digests, kept apart from the view's 4·v-entry cache so that a
   * 10,000-identity refill neither evicts the view's digests nor costs four SHA-256 per identity per round.
   * Default: a private table of KNOWN_DIGESTS entries (the record book's suggested bound). Candidates that
   * already are `RankedCandidate`s (the simulator's) skip it.
   */
  readonly knownDigests?: CandidateDigests;
}

/** Default size of the `known` digest table: the record book's suggested bound (docs/membership.md, Bounds). */
export const KNOWN_DIGESTS = 10_000;

export interface BasaltRound {
  /** The peer to push our view to and pull its view from (the I/O layer does both); none if the view is empty. */
  readonly exchangeWith: PeerId | undefined;
  /** The previous occupants of the slots reset this round: the sampler's output stream. */
  readonly samples: PeerId[];
}

/** Longest peer id accepted (libp2p's are ~52 characters); longer ones are dropped as hostile. */
const MAX_PEER_ID_LENGTH = 128;
/** Ranks are uint32; -1 marks a level of a slot's occupant not yet ranked under the slot's seed. */
const UNRANKED = -1;

/**
 * Basalt (Auvolat, Bouget, Raynal, Taïani, Middleware 2023), a sans-I/O peer sampler for an open network:
 * v slots, each with a secret seed, keeping the candidate of minimum rank under that seed among all it was
 * offered since its last reset. Ranks are hierarchical — (/16, /24, address, peer id) compared in that order
 * (rankAddress.ts) — so identities packed on a few prefixes compete for the slots one prefix would get.
 * Flooding is useless: re-offering an identity cannot lower its rank. Memory is v slots plus the bounded
 * digest cache (and, with `known`, a digest table bounded like the record book); nothing grows with the
 * network. Never holds `self`.
 */
export class BasaltSampler {
  private readonly self: PeerId;
  private readonly size: number;
  private readonly resets: number;
  private readonly random: RandomSource;
  private readonly digests: CandidateDigests;
  private readonly flat: boolean;
  private readonly known: (() => Iterable<Candidate>) | undefined;
  private knownDigests: CandidateDigests | undefined;
  private readonly seeds: Uint32Array;
  private readonly slots: (RankedCandidate | undefined)[];
  private readonly hits: Float64Array;
  /** Per slot, the occupant's rank at each of the 4 levels under the slot's seed (UNRANKED until needed). */
  private readonly occupantRanks: Float64Array;
  /** Next slot to reset. */
  private cursor = 0;
  /**
   * The distinct occupants (and their ids) in slot order, built on first use after a slot changed: the
   * broadcast's oracle asks for the view's size and draws from it on every sample, far more often than a
   * slot changes. Dropped (never mutated) by `occupy` and `empty`, so a caller iterating an old copy is safe.
   */
  private viewCache: readonly Candidate[] | undefined;
  private peersCache: readonly PeerId[] | undefined;
  /** Candidates dropped from offers: invalid ids, self, entries past v + 1 in one offer. */
  dropped = 0;

  constructor(options: BasaltOptions) {
    const { viewSize, resetsPerRound } = options;
    if (!Number.isSafeInteger(viewSize) || viewSize < 1 || viewSize > 10_000)
      throw configError("viewSize: an integer in [1, 10000]");
    if (!Number.isSafeInteger(resetsPerRound) || resetsPerRound < 0 || resetsPerRound > viewSize)
      throw configError("resetsPerRound: an integer in [0, viewSize]");
    this.self = options.self;
    this.size = viewSize;
    this.resets = resetsPerRound;
    this.random = options.random;
    this.digests = options.digests ?? new BoundedCandidateDigests(4 * viewSize);
    this.flat = options.flatRanks === true;
    this.known = options.known;
    this.knownDigests = options.knownDigests;
    this.seeds = new Uint32Array(2 * viewSize);
    this.slots = new Array(viewSize).fill(undefined);
    this.hits = new Float64Array(viewSize);
    this.occupantRanks = new Float64Array(4 * viewSize).fill(UNRANKED);
    for (let i = 0; i < viewSize; i++) this.reseed(i);
  }

  /**
   * updateSample: every slot takes any offered candidate that outranks its occupant; an offered occupant
   * counts a hit. One offer is one peer's view and the peer itself: distinct entries past v + 1 are dropped,
   * and an identity repeated within one offer counts once, so one offer costs at most (v + 1)·v ranks.
   */
  offer(candidates: readonly Candidate[]): void {
    const seen = new Set<PeerId>();
    for (const candidate of candidates) {
      if (seen.size > this.size) {
        this.dropped++;
        continue;
      }
      const id = candidate?.peerId;
      if (typeof id !== "string" || id.length === 0 || id.length > MAX_PEER_ID_LENGTH || id === this.self) {
        this.dropped++;
        continue;
      }
      if (seen.has(id)) continue;
      seen.add(id);
      const ranked = this.digests.ranked(candidate);
      for (let i = 0; i < this.size; i++) this.consider(i, ranked);
    }
  }

  /**
   * Empties every slot holding `peer` (dead, or its record expired) and refills them from the rest of the
   * view and from `known` — never with `peer` itself, even if `known` still lists it.
   */
  remove(peer: PeerId): void {
    const emptied: number[] = [];
    for (let i = 0; i < this.size; i++) {
      if (this.slots[i]?.peerId === peer) {
        this.empty(i);
        emptied.push(i);
      }
    }
    if (emptied.length > 0) this.refill(emptied, peer);
  }

  /**
   * One round: the exchange peer (the occupant with the fewest hits, ties to the lowest slot; its hit count
   * goes up so the next rounds turn to others), and k slots reset round-robin — each emits its occupant as a
   * sample, takes a fresh seed, and is refilled from the peers still in the view and from `known`.
   */
  round(): BasaltRound {
    let chosen = -1;
    for (let i = 0; i < this.size; i++) {
      if (this.slots[i] !== undefined && (chosen < 0 || this.hits[i]! < this.hits[chosen]!)) chosen = i;
    }
    const exchangeWith = chosen < 0 ? undefined : this.slots[chosen]!.peerId;
    if (chosen >= 0) this.hits[chosen]! += 1;
    const samples: PeerId[] = [];
    const reset: number[] = [];
    for (let r = 0; r < this.resets; r++) {
      const i = this.cursor;
      this.cursor = (this.cursor + 1) % this.size;
      const occupant = this.slots[i];
      if (occupant !== undefined) samples.push(occupant.peerId);
      this.empty(i);
      this.reseed(i);
      reset.push(i);
    }
    if (reset.length > 0) this.refill(reset);
    return { exchangeWith, samples };
  }

  /** The distinct peers in the view, in slot order (never `self`); shared until the view changes. */
  view(): readonly Candidate[] {
    if (this.viewCache !== undefined) return this.viewCache;
    const seen = new Set<PeerId>();
    const out: Candidate[] = [];
    for (const occupant of this.slots) {
      if (occupant === undefined || seen.has(occupant.peerId)) continue;
      seen.add(occupant.peerId);
      out.push(occupant);
    }
    this.viewCache = out;
    return out;
  }

  /** The distinct peer ids in the view; shared until the view changes. */
  peers(): readonly PeerId[] {
    this.peersCache ??= this.view().map((c) => c.peerId);
    return this.peersCache;
  }

  has(peer: PeerId): boolean {
    return this.slots.some((occupant) => occupant?.peerId === peer);
  }

  /** Slots holding a peer (a peer may hold several). */
  get filled(): number {
    return this.slots.reduce((n, occupant) => n + (occupant === undefined ? 0 : 1), 0);
  }

  /** `countHit`: an offer that names the occupant again counts a hit; a refill seeing it twice does not. */
  private consider(i: number, candidate: RankedCandidate, countHit = true): void {
    const occupant = this.slots[i];
    if (occupant === undefined) {
      this.occupy(i, candidate);
      return;
    }
    if (occupant.peerId === candidate.peerId) {
      if (countHit) this.hits[i]! += 1;
      return;
    }
    if (this.outranks(i, candidate, occupant)) this.occupy(i, candidate);
  }

  /** rank(candidate) < rank(occupant) under slot i's seed, level by level. */
  private outranks(i: number, candidate: RankedCandidate, occupant: RankedCandidate): boolean {
    const key0 = this.seeds[2 * i]!;
    const key1 = this.seeds[2 * i + 1]!;
    const a = candidate.words;
    const b = occupant.words;
    for (let level = this.flat ? 3 : 0; level < 4; level++) {
      const hi = a[2 * level]!;
      const lo = a[2 * level + 1]!;
      // Same group at this level (same prefix): equal ranks, no need to hash.
      if (hi === b[2 * level] && lo === b[2 * level + 1]) continue;
      const mine = rankWord(key0, key1, hi, lo);
      let theirs = this.occupantRanks[4 * i + level]!;
      if (theirs === UNRANKED) {
        theirs = rankWord(key0, key1, b[2 * level]!, b[2 * level + 1]!);
        this.occupantRanks[4 * i + level] = theirs;
      }
      if (mine !== theirs) return mine < theirs;
    }
    // Every level tied: different ids whose 32-bit ranks collided. Fall back to the secret-free digest.
    for (let w = 6; w < 8; w++) if (a[w] !== b[w]) return a[w]! < b[w]!;
    return candidate.peerId < occupant.peerId;
  }

  private occupy(i: number, candidate: RankedCandidate): void {
    this.slots[i] = candidate;
    this.viewChanged();
    this.hits[i] = 0;
    this.occupantRanks.fill(UNRANKED, 4 * i, 4 * i + 4);
  }

  private empty(i: number): void {
    if (this.slots[i] !== undefined) this.viewChanged();
    this.slots[i] = undefined;
    this.hits[i] = 0;
    this.occupantRanks.fill(UNRANKED, 4 * i, 4 * i + 4);
  }

  private viewChanged(): void {
    this.viewCache = undefined;
    this.peersCache = undefined;
  }

  private reseed(i: number): void {
    this.seeds[2 * i] = Math.floor(this.random() * 2 ** 32);
    this.seeds[2 * i + 1] = Math.floor(this.random() * 2 ** 32);
  }

  /** updateSample restricted to `indices`, over the distinct peers still in the view and every `known` one. */
  private refill(indices: readonly number[], excluded?: PeerId): void {
    for (const candidate of this.view() as readonly RankedCandidate[]) {
      for (const i of indices) this.consider(i, candidate, false);
    }
    if (this.known === undefined) return;
    this.knownDigests ??= new BoundedCandidateDigests(KNOWN_DIGESTS);
    for (const candidate of this.known()) {
      const id = candidate?.peerId;
      if (typeof id !== "string" || id.length === 0 || id.length > MAX_PEER_ID_LENGTH) continue;
      if (id === this.self || id === excluded) continue;
      const ranked = this.knownDigests.ranked(candidate);
      for (const i of indices) this.consider(i, ranked, false);
    }
  }
}

function configError(message: string): TallyError {
  return new TallyError(ErrorCode.InvalidConfig, `basalt: ${message}`);
}
