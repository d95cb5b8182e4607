import {
  MAX_VOTES_PER_BATCH,
  VOTE_BYTES,
  type VoteBatch,
  writeVoteAt,
} from "../../broadcast/messageCodec.ts";
import type { VoteMessage } from "../../broadcast/types.ts";
import type { PeerId } from "../../core/peerId.ts";

interface PeerVotes {
  readonly votes: VoteMessage[];
  /** Where each vote's wire form starts in the step's slab. */
  readonly offsets: number[];
}

/**
 * Room for this many votes in a step's first slab; it doubles when full. 32 votes (2,368 bytes) come from
 * Node's shared buffer pool, so a quiet step's one or two votes cost no allocation of their own.
 */
const FIRST_SLAB_VOTES = 32;

/**
 * The votes a processing step sends, gathered per peer so that each peer gets them as a few vote batches
 * instead of one message per vote. The node adds votes as its core emits them and takes every batch at the
 * end of the step, so no vote waits for the next one; the size is bounded by what one step emits. A vote the
 * core sends to several peers is added once per peer in a row: it is encoded once, into one buffer that holds
 * the step's votes (a `Buffer` per vote was an object each, alive until the step's end, after its fsync).
 */
export class OutboundVotes {
  private readonly pending = new Map<PeerId, PeerVotes>();
  private slab: Buffer | undefined;
  private used = 0;
  private lastVote: VoteMessage | undefined;
  private lastOffset = 0;

  add(to: PeerId, vote: VoteMessage): void {
    if (vote !== this.lastVote) {
      this.lastVote = vote;
      this.lastOffset = this.encode(vote);
    }
    const peer = this.pending.get(to);
    if (peer === undefined) this.pending.set(to, { votes: [vote], offsets: [this.lastOffset] });
    else {
      peer.votes.push(vote);
      peer.offsets.push(this.lastOffset);
    }
  }

  get peers(): number {
    return this.pending.size;
  }

  /** Every peer's votes in the order they were added, as batches of at most MAX_VOTES_PER_BATCH; nothing is left. */
  takeAll(): Array<[PeerId, VoteBatch[]]> {
    const all: Array<[PeerId, VoteBatch[]]> = [];
    const slab = this.slab;
    if (slab !== undefined) for (const [to, peer] of this.pending) all.push([to, toBatches(peer, slab)]);
    this.pending.clear();
    // A new slab next step: the batches taken here keep this one.
    this.slab = undefined;
    this.used = 0;
    this.lastVote = undefined;
    return all;
  }

  /** The vote's wire form appended to the step's slab (grown by copying, so earlier offsets stay valid). */
  private encode(vote: VoteMessage): number {
    let slab = this.slab;
    if (slab === undefined || this.used + VOTE_BYTES > slab.length) {
      const grown = Buffer.allocUnsafe(Math.max(FIRST_SLAB_VOTES * VOTE_BYTES, 2 * (slab?.length ?? 0)));
      slab?.copy(grown, 0, 0, this.used);
      this.slab = slab = grown;
    }
    const offset = this.used;
    writeVoteAt(slab, offset, vote);
    this.used += VOTE_BYTES;
    return offset;
  }
}

function toBatches({ votes, offsets }: PeerVotes, slab: Buffer): VoteBatch[] {
  if (votes.length <= MAX_VOTES_PER_BATCH) return [{ kind: "votes", votes, encoded: { slab, offsets } }];
  const batches: VoteBatch[] = [];
  for (let i = 0; i < votes.length; i += MAX_VOTES_PER_BATCH) {
    const end = i + MAX_VOTES_PER_BATCH;
    batches.push({
      kind: "votes",
      votes: votes.slice(i, end),
      encoded: { slab, offsets: offsets.slice(i, end) },
    });
  }
  return batches;
}
