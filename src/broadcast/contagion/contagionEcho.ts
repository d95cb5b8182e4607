import type { PeerId } from "../../core/peerId.ts";
import { SmallMap } from "../../core/smallMap.ts";
import type { Digest } from "../types.ts";

/**
 * The ECHOs of one instance from this node's echo sample (Algorithm 8, lines 39–47): each sampled peer's
 * first digest, weighted by how many times the peer was drawn. A node echo-delivers — becomes ready, in the
 * layer above — once the digest it echoed weighs Ê.
 *
 * Votes are kept per peer so a sample refresh can re-weigh them: a replaced peer's vote stops counting, and a
 * peer drawn once more counts once more (`reweigh`).
 */
export class EchoTally {
  /** Few voters on a small network: a `SmallMap` keeps them in its fields (smallMap.ts). */
  private readonly digestOfPeer = new SmallMap<PeerId, Digest>();
  /**
   * Each digest's weight: the first digest's in fields, others (only an equivocating source makes any) in a
   * map. An instance lives as long as its transfer is in flight, so a table object and a box per tally were
   * two more objects for every scavenge to copy.
   */
  private firstDigest: Digest | undefined;
  private firstWeight = 0;
  private otherWeights: Map<Digest, number> | undefined;

  /** The digest's new weight, or undefined if the peer already echoed in this instance (whatever the digest). */
  add(peer: PeerId, digest: Digest, multiplicity: number): number | undefined {
    if (this.digestOfPeer.has(peer)) return undefined;
    this.digestOfPeer.set(peer, digest);
    return this.addWeight(digest, multiplicity);
  }

  weight(digest: Digest): number {
    return digest === this.firstDigest ? this.firstWeight : (this.otherWeights?.get(digest) ?? 0);
  }

  private addWeight(digest: Digest, delta: number): number {
    if (this.firstDigest === undefined || this.firstDigest === digest) {
      this.firstDigest = digest;
      this.firstWeight += delta;
      return this.firstWeight;
    }
    this.otherWeights ??= new Map();
    const weight = (this.otherWeights.get(digest) ?? 0) + delta;
    this.otherWeights.set(digest, weight);
    return weight;
  }

  votersFor(digest: Digest): PeerId[] {
    const voters: PeerId[] = [];
    this.digestOfPeer.forEach((voted, peer) => {
      if (voted === digest) voters.push(peer);
    });
    return voters;
  }

  /** The peer's multiplicity in the echo sample went from `was` to `now`; at 0 its vote is forgotten. */
  reweigh(peer: PeerId, was: number, now: number): void {
    const digest = this.digestOfPeer.get(peer);
    if (digest === undefined) return;
    this.addWeight(digest, now - was);
    if (now === 0) this.digestOfPeer.delete(peer);
  }
}
