import type { PeerId } from "../../core/peerId.ts";
import type { Digest } from "../types.ts";

/**
 * The ECHOs of one instance from this node's echo sample (Algorithm 8, lines 39–47): each sampled peer's
 * first digest, weighted by how many times the peer was drawn. A node echo-delivers — becomes ready, in the
 * layer above — once the digest it echoed weighs Ê.
 *
 * Votes are kept per peer so a sample change can re-weigh them: a replaced peer's vote stops counting, and a
 * peer drawn fewer times counts less; one drawn more times keeps its weight (`reweigh`).
 */
export class EchoTally {
  private readonly digestOfPeer = new Map<PeerId, Digest>();
  /** The weight each vote counts for now: its multiplicity when it came, lowered (never raised) since. */
  private readonly countedOf = new Map<PeerId, number>();
  /** Boxed, so counting a vote is one lookup and an increment. */
  private readonly weights = new Map<Digest, { value: number }>();

  /** The digest's new weight, or undefined if the peer already echoed in this instance (whatever the digest). */
  add(peer: PeerId, digest: Digest, multiplicity: number): number | undefined {
    if (this.digestOfPeer.has(peer)) return undefined;
    this.digestOfPeer.set(peer, digest);
    this.countedOf.set(peer, multiplicity);
    const weight = this.weightOf(digest);
    weight.value += multiplicity;
    return weight.value;
  }

  weight(digest: Digest): number {
    return this.weights.get(digest)?.value ?? 0;
  }

  private weightOf(digest: Digest): { value: number } {
    let weight = this.weights.get(digest);
    if (weight === undefined) {
      weight = { value: 0 };
      this.weights.set(digest, weight);
    }
    return weight;
  }

  votersFor(digest: Digest): PeerId[] {
    const voters: PeerId[] = [];
    for (const [peer, voted] of this.digestOfPeer) if (voted === digest) voters.push(peer);
    return voters;
  }

  /**
   * The peer's multiplicity in the echo sample is now `now`. A vote only ever loses weight this way (at 0 it
   * is forgotten): raising it would re-test the threshold on a fresh sample with no new vote, and a node that
   * re-tests at every sample change eventually sees a quorum that no single sample gives.
   */
  reweigh(peer: PeerId, now: number): void {
    const counted = this.countedOf.get(peer);
    if (counted === undefined || now >= counted) return;
    this.weightOf(this.digestOfPeer.get(peer)!).value -= counted - now;
    if (now === 0) {
      this.digestOfPeer.delete(peer);
      this.countedOf.delete(peer);
    } else this.countedOf.set(peer, now);
  }
}
