import type { Digest, PeerId } from "./types.ts";

/**
 * The ECHOs of one instance from this node's echo sample (Algorithm 8, lines 39–47): each sampled peer's
 * first digest, weighted by how many times the peer was drawn. A node echo-delivers — becomes ready, in the
 * layer above — once the digest it echoed weighs Ê.
 *
 * Votes are kept per peer so a sample refresh can re-weigh them: a replaced peer's vote stops counting, and a
 * peer drawn once more counts once more (`reweigh`).
 */
export class EchoTally {
  private readonly digestOfPeer = new Map<PeerId, Digest>();
  private readonly weights = new Map<Digest, number>();

  /** The digest's new weight, or undefined if the peer already echoed in this instance (whatever the digest). */
  add(peer: PeerId, digest: Digest, multiplicity: number): number | undefined {
    if (this.digestOfPeer.has(peer)) return undefined;
    this.digestOfPeer.set(peer, digest);
    const weight = (this.weights.get(digest) ?? 0) + multiplicity;
    this.weights.set(digest, weight);
    return weight;
  }

  weight(digest: Digest): number {
    return this.weights.get(digest) ?? 0;
  }

  votersFor(digest: Digest): PeerId[] {
    const voters: PeerId[] = [];
    for (const [peer, voted] of this.digestOfPeer) if (voted === digest) voters.push(peer);
    return voters;
  }

  /** The peer's multiplicity in the echo sample went from `was` to `now`; at 0 its vote is forgotten. */
  reweigh(peer: PeerId, was: number, now: number): void {
    const digest = this.digestOfPeer.get(peer);
    if (digest === undefined) return;
    this.weights.set(digest, this.weight(digest) + now - was);
    if (now === 0) this.digestOfPeer.delete(peer);
  }
}
