import type { Digest, PeerId } from "./types.ts";

export type ReadyVoteResult = "added" | "duplicate" | "capped";

/**
 * The READYs of one instance from this node's ready sample R and delivery sample D (Algorithm 9, lines
 * 41–58). Unlike an ECHO, a correct peer may be ready for several digests of one instance (readiness spreads
 * by contagion, and an equivocating introducer can start more than one), so each of a peer's digests counts —
 * up to `maxDigestsPerPeer`, which bounds what a Byzantine peer can make this node store. Each READY weighs
 * the peer's multiplicity in R towards the contagion threshold R̂, and in D towards the delivery threshold D̂.
 */
export class ReadyTally {
  private readonly digestsOfPeer = new Map<PeerId, Digest[]>();
  private readonly readyWeights = new Map<Digest, number>();
  private readonly deliveryWeights = new Map<Digest, number>();

  add(
    peer: PeerId,
    digest: Digest,
    readyMultiplicity: number,
    deliveryMultiplicity: number,
    maxDigestsPerPeer: number,
  ): ReadyVoteResult {
    let digests = this.digestsOfPeer.get(peer);
    if (digests?.includes(digest)) return "duplicate";
    if (digests !== undefined && digests.length >= maxDigestsPerPeer) return "capped";
    if (digests === undefined) {
      digests = [];
      this.digestsOfPeer.set(peer, digests);
    }
    digests.push(digest);
    this.readyWeights.set(digest, this.readyWeight(digest) + readyMultiplicity);
    this.deliveryWeights.set(digest, this.deliveryWeight(digest) + deliveryMultiplicity);
    return "added";
  }

  readyWeight(digest: Digest): number {
    return this.readyWeights.get(digest) ?? 0;
  }

  deliveryWeight(digest: Digest): number {
    return this.deliveryWeights.get(digest) ?? 0;
  }

  /** Every digest some sampled peer is ready for (few: at most the voters × their cap). */
  digests(): IterableIterator<Digest> {
    return this.readyWeights.keys();
  }

  votersFor(digest: Digest): PeerId[] {
    const voters: PeerId[] = [];
    for (const [peer, digests] of this.digestsOfPeer) if (digests.includes(digest)) voters.push(peer);
    return voters;
  }

  /**
   * The peer's multiplicity in R and D changed by these deltas (a sample refresh); once it is in neither,
   * its votes are forgotten.
   */
  reweigh(peer: PeerId, readyDelta: number, deliveryDelta: number, stillSampled: boolean): void {
    const digests = this.digestsOfPeer.get(peer);
    if (digests === undefined) return;
    for (const digest of digests) {
      this.readyWeights.set(digest, this.readyWeight(digest) + readyDelta);
      this.deliveryWeights.set(digest, this.deliveryWeight(digest) + deliveryDelta);
    }
    if (!stillSampled) this.digestsOfPeer.delete(peer);
  }
}
