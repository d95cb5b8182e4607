import { Fifo } from "../../channels/fifo.ts";
import { AccountInbox } from "../../kshared/accountInbox.ts";
import type { CommitteeEvent } from "../../kshared/committeeTypes.ts";

/** Events one committee step takes: its records then go to LevelDB in one fsynced batch. */
export const COMMITTEE_STEP_EVENTS = 512;

/**
 * Peer committee events one hosted account may have waiting (they wait only while a step's write is in
 * flight). 512 is one step's worth: a round of a 32-owner committee brings about five messages from each
 * of its 31 co-owners, and a timeout up to 8 re-sent requests more from each, so an honest account stays
 * well under it; beyond it, only the flooded account loses messages, and the committee re-sends its votes
 * and certificates on every timeout. 32 hosted accounts × 512 = 16,384 events node-wide at most.
 */
export const MAX_QUEUED_PEER_EVENTS_PER_ACCOUNT = 512;

/**
 * Bytes of committee payload one hosted account may have waiting. A committee message is up to 80 KiB, so
 * the count alone would let 512 junk requests hold 40 MiB per account; 4 MiB caps the node-wide worst case
 * at 32 × 4 MiB = 128 MiB (votes are ~200 bytes: the count binds first for honest traffic).
 */
export const MAX_QUEUED_PEER_BYTES_PER_ACCOUNT = 4 * 1024 * 1024;

export interface QueuedCommitteeEvent<A> {
  readonly account: A;
  readonly event: CommitteeEvent;
}

interface PeerEvent<A> extends QueuedCommitteeEvent<A> {
  readonly bytes: number;
}

/**
 * What waits for the committee driver's next step: this node's own events (ticks, its owner's submissions:
 * a few per account, so they always queue) and peers' messages in an `AccountInbox` — bounded per hosted
 * account, served round-robin, drops counted against the account they were for, so a peer flooding one
 * account's committee costs the other accounts nothing. `A` is the driver's hosted account.
 */
export class CommitteeEventQueue<A> {
  private readonly keyOf: (account: A) => string;
  private readonly own = new Fifo<QueuedCommitteeEvent<A>>();
  private readonly peers: AccountInbox<string, PeerEvent<A>>;

  /** `keyOf`: the account's key in `droppedPeerEvents` (the driver uses its address). */
  constructor(
    keyOf: (account: A) => string,
    perAccount = MAX_QUEUED_PEER_EVENTS_PER_ACCOUNT,
    bytesPerAccount = MAX_QUEUED_PEER_BYTES_PER_ACCOUNT,
  ) {
    this.keyOf = keyOf;
    this.peers = new AccountInbox(perAccount, { perAccount: bytesPerAccount, sizeOf: (e) => e.bytes });
  }

  get size(): number {
    return this.own.size + this.peers.size;
  }

  pushOwn(account: A, event: CommitteeEvent): void {
    this.own.push({ account, event });
  }

  /** A peer's event of `bytes` wire bytes; false (and counted against `account`) when its share is full. */
  offerPeer(account: A, event: CommitteeEvent, bytes: number): boolean {
    return this.peers.offer(this.keyOf(account), { account, event, bytes });
  }

  /**
   * Up to `max` events for one step: the own events first, then peers' round-robin across accounts. Across
   * the two queues this is not arrival order, so an account's `nowMs` may step back by one write's latency;
   * the committee only compares it with its deadlines, and a few ms early or late is harmless there.
   */
  nextBatch(max = COMMITTEE_STEP_EVENTS): QueuedCommitteeEvent<A>[] {
    const batch: QueuedCommitteeEvent<A>[] = [];
    while (batch.length < max && this.own.size > 0) batch.push(this.own.shift()!);
    while (batch.length < max && this.peers.size > 0) {
      const { account, event } = this.peers.take()!.item;
      batch.push({ account, event });
    }
    return batch;
  }

  /** account key → peer events dropped because that account's share of the queue was full. */
  droppedPeerEvents(): ReadonlyMap<string, number> {
    return this.peers.dropped;
  }
}
