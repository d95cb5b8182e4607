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

/**
 * Within an account, each co-owner's host may hold an even share of both bounds: ⌊512 / (k − 1)⌋ events and
 * ⌊4 MiB / (k − 1)⌋ bytes (k ≤ 32: at least 16 events, 132 KiB — more than an honest round and its re-sent
 * requests, and more than one 80 KiB message). Without it a byzantine co-owner could fill its account's FIFO
 * and crowd out the other owners' votes: the flood would cost its co-owners, not only its sender.
 */
function coOwnerShare(bound: number, coOwners: number): number {
  return Math.max(1, Math.floor(bound / Math.max(1, coOwners)));
}

export interface QueuedCommitteeEvent<A> {
  readonly account: A;
  readonly event: CommitteeEvent;
}

interface PeerEvent<A> extends QueuedCommitteeEvent<A> {
  readonly bytes: number;
  /** The sending co-owner's entry in `shares`. */
  readonly shareKey: string;
}

/** What one co-owner has waiting in one account's FIFO. */
interface CoOwnerShare {
  events: number;
  bytes: number;
}

/**
 * What waits for the committee driver's next step: this node's own events (ticks, its owner's submissions:
 * a few per account, so they always queue) and peers' messages in an `AccountInbox` — bounded per hosted
 * account, served round-robin, drops counted against the account they were for, so a peer flooding one
 * account's committee costs the other accounts nothing — and, within an account, split into even shares
 * per co-owner (`coOwnerShare`), so it costs that account's other owners nothing either. `A` is the driver's
 * hosted account.
 */
export class CommitteeEventQueue<A> {
  private readonly keyOf: (account: A) => string;
  private readonly own = new Fifo<QueuedCommitteeEvent<A>>();
  private readonly peers: AccountInbox<string, PeerEvent<A>>;
  private readonly perAccount: number;
  private readonly bytesPerAccount: number;
  /** (account key, owner) → its queued events; an entry lives only while it has some (≤ queued events). */
  private readonly shares = new Map<string, CoOwnerShare>();
  /** account key → events dropped because their sender's share was full (the account's own bound aside). */
  private readonly overShare = new Map<string, number>();

  /** `keyOf`: the account's key in `droppedPeerEvents` (the driver uses its address). */
  constructor(
    keyOf: (account: A) => string,
    perAccount = MAX_QUEUED_PEER_EVENTS_PER_ACCOUNT,
    bytesPerAccount = MAX_QUEUED_PEER_BYTES_PER_ACCOUNT,
  ) {
    this.keyOf = keyOf;
    this.perAccount = perAccount;
    this.bytesPerAccount = bytesPerAccount;
    this.peers = new AccountInbox(perAccount, { perAccount: bytesPerAccount, sizeOf: (e) => e.bytes });
  }

  get size(): number {
    return this.own.size + this.peers.size;
  }

  pushOwn(account: A, event: CommitteeEvent): void {
    this.own.push({ account, event });
  }

  /**
   * An event of `bytes` wire bytes from the host of `owner`, one of the account's `coOwners`; false (and
   * counted against `account`) when the owner's share or the account's queue is full.
   */
  offerPeer(account: A, owner: number, coOwners: number, event: CommitteeEvent, bytes: number): boolean {
    const key = this.keyOf(account);
    const shareKey = `${key}/${owner}`;
    const share = this.shares.get(shareKey) ?? { events: 0, bytes: 0 };
    if (
      share.events >= coOwnerShare(this.perAccount, coOwners) ||
      share.bytes + bytes > coOwnerShare(this.bytesPerAccount, coOwners)
    ) {
      this.overShare.set(key, (this.overShare.get(key) ?? 0) + 1);
      return false;
    }
    if (!this.peers.offer(key, { account, event, bytes, shareKey })) return false;
    share.events++;
    share.bytes += bytes;
    this.shares.set(shareKey, share);
    return true;
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
      const { account, event, bytes, shareKey } = this.peers.take()!.item;
      const share = this.shares.get(shareKey)!;
      if (--share.events === 0) this.shares.delete(shareKey);
      else share.bytes -= bytes;
      batch.push({ account, event });
    }
    return batch;
  }

  /** account key → peer events dropped because that account's queue, or its sender's share of it, was full. */
  droppedPeerEvents(): ReadonlyMap<string, number> {
    const dropped = new Map(this.peers.dropped);
    for (const [key, count] of this.overShare) dropped.set(key, (dropped.get(key) ?? 0) + count);
    return dropped;
  }
}
