import { ErrorCode, TallyError } from "../core/errors.ts";
import { GrowthSweep } from "../core/growthSweep.ts";
import type { PeerId } from "../core/peerId.ts";
import type { EnvelopeKindName, WireErrorName } from "./envelope.ts";
import { Fifo } from "./fifo.ts";
import { type InboundBudget, ITEM_OVERHEAD_BYTES, type ProtocolSpec } from "./protocolSpec.ts";

/**
 * Admission in front of the node's inbox. Every peer has its own FIFO per protocol, bounded by that protocol's
 * budget for the peer's class (member or stranger); `take` serves peers round-robin, one message per turn
 * (deficit round robin with a quantum of one message). A peer that exceeds its budget loses its OWN new
 * messages (drop-new) and nobody else's, so a flood costs the flooder.
 *
 * Strangers (non-members) as a class also share one small budget and get at most `strangerShare` of each batch
 * while members have work, so thousands of sybil ids cannot crowd members out. A global cap on buffered bytes
 * is the last line: when it is reached, new items are refused and counted against the peer that offered them.
 *
 * Counters are kept for every member (a peer that is a member no more and has nothing queued is forgotten once
 * the member entries pass 4,096) and for at most `maxTrackedStrangers` strangers; an idle stranger (nothing
 * queued) is forgotten, least recently seen first, to make room. When every tracked stranger has work queued, a
 * new stranger is refused outright (counted in `untrackedStrangerDrops`).
 */
export const DROP_REASONS = [
  "budget",
  "rate",
  "globalCap",
  "forbidden",
  "unknownProtocol",
  "unsupportedVersion",
  "malformed",
  "banned",
  "unsolicited",
  "overloaded",
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Drops that mean "we could not keep up", as opposed to the peer misbehaving. */
const SHEDDING_REASONS: ReadonlySet<DropReason> = new Set(["budget", "rate", "globalCap"]);

export interface InboundItem {
  from: PeerId;
  protocol: ProtocolSpec;
  kind: EnvelopeKindName;
  /** 0 for kind "message". */
  requestId: number;
  /** A copy owned by the item (never a view into the frame it came in). */
  body: Uint8Array;
  /** The decoded error body, for kind "error" only. */
  error: { code: WireErrorName; text: string } | undefined;
}

export interface PeerCounters {
  admitted: number;
  admittedBytes: number;
  dropped: Record<DropReason, number>;
  droppedBytes: number;
  /** Time of the last budget or global-cap drop; -Infinity if none. */
  lastShedMs: number;
}

export interface InboundSchedulerOptions {
  /** Shared by all strangers together, over all protocols. */
  strangerClassBudget: Pick<InboundBudget, "maxQueuedMessages" | "maxQueuedBytes">;
  /** Global cap on buffered (charged) bytes. */
  maxBufferedBytes: number;
  /** Largest fraction of a `take` batch that goes to strangers while members have work. */
  strangerShare: number;
  /** Strangers whose counters are kept; members are always kept. */
  maxTrackedStrangers: number;
}

export const DEFAULT_INBOUND_SCHEDULER_OPTIONS: Readonly<InboundSchedulerOptions> = {
  strangerClassBudget: { maxQueuedMessages: 4_096, maxQueuedBytes: 1024 * 1024 },
  maxBufferedBytes: 64 * 1024 * 1024,
  strangerShare: 1 / 8,
  maxTrackedStrangers: 256,
};

/** Member entries before the first sweep of former members: above any static network's size here. */
const MEMBER_SWEEP_START = 4_096;

export interface SchedulerStats {
  bufferedMessages: number;
  bufferedBytes: number;
  strangerMessages: number;
  strangerBytes: number;
  trackedMembers: number;
  trackedStrangers: number;
  untrackedStrangerDrops: number;
}

export type AdmitResult = "admitted" | "budget" | "rate" | "globalCap";

export function newPeerCounters(): PeerCounters {
  const dropped = {} as Record<DropReason, number>;
  for (const r of DROP_REASONS) dropped[r] = 0;
  return { admitted: 0, admittedBytes: 0, dropped, droppedBytes: 0, lastShedMs: Number.NEGATIVE_INFINITY };
}

export function chargedBytes(body: Uint8Array): number {
  return body.length + ITEM_OVERHEAD_BYTES;
}

/**
 * Tokens are admission units (messages, or the items of a batch: `ChannelCodec.units`); a bucket starts full, refills at the budget's rate and holds at most its burst: one
 * second of rate, or the queue bound if smaller (a burst larger than the queue could not be queued anyway).
 */
class RateBucket {
  tokens: number;
  atMs: number;
  constructor(budget: InboundBudget, nowMs: number) {
    this.tokens = burstOf(budget);
    this.atMs = nowMs;
  }

  /** Takes `units` tokens if there are that many. */
  take(budget: InboundBudget, nowMs: number, units: number): boolean {
    if (nowMs > this.atMs) {
      this.tokens = Math.min(
        burstOf(budget),
        this.tokens + ((nowMs - this.atMs) * budget.maxMessagesPerSecond) / 1000,
      );
      this.atMs = nowMs;
    }
    if (this.tokens < units) return false;
    this.tokens -= units;
    return true;
  }
}

function burstOf(budget: InboundBudget): number {
  return Math.min(budget.maxQueuedMessages, budget.maxMessagesPerSecond);
}

/** A message's units, at most one burst (so a batch larger than the budget's burst is still admissible, once). */
function unitsOf(item: InboundItem, budget: InboundBudget): number {
  if (item.kind !== "message") return 1;
  const units = item.protocol.message?.units?.(item.body) ?? 1;
  return Number.isInteger(units) && units >= 1 ? Math.min(units, burstOf(budget)) : 1;
}

class ProtocolQueue {
  readonly items = new Fifo<InboundItem>();
  bytes = 0;
  readonly code: number;
  constructor(code: number) {
    this.code = code;
  }
}

/** One peer's queues (per protocol) and counters. */
class PeerInbox {
  readonly peer: PeerId;
  member: boolean;
  readonly counters = newPeerCounters();
  readonly queues = new Map<number, ProtocolQueue>();
  /** Non-empty queues, served round-robin. */
  readonly activeQueues = new Fifo<ProtocolQueue>();
  queuedMessages = 0;
  queuedBytes = 0;
  /** Whether an entry for this inbox sits in a scheduler ring (possibly stale, see `takeFrom`). */
  inRing = false;
  /** Token buckets of the peer's admission rate, per protocol code (kept while queues come and go). */
  readonly rates = new Map<number, RateBucket>();

  constructor(peer: PeerId, member: boolean) {
    this.peer = peer;
    this.member = member;
  }

  push(item: InboundItem, charge: number): void {
    let q = this.queues.get(item.protocol.code);
    if (q === undefined) {
      q = new ProtocolQueue(item.protocol.code);
      this.queues.set(q.code, q);
    }
    if (q.items.size === 0) this.activeQueues.push(q);
    q.items.push(item);
    q.bytes += charge;
    this.queuedMessages++;
    this.queuedBytes += charge;
  }

  /** Caller guarantees `queuedMessages > 0`. */
  takeOne(): InboundItem {
    const q = this.activeQueues.shift()!;
    const item = q.items.shift()!;
    const charge = chargedBytes(item.body);
    q.bytes -= charge;
    this.queuedMessages--;
    this.queuedBytes -= charge;
    if (q.items.size > 0) this.activeQueues.push(q);
    else this.queues.delete(q.code); // empty queues are not kept: a peer's memory is its queued items
    return item;
  }

  clear(): void {
    this.queues.clear();
    this.activeQueues.clear();
    this.queuedMessages = 0;
    this.queuedBytes = 0;
  }
}

export class InboundScheduler {
  private readonly opts: InboundSchedulerOptions;
  private readonly members = new Map<PeerId, PeerInbox>();
  /** Map order is least recently seen first: touching a stranger re-inserts it. */
  private readonly strangers = new Map<PeerId, PeerInbox>();
  private readonly memberRing = new Fifo<PeerInbox>();
  private readonly strangerRing = new Fifo<PeerInbox>();
  private bufferedBytes = 0;
  private bufferedMessages = 0;
  private strangerMessages = 0;
  private strangerBytes = 0;
  /** Fractional stranger slots carried between batches, so `take(1)` loops still honour the share. */
  private strangerCredit = 0;
  private untrackedDrops = 0;
  /** Whether a peer is a member now; entries of peers that are not are swept (see `sweepFormerMembers`). */
  private readonly isMember: ((peer: PeerId) => boolean) | undefined;
  /** Former members' idle entries are swept past MEMBER_SWEEP_START entries (see `inboxFor`). */
  private readonly memberSweep = new GrowthSweep(MEMBER_SWEEP_START);

  constructor(opts: Partial<InboundSchedulerOptions> = {}, isMember?: (peer: PeerId) => boolean) {
    this.opts = { ...DEFAULT_INBOUND_SCHEDULER_OPTIONS, ...opts };
    this.isMember = isMember;
    const o = this.opts;
    const ok =
      isPositiveInt(o.strangerClassBudget.maxQueuedMessages) &&
      isPositiveInt(o.strangerClassBudget.maxQueuedBytes) &&
      isPositiveInt(o.maxBufferedBytes) &&
      o.strangerShare > 0 &&
      o.strangerShare <= 1 &&
      isPositiveInt(o.maxTrackedStrangers);
    if (!ok)
      throw new TallyError(ErrorCode.ChannelInvalidOption, "invalid inbound scheduler options", { ...o });
  }

  /**
   * Queue `item` (whose body the caller already copied) or refuse it. `budgetExempt` is for responses to our
   * own requests: they are bounded by what we asked for, so only the global cap applies to them.
   */
  admit(item: InboundItem, member: boolean, budgetExempt: boolean, nowMs: number): AdmitResult {
    const charge = chargedBytes(item.body);
    const inbox = this.inboxFor(item.from, member);
    if (inbox === undefined) {
      this.untrackedDrops++;
      return "budget";
    }
    if (!budgetExempt) {
      const budget = member ? item.protocol.budget.member : item.protocol.budget.stranger;
      const q = inbox.queues.get(item.protocol.code);
      const queued = q?.items.size ?? 0;
      const queuedBytes = q?.bytes ?? 0;
      const overPeer = queued + 1 > budget.maxQueuedMessages || queuedBytes + charge > budget.maxQueuedBytes;
      const cls = this.opts.strangerClassBudget;
      const overClass =
        !member &&
        (this.strangerMessages + 1 > cls.maxQueuedMessages ||
          this.strangerBytes + charge > cls.maxQueuedBytes);
      if (overPeer || overClass) {
        this.recordDrop(inbox, "budget", item.body.length, nowMs);
        return "budget";
      }
      let bucket = inbox.rates.get(item.protocol.code);
      if (bucket === undefined) {
        bucket = new RateBucket(budget, nowMs);
        inbox.rates.set(item.protocol.code, bucket);
      }
      if (!bucket.take(budget, nowMs, unitsOf(item, budget))) {
        this.recordDrop(inbox, "rate", item.body.length, nowMs);
        return "rate";
      }
    }
    if (this.bufferedBytes + charge > this.opts.maxBufferedBytes) {
      this.recordDrop(inbox, "globalCap", item.body.length, nowMs);
      return "globalCap";
    }
    inbox.push(item, charge);
    inbox.counters.admitted++;
    inbox.counters.admittedBytes += item.body.length;
    this.bufferedBytes += charge;
    this.bufferedMessages++;
    if (!member) {
      this.strangerMessages++;
      this.strangerBytes += charge;
    }
    if (!inbox.inRing) {
      inbox.inRing = true;
      (member ? this.memberRing : this.strangerRing).push(inbox);
    }
    return "admitted";
  }

  /** Count a drop decided before admission (malformed, forbidden, banned…) against `peer`. */
  countDrop(peer: PeerId, member: boolean, reason: DropReason, bodyBytes: number, nowMs: number): void {
    const inbox = this.inboxFor(peer, member);
    if (inbox === undefined) this.untrackedDrops++;
    else this.recordDrop(inbox, reason, bodyBytes, nowMs);
  }

  /** Up to `max` items, round-robin over peers; strangers get at most their share while members have work. */
  take(max: number): InboundItem[] {
    const out: InboundItem[] = [];
    if (!(max >= 1)) return out;
    const membersBusy = this.memberRing.size > 0;
    let strangerSlots = max;
    if (membersBusy && this.strangerRing.size > 0) {
      const perBatch = max * this.opts.strangerShare;
      this.strangerCredit = Math.min(this.strangerCredit + perBatch, Math.max(1, perBatch));
      strangerSlots = Math.min(max, Math.floor(this.strangerCredit));
    }
    this.takeFrom(this.memberRing, max - Math.min(strangerSlots, this.strangerMessages), out);
    const fromStrangers = this.takeFrom(this.strangerRing, max - out.length, out);
    if (membersBusy) this.strangerCredit = Math.max(0, this.strangerCredit - fromStrangers);
    // Strangers had less than their reserved slots: members get the rest.
    this.takeFrom(this.memberRing, max - out.length, out);
    return out;
  }

  /** Forget everything `peer` has queued (it was banned); its counters stay. */
  purge(peer: PeerId): number {
    const inbox = this.members.get(peer) ?? this.strangers.get(peer);
    if (inbox === undefined) return 0;
    const n = inbox.queuedMessages;
    this.release(inbox, inbox.queuedMessages, inbox.queuedBytes);
    inbox.clear(); // a stale ring entry is skipped by `takeFrom`
    return n;
  }

  counters(peer: PeerId): PeerCounters | undefined {
    return (this.members.get(peer) ?? this.strangers.get(peer))?.counters;
  }

  /** Members with a budget or global-cap drop at or after `nowMs - windowMs`. */
  sheddingMembers(nowMs: number, windowMs: number): PeerId[] {
    const out: PeerId[] = [];
    for (const inbox of this.members.values()) {
      if (inbox.counters.lastShedMs >= nowMs - windowMs) out.push(inbox.peer);
    }
    return out;
  }

  peers(): {
    peer: PeerId;
    member: boolean;
    queuedMessages: number;
    queuedBytes: number;
    counters: PeerCounters;
  }[] {
    return [...this.members.values(), ...this.strangers.values()].map((i) => ({
      peer: i.peer,
      member: i.member,
      queuedMessages: i.queuedMessages,
      queuedBytes: i.queuedBytes,
      counters: i.counters,
    }));
  }

  get bufferedCount(): number {
    return this.bufferedMessages;
  }

  stats(): SchedulerStats {
    return {
      bufferedMessages: this.bufferedMessages,
      bufferedBytes: this.bufferedBytes,
      strangerMessages: this.strangerMessages,
      strangerBytes: this.strangerBytes,
      trackedMembers: this.members.size,
      trackedStrangers: this.strangers.size,
      untrackedStrangerDrops: this.untrackedDrops,
    };
  }

  private takeFrom(ring: Fifo<PeerInbox>, n: number, out: InboundItem[]): number {
    const ringOfMembers = ring === this.memberRing;
    let taken = 0;
    while (taken < n) {
      const inbox = ring.shift();
      if (inbox === undefined) break;
      if (inbox.queuedMessages === 0) {
        inbox.inRing = false; // purged while waiting its turn
        continue;
      }
      if (inbox.member !== ringOfMembers) {
        // Its class changed while queued: it waits in the other ring.
        (inbox.member ? this.memberRing : this.strangerRing).push(inbox);
        continue;
      }
      const item = inbox.takeOne();
      this.release(inbox, 1, chargedBytes(item.body));
      out.push(item);
      taken++;
      if (inbox.queuedMessages > 0) ring.push(inbox);
      else inbox.inRing = false;
    }
    return taken;
  }

  private release(inbox: PeerInbox, messages: number, bytes: number): void {
    this.bufferedMessages -= messages;
    this.bufferedBytes -= bytes;
    if (!inbox.member) {
      this.strangerMessages -= messages;
      this.strangerBytes -= bytes;
    }
  }

  private recordDrop(inbox: PeerInbox, reason: DropReason, bodyBytes: number, nowMs: number): void {
    inbox.counters.dropped[reason]++;
    inbox.counters.droppedBytes += bodyBytes;
    if (SHEDDING_REASONS.has(reason)) inbox.counters.lastShedMs = nowMs;
  }

  private inboxFor(peer: PeerId, member: boolean): PeerInbox | undefined {
    let inbox = this.members.get(peer) ?? this.strangers.get(peer);
    if (inbox !== undefined && inbox.member !== member) this.reclassify(inbox, member);
    if (inbox === undefined) {
      if (!member && !this.makeRoomForStranger()) return undefined;
      if (member) this.sweepFormerMembers();
      inbox = new PeerInbox(peer, member);
      (member ? this.members : this.strangers).set(peer, inbox);
    } else if (!member) {
      this.strangers.delete(peer);
      this.strangers.set(peer, inbox);
    }
    return inbox;
  }

  private reclassify(inbox: PeerInbox, member: boolean): void {
    const sign = member ? -1 : 1;
    this.strangerMessages += sign * inbox.queuedMessages;
    this.strangerBytes += sign * inbox.queuedBytes;
    (member ? this.strangers : this.members).delete(inbox.peer);
    (member ? this.members : this.strangers).set(inbox.peer, inbox);
    inbox.member = member;
  }

  /**
   * Before a new member entry: drops, when the sweep schedule says so, the entries of peers that are members no
   * more (an open network's expired records) and have nothing queued. An entry is only kept while it has work
   * or its peer is a member, so the map follows the membership, not every identity that ever sent. A former
   * member that sends again is a stranger, or a new member entry with a fresh rate bucket, as any newcomer.
   */
  private sweepFormerMembers(): void {
    const isMember = this.isMember;
    if (isMember === undefined) return;
    this.memberSweep.beforeAdd(
      this.members,
      (peer, inbox) => inbox.queuedMessages === 0 && !inbox.inRing && !isMember(peer),
    );
  }

  private makeRoomForStranger(): boolean {
    if (this.strangers.size < this.opts.maxTrackedStrangers) return true;
    for (const [peer, inbox] of this.strangers) {
      if (inbox.queuedMessages === 0) {
        this.strangers.delete(peer);
        return true;
      }
    }
    return false;
  }
}

function isPositiveInt(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0;
}
