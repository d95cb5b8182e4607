import { encodeVote, MAX_VOTES_PER_BATCH, type VoteBatch } from "../../broadcast/messageCodec.ts";
import type { VoteMessage } from "../../broadcast/types.ts";
import type { PeerId } from "../../core/peerId.ts";

interface PeerVotes {
  readonly votes: VoteMessage[];
  readonly encoded: Uint8Array[];
}

/**
 * The votes a processing step sends, gathered per peer so that each peer gets them as a few vote batches
 * instead of one message per vote. The node adds votes as its core emits them and takes every batch at the
 * end of the step, so no vote waits for the next one; the size is bounded by what one step emits. A vote the
 * core sends to several peers is added once per peer in a row: it is encoded once, and its bytes shared.
 */
export class OutboundVotes {
  private readonly pending = new Map<PeerId, PeerVotes>();
  private lastVote: VoteMessage | undefined;
  private lastEncoded: Uint8Array | undefined;

  add(to: PeerId, vote: VoteMessage): void {
    if (vote !== this.lastVote) {
      this.lastVote = vote;
      this.lastEncoded = encodeVote(vote);
    }
    const peer = this.pending.get(to);
    if (peer === undefined) this.pending.set(to, { votes: [vote], encoded: [this.lastEncoded!] });
    else {
      peer.votes.push(vote);
      peer.encoded.push(this.lastEncoded!);
    }
  }

  get peers(): number {
    return this.pending.size;
  }

  /** Every peer's votes in the order they were added, as batches of at most MAX_VOTES_PER_BATCH; nothing is left. */
  takeAll(): Array<[PeerId, VoteBatch[]]> {
    const all: Array<[PeerId, VoteBatch[]]> = [];
    for (const [to, peer] of this.pending) all.push([to, toBatches(peer)]);
    this.pending.clear();
    this.lastVote = undefined;
    this.lastEncoded = undefined;
    return all;
  }
}

function toBatches({ votes, encoded }: PeerVotes): VoteBatch[] {
  if (votes.length <= MAX_VOTES_PER_BATCH) return [{ kind: "votes", votes, encoded }];
  const batches: VoteBatch[] = [];
  for (let i = 0; i < votes.length; i += MAX_VOTES_PER_BATCH) {
    const end = i + MAX_VOTES_PER_BATCH;
    batches.push({ kind: "votes", votes: votes.slice(i, end), encoded: encoded.slice(i, end) });
  }
  return batches;
}
