import { Bucket, key, range, sortableNumber } from "./buckets.ts";
import { chunkAtOrBelow, parseEntries } from "./bySeqIndex.ts";
import { type NodeDatabase, parseJsonValue, utf8Text } from "./database.ts";
import type { PendingIncoming, PendingOutgoing } from "./pendingHistory.ts";

export interface HistoryEntry {
  readonly id: string;
  readonly direction: "out" | "in";
}

/** A history entry with its position: the node-wide append counter, which only grows. */
export interface PositionedHistoryEntry extends HistoryEntry {
  readonly position: number;
}

export interface HistoryPage {
  readonly entries: PositionedHistoryEntry[];
  /** The position to read below for the next (older) page; absent when none is left. */
  readonly next?: number;
}

/** An account's durable entries not yet in records (pendingHistory.ts), oldest first. */
export interface PendingEntries {
  readonly incoming: readonly PendingIncoming[];
  readonly outgoing: readonly PendingOutgoing[];
}

const NONE_PENDING: PendingEntries = { incoming: [], outgoing: [] };

/*
 * An account's history on disk is two indexes the node keeps anyway, merged by position when read:
 * - incoming: bucket 07, chunks `address/firstPosition` → `id@position,…` (pendingHistory.ts);
 * - outgoing: the by-seq index catch-up serves (bucket 09, bySeqIndex.ts), whose entries carry their
 *   position. An outgoing transfer is one entry, not two (a history entry and a by-seq entry).
 * Entries not yet checkpointed are read from memory (`pending`); they are newer than any record, except those
 * a checkpoint in flight is writing, which are read once (by position).
 * Earlier formats: one record per incoming entry, `address/position` → `{"id":…,"direction":"in"}`; and,
 * before outgoing entries moved to the by-seq index, outgoing ones in bucket 07 too (direction "out") with
 * by-seq values that are a bare id. Those are read from bucket 07 and skipped in bucket 09: they are all older
 * than any positioned by-seq value (the format changed once, going forward).
 */

/**
 * At most `limit` entries strictly below position `before` (all when absent), newest first, and `next` — the
 * last entry's position — when older entries remain. A few range reads whatever the history's length, so a
 * page is stable while transfers are appended.
 */
export async function readHistoryPage(
  db: NodeDatabase,
  address: string,
  limit: number,
  before?: number,
  pending: PendingEntries = NONE_PENDING,
): Promise<HistoryPage> {
  const incoming = await newestIncoming(db, address, limit + 1, before, pending.incoming);
  const outgoing = await newestOutgoing(db, address, limit + 1, before, pending.outgoing);
  const merged: PositionedHistoryEntry[] = [];
  let i = 0;
  let o = 0;
  while (merged.length <= limit && (i < incoming.length || o < outgoing.length)) {
    const takeIncoming =
      o >= outgoing.length || (i < incoming.length && incoming[i]!.position > outgoing[o]!.position);
    merged.push(takeIncoming ? incoming[i++]! : outgoing[o++]!);
  }
  const entries = merged.slice(0, limit);
  return { entries, ...(merged.length > limit ? { next: entries.at(-1)!.position } : {}) };
}

/** Collects up to `count` entries below `before`, newest first, each position once. */
class NewestFirst {
  readonly entries: PositionedHistoryEntry[] = [];
  private readonly seen = new Set<number>();
  private readonly count: number;
  private readonly before: number;

  constructor(count: number, before: number | undefined) {
    this.count = count;
    this.before = before ?? Number.POSITIVE_INFINITY;
  }

  get full(): boolean {
    return this.entries.length >= this.count;
  }

  /** Offers entries newest first; false once full. */
  offer(id: string, direction: HistoryEntry["direction"], position: number): boolean {
    if (this.full) return false;
    if (position < this.before && !this.seen.has(position)) {
      this.seen.add(position);
      this.entries.push({ id, direction, position });
    }
    return !this.full;
  }

  offerPending(
    pending: readonly { readonly id: string; readonly position: number }[],
    direction: "in" | "out",
  ) {
    for (let i = pending.length - 1; i >= 0; i--) {
      if (!this.offer(pending[i]!.id, direction, pending[i]!.position)) return;
    }
  }
}

async function newestIncoming(
  db: NodeDatabase,
  address: string,
  count: number,
  before: number | undefined,
  pending: readonly PendingIncoming[],
): Promise<PositionedHistoryEntry[]> {
  const out = new NewestFirst(count, before);
  out.offerPending(pending, "in");
  if (out.full) return out.entries;
  const all = range(Bucket.accountHistory, address);
  // A record's key is its oldest position: one keyed at or above `before` holds nothing below it.
  const lt = before === undefined ? all.lt : key(Bucket.accountHistory, address, sortableNumber(before));
  records: for await (const [k, v] of db.iterator({ gte: all.gte, lt, reverse: true })) {
    const text = utf8Text(v);
    if (text.startsWith("{")) {
      const entry = parseJsonValue<HistoryEntry>(v);
      if (!out.offer(entry.id, entry.direction, Number(k.slice(k.lastIndexOf("/") + 1)))) break;
      continue;
    }
    const entries = parseEntries(text);
    for (let i = entries.length - 1; i >= 0; i--) {
      if (!out.offer(entries[i]!.id, "in", entries[i]!.position!)) break records;
    }
  }
  return out.entries;
}

/**
 * The newest positioned by-seq entries below `before`. Positions grow with seq (an account's transfers resolve
 * in seq order), so the record holding the newest entry below `before` is found by bisecting seqs: ≈ log2(seq)
 * seeks, whatever page is asked for.
 */
async function newestOutgoing(
  db: NodeDatabase,
  address: string,
  count: number,
  before: number | undefined,
  pending: readonly PendingOutgoing[],
): Promise<PositionedHistoryEntry[]> {
  const out = new NewestFirst(count, before);
  out.offerPending(pending, "out");
  if (out.full) return out.entries;
  const all = range(Bucket.outgoingBySeq, address);
  let from = all.lt;
  if (before !== undefined) {
    const newest = await chunkAtOrBelow(db, address, undefined);
    // Greatest seq whose record (the nearest at or below it) starts below `before`; 0: none.
    let lo = 0;
    let hi = newest === undefined ? 0 : newest.firstSeq;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const chunk = await chunkAtOrBelow(db, address, mid);
      if (chunk === undefined || (chunk.entries[0]!.position ?? -1) < before) lo = mid;
      else hi = mid - 1;
    }
    if (lo === 0) return out.entries;
    from = `${key(Bucket.outgoingBySeq, address, sortableNumber(lo))}\u0000`;
  }
  records: for await (const [, v] of db.iterator({ gte: all.gte, lt: from, reverse: true })) {
    const entries = parseEntries(utf8Text(v));
    for (let i = entries.length - 1; i >= 0; i--) {
      const { id, position } = entries[i]!;
      if (position === undefined) break records; // the bare-id format: read from bucket 07
      if (!out.offer(id, "out", position)) break records;
    }
  }
  return out.entries;
}
