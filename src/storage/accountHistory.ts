import { Bucket, key, range, sortableNumber } from "./buckets.ts";
import { type NodeDatabase, parseJsonValue, utf8Text } from "./database.ts";

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

/*
 * An account's history on disk is two indexes the node keeps anyway, merged by position when read:
 * - incoming: bucket 07, `address/position` → `{"id":…,"direction":"in"}`;
 * - outgoing: the by-seq index catch-up serves (bucket 09), `source/seq` → `id@position`. An outgoing
 *   transfer is one write, not two (a history entry and a by-seq entry).
 * Databases written before outgoing entries moved to the by-seq index hold them in bucket 07 too (direction
 * "out"), with by-seq values that are a bare id. Those are read from bucket 07 and skipped in bucket 09: they
 * are all older than any positioned by-seq value (the format changed once, going forward).
 */

/** The by-seq value of a resolved outgoing transfer. */
export function outgoingValue(id: string, position: number): string {
  return `${id}@${position}`;
}

/** A by-seq value: its transfer id, and its position (undefined in the earlier, bare-id format). */
function parseOutgoing(value: Uint8Array): { id: string; position: number | undefined } {
  const text = utf8Text(value);
  const at = text.indexOf("@");
  return at < 0
    ? { id: text, position: undefined }
    : { id: text.slice(0, at), position: Number(text.slice(at + 1)) };
}

/** The transfer id of a by-seq value, in either format. */
export function outgoingId(value: Uint8Array): string {
  return parseOutgoing(value).id;
}

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
): Promise<HistoryPage> {
  const incoming = await newestInBucket07(db, address, limit + 1, before);
  const outgoing = await newestOutgoing(db, address, limit + 1, before);
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

async function newestInBucket07(
  db: NodeDatabase,
  address: string,
  count: number,
  before: number | undefined,
): Promise<PositionedHistoryEntry[]> {
  const all = range(Bucket.accountHistory, address);
  const lt = before === undefined ? all.lt : key(Bucket.accountHistory, address, sortableNumber(before));
  const entries: PositionedHistoryEntry[] = [];
  for await (const [k, v] of db.iterator({ gte: all.gte, lt, reverse: true, limit: count })) {
    const position = Number(k.slice(k.lastIndexOf("/") + 1));
    entries.push({ ...parseJsonValue<HistoryEntry>(v), position });
  }
  return entries;
}

/**
 * The newest positioned by-seq entries below `before`. Positions grow with seq (an account's transfers resolve
 * in seq order), so the highest seq below `before` is found by bisecting seqs: ≈ log2(seq) seeks, whatever
 * page is asked for.
 */
async function newestOutgoing(
  db: NodeDatabase,
  address: string,
  count: number,
  before: number | undefined,
): Promise<PositionedHistoryEntry[]> {
  const all = range(Bucket.outgoingBySeq, address);
  let from = all.lt;
  if (before !== undefined) {
    const newest = await entryAtOrBelow(db, address, undefined);
    // Greatest seq whose entry (the nearest at or below it: seqs may have gaps) lies below `before`; 0: none.
    let lo = 0;
    let hi = newest?.seq ?? 0;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const entry = await entryAtOrBelow(db, address, mid);
      if (entry === undefined || (entry.position ?? -1) < before) lo = mid;
      else hi = mid - 1;
    }
    if (lo === 0) return [];
    from = `${key(Bucket.outgoingBySeq, address, sortableNumber(lo))}\u0000`;
  }
  const entries: PositionedHistoryEntry[] = [];
  for await (const [, v] of db.iterator({ gte: all.gte, lt: from, reverse: true, limit: count })) {
    const { id, position } = parseOutgoing(v);
    if (position === undefined) break;
    entries.push({ id, direction: "out", position });
  }
  return entries;
}

/** The by-seq entry with the greatest seq ≤ `seq` (any seq when undefined). */
async function entryAtOrBelow(
  db: NodeDatabase,
  address: string,
  seq: number | undefined,
): Promise<{ seq: number; position: number | undefined } | undefined> {
  const all = range(Bucket.outgoingBySeq, address);
  const lte = seq === undefined ? undefined : key(Bucket.outgoingBySeq, address, sortableNumber(seq));
  const bounds = lte === undefined ? { gte: all.gte, lt: all.lt } : { gte: all.gte, lte };
  for await (const [k, v] of db.iterator({ ...bounds, reverse: true, limit: 1 })) {
    return { seq: Number(k.slice(k.lastIndexOf("/") + 1)), position: parseOutgoing(v).position };
  }
  return undefined;
}
