import type { PeerId } from "../../core/peerId.ts";
import { SmallMap } from "../../core/smallMap.ts";
import type { Digest } from "../types.ts";

/** A digest's READY weight in R (towards R̂) and in D (towards D̂). */
export interface ReadyWeights {
  ready: number;
  delivery: number;
}

/** The digest's weights once the vote counts; why not otherwise. */
export type ReadyVoteResult = Readonly<ReadyWeights> | "duplicate" | "capped";

/**
 * The READYs of one instance from this node's ready sample R and delivery sample D (Algorithm 9, lines
 * 41–58). Unlike an ECHO, a correct peer may be ready for several digests of one instance (readiness spreads
 * by contagion, and an equivocating introducer can start more than one), so each of a peer's digests counts —
 * up to `maxDigestsPerPeer`, which bounds what a Byzantine peer can make this node store. Each READY weighs
 * the peer's multiplicity in R towards the contagion threshold R̂, and in D towards the delivery threshold D̂.
 */
export class ReadyTally {
  /** A peer's digests: one string in the common case (no array per voter), an array once it has several. */
  private readonly digestsOfPeer = new SmallMap<PeerId, Digest | Digest[]>();
  /**
   * One entry per digest for both samples, so counting a READY is one lookup: the first digest's in fields,
   * others (a second digest is rare: an equivocating introducer) in a map. An instance lives as long as its
   * transfer is in flight; a table object per tally was one more object for every scavenge to copy.
   */
  private firstDigest: Digest | undefined;
  private firstWeights: ReadyWeights | undefined;
  private otherWeights: Map<Digest, ReadyWeights> | undefined;

  add(
    peer: PeerId,
    digest: Digest,
    readyMultiplicity: number,
    deliveryMultiplicity: number,
    maxDigestsPerPeer: number,
  ): ReadyVoteResult {
    const digests = this.digestsOfPeer.get(peer);
    if (digests === undefined) {
      this.digestsOfPeer.set(peer, digest);
    } else {
      const list = typeof digests === "string" ? [digests] : digests;
      if (list.includes(digest)) return "duplicate";
      if (list.length >= maxDigestsPerPeer) return "capped";
      list.push(digest);
      if (list !== digests) this.digestsOfPeer.set(peer, list);
    }
    const weights = this.weightsOf(digest);
    weights.ready += readyMultiplicity;
    weights.delivery += deliveryMultiplicity;
    return weights;
  }

  /** Whether the peer is ready for some digest of this instance: it has shown progress. */
  has(peer: PeerId): boolean {
    return this.digestsOfPeer.has(peer);
  }

  readyWeight(digest: Digest): number {
    return this.find(digest)?.ready ?? 0;
  }

  deliveryWeight(digest: Digest): number {
    return this.find(digest)?.delivery ?? 0;
  }

  /** Every digest some sampled peer is ready for (few: at most the voters × their cap), first one first. */
  digests(): readonly Digest[] {
    if (this.firstDigest === undefined) return [];
    const digests = [this.firstDigest];
    if (this.otherWeights !== undefined) for (const digest of this.otherWeights.keys()) digests.push(digest);
    return digests;
  }

  private find(digest: Digest): ReadyWeights | undefined {
    return digest === this.firstDigest ? this.firstWeights : this.otherWeights?.get(digest);
  }

  private weightsOf(digest: Digest): ReadyWeights {
    const found = this.find(digest);
    if (found !== undefined) return found;
    const weights = { ready: 0, delivery: 0 };
    if (this.firstDigest === undefined) {
      this.firstDigest = digest;
      this.firstWeights = weights;
    } else {
      this.otherWeights ??= new Map();
      this.otherWeights.set(digest, weights);
    }
    return weights;
  }

  votersFor(digest: Digest): PeerId[] {
    const voters: PeerId[] = [];
    this.digestsOfPeer.forEach((digests, peer) => {
      if (digests === digest || (typeof digests !== "string" && digests.includes(digest))) voters.push(peer);
    });
    return voters;
  }

  /**
   * The peer's multiplicity in R and D changed by these deltas (a sample refresh); once it is in neither,
   * its votes are forgotten.
   */
  reweigh(peer: PeerId, readyDelta: number, deliveryDelta: number, stillSampled: boolean): void {
    const digests = this.digestsOfPeer.get(peer);
    if (digests === undefined) return;
    for (const digest of typeof digests === "string" ? [digests] : digests) {
      const weights = this.weightsOf(digest);
      weights.ready += readyDelta;
      weights.delivery += deliveryDelta;
    }
    if (!stillSampled) this.digestsOfPeer.delete(peer);
  }
}
