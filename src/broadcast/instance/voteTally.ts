import { InlineMap } from "../../core/inlineMap.ts";
import type { PeerId } from "../../core/peerId.ts";
import { SmallMap } from "../../core/smallMap.ts";
import type { Digest } from "../types.ts";

/**
 * The ECHO or READY votes of one instance. A peer counts once, for the first digest it voted: a Byzantine
 * peer that votes for several digests cannot inflate any count, and the maps hold at most one entry per peer.
 */
export class VoteTally {
  /** Few voters on a small network: kept in the `SmallMap`'s fields (smallMap.ts). */
  private readonly digestOfPeer = new SmallMap<PeerId, Digest>();
  /** One digest unless the source equivocated: inline (see `InlineMap`). */
  private readonly votesOfDigest = new InlineMap<Digest, number>();

  /** False if the peer had already voted in this instance (whatever the digest). */
  add(peer: PeerId, digest: Digest): boolean {
    if (this.digestOfPeer.has(peer)) return false;
    this.digestOfPeer.set(peer, digest);
    this.votesOfDigest.set(digest, (this.votesOfDigest.get(digest) ?? 0) + 1);
    return true;
  }

  /** Whether the peer voted in this instance (any digest): it has shown progress. */
  has(peer: PeerId): boolean {
    return this.digestOfPeer.has(peer);
  }

  count(digest: Digest): number {
    return this.votesOfDigest.get(digest) ?? 0;
  }

  /** A digest with at least `threshold` votes. Distinct digests number at most the voters, so this is cheap. */
  reaching(threshold: number): Digest | undefined {
    for (const [digest, votes] of this.votesOfDigest) if (votes >= threshold) return digest;
    return undefined;
  }

  votersFor(digest: Digest): PeerId[] {
    const voters: PeerId[] = [];
    this.digestOfPeer.forEach((voted, peer) => {
      if (voted === digest) voters.push(peer);
    });
    return voters;
  }
}
