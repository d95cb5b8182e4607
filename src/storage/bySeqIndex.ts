import { Bucket, key, range, sortableNumber } from "./buckets.ts";
import { type NodeDatabase, utf8Text } from "./database.ts";
import type { PendingOutgoing } from "./pendingHistory.ts";

/**
 * The durable entries not yet in records (pendingHistory.ts), which follow them: those with seq ≥ `fromSeq`,
 * lowest first, at most `max`.
 */
export type PendingFrom = (fromSeq: number, max: number) => readonly PendingOutgoing[];

/*
 * The by-seq index (bucket 09): for each account, the ids of its resolved transfers by seq, which catch-up
 * serves and the account's history reads as its outgoing entries. A record is a chunk of consecutive seqs
 * starting at its key's: `source/firstSeq` → `id@position,id@position,…` (pendingHistory.ts writes them at
 * checkpoints). Records of earlier formats are chunks of one: `id@position`, or a bare `id` from before
 * outgoing entries moved out of the history bucket (their position is there, bucket 07).
 */

/** One entry of a by-seq record; `position` is undefined in the bare-id format. */
export interface BySeqEntry {
  readonly id: string;
  readonly position: number | undefined;
}

/** A by-seq record's entries, for seqs `firstSeq`, `firstSeq + 1`, …. */
export interface BySeqChunk {
  readonly firstSeq: number;
  readonly entries: BySeqEntry[];
}

/** Entries `id@position,…` (or one bare `id`), as both chunked buckets write them. */
export function parseEntries(text: string): BySeqEntry[] {
  return text.split(",").map((entry) => {
    const at = entry.indexOf("@");
    return at < 0
      ? { id: entry, position: undefined }
      : { id: entry.slice(0, at), position: Number(entry.slice(at + 1)) };
  });
}

function chunkOf(k: string, v: Uint8Array): BySeqChunk {
  return { firstSeq: Number(k.slice(k.lastIndexOf("/") + 1)), entries: parseEntries(utf8Text(v)) };
}

/** The record whose first seq is the greatest ≤ `seq` (the newest record when `seq` is undefined). */
export async function chunkAtOrBelow(
  db: NodeDatabase,
  source: string,
  seq: number | undefined,
): Promise<BySeqChunk | undefined> {
  const all = range(Bucket.outgoingBySeq, source);
  const bounds =
    seq === undefined
      ? { gte: all.gte, lt: all.lt }
      : { gte: all.gte, lte: key(Bucket.outgoingBySeq, source, sortableNumber(seq)) };
  for await (const [k, v] of db.iterator({ ...bounds, reverse: true, limit: 1 })) return chunkOf(k, v);
  return undefined;
}

/**
 * Ids of the account's resolved transfers for seqs fromSeq, fromSeq + 1, …: at most `count`, stopping at the
 * first seq not resolved here.
 */
export async function resolvedIds(
  db: NodeDatabase,
  pending: PendingFrom,
  source: string,
  fromSeq: number,
  count: number,
): Promise<string[]> {
  const ids: string[] = [];
  let expected = fromSeq;
  /** Takes the entry for `seq` if it is the next one wanted; false once the run has ended. */
  const take = (seq: number, id: string): boolean => {
    if (seq < expected) return true; // before fromSeq, or already read from a record a checkpoint just wrote
    if (seq !== expected || ids.length >= count) return false;
    ids.push(id);
    expected++;
    return true;
  };
  const start = (await chunkAtOrBelow(db, source, fromSeq))?.firstSeq ?? fromSeq;
  records: for await (const [k, v] of db.iterator({
    gte: key(Bucket.outgoingBySeq, source, sortableNumber(start)),
    lt: range(Bucket.outgoingBySeq, source).lt,
    limit: count + 1,
  })) {
    const { firstSeq, entries } = chunkOf(k, v);
    for (let i = 0; i < entries.length; i++) if (!take(firstSeq + i, entries[i]!.id)) break records;
  }
  if (ids.length >= count) return ids;
  for (const entry of pending(expected, count - ids.length)) if (!take(entry.seq, entry.id)) break;
  return ids;
}

/** Ids of the account's first `count` resolved transfers, lowest seq first (gaps allowed). */
export async function firstResolvedIds(
  db: NodeDatabase,
  pending: PendingFrom,
  source: string,
  count: number,
): Promise<string[]> {
  const ids: string[] = [];
  let lastSeq = 0;
  for await (const [k, v] of db.iterator({ ...range(Bucket.outgoingBySeq, source), limit: count })) {
    const { firstSeq, entries } = chunkOf(k, v);
    for (let i = 0; i < entries.length && ids.length < count; i++) ids.push(entries[i]!.id);
    lastSeq = firstSeq + entries.length - 1;
    if (ids.length >= count) return ids;
  }
  // A lower seq was read from a record a checkpoint just wrote.
  for (const entry of pending(lastSeq + 1, count - ids.length)) ids.push(entry.id);
  return ids;
}
