import { InlineMap } from "../../core/inlineMap.ts";
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
  /** Boxed, so counting a vote is one lookup and an increment; one digest unless the source equivocated. */
  private readonly weights = new InlineMap<Digest, { value: number }>();

  /** The digest's new weight, or undefined if the peer already echoed in this instance (whatever the digest). */
  add(peer: PeerId, digest: Digest, multiplicity: number): number | undefined {
    if (this.digestOfPeer.has(peer)) return undefined;
    this.digestOfPeer.set(peer, digest);
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
    this.digestOfPeer.forEach((voted, peer) => {
      if (voted === digest) voters.push(peer);
    });
    return voters;
  }

  /** The peer's multiplicity in the echo sample went from `was` to `now`; at 0 its vote is forgotten. */
  reweigh(peer: PeerId, was: number, now: number): void {
    const digest = this.digestOfPeer.get(peer);
    if (digest === undefined) return;
    this.weightOf(digest).value += now - was;
    if (now === 0) this.digestOfPeer.delete(peer);
  }
}
