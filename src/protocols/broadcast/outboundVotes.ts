import { MAX_VOTES_PER_BATCH, type VoteBatch } from "../../broadcast/messageCodec.ts";
import type { VoteMessage } from "../../broadcast/types.ts";
import type { PeerId } from "../../core/peerId.ts";

/**
 * The votes a processing step sends, gathered per peer so that each peer gets them as a few vote batches
 * instead of one message per vote. The node adds votes as its core emits them and takes every batch at the
 * end of the step, so no vote waits for the next one; the size is bounded by what one step emits.
 */
export class OutboundVotes {
  private readonly pending = new Map<PeerId, VoteMessage[]>();

  add(to: PeerId, vote: VoteMessage): void {
    const votes = this.pending.get(to);
    if (votes === undefined) this.pending.set(to, [vote]);
    else votes.push(vote);
  }

  get peers(): number {
    return this.pending.size;
  }

  /** Every peer's votes in the order they were added, as batches of at most MAX_VOTES_PER_BATCH; nothing is left. */
  takeAll(): Array<[PeerId, VoteBatch[]]> {
    const all: Array<[PeerId, VoteBatch[]]> = [];
    for (const [to, votes] of this.pending) all.push([to, toBatches(votes)]);
    this.pending.clear();
    return all;
  }
}

function toBatches(votes: VoteMessage[]): VoteBatch[] {
  if (votes.length <= MAX_VOTES_PER_BATCH) return [{ kind: "votes", votes }];
  const batches: VoteBatch[] = [];
  for (let i = 0; i < votes.length; i += MAX_VOTES_PER_BATCH) {
    batches.push({ kind: "votes", votes: votes.slice(i, i + MAX_VOTES_PER_BATCH) });
  }
  return batches;
}
