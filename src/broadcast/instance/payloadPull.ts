import type { PeerId } from "../../core/peerId.ts";
import type { RandomSource } from "../../core/random.ts";
import { randomIndex } from "../../sampling/randomDraw.ts";
import type { Digest } from "../types.ts";

/**
 * Fetching a payload this node must deliver (or, in the contagion mode, is ready for) but never received:
 * possible when the introducer equivocated or sent the payload to only some members. One peer is asked at a
 * time; when it stays silent past the deadline the driver's `tick` moves on to another. Peers are picked at
 * random among those that voted for the digest, so a Byzantine voter costs at most one retry period each
 * and correct pullers do not all hammer the same peer.
 */
export class PayloadPull {
  readonly digest: Digest;
  /** Peers asked in the current round; cleared once every candidate was tried, so retries never stop. */
  private readonly asked = new Set<PeerId>();
  private lastAsked: PeerId | undefined;
  deadlineMs = 0;
  requestsSent = 0;

  constructor(digest: Digest) {
    this.digest = digest;
  }

  /** The next peer to ask among `candidates` (voters for the digest, excluding this node), if any. */
  nextPeer(candidates: readonly PeerId[], random: RandomSource): PeerId | undefined {
    let fresh = candidates.filter((peer) => !this.asked.has(peer));
    if (fresh.length === 0) {
      this.asked.clear();
      // A new round: avoid asking the peer that just failed to answer again, unless it is the only one.
      fresh = candidates.length > 1 ? candidates.filter((peer) => peer !== this.lastAsked) : [...candidates];
    }
    if (fresh.length === 0) return undefined;
    const peer = fresh[randomIndex(random, fresh.length)]!;
    this.asked.add(peer);
    this.lastAsked = peer;
    this.requestsSent++;
    return peer;
  }
}
