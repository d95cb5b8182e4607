import { Bucket, sortableNumber } from "./buckets.ts";
import type { BatchOp } from "./database.ts";

/**
 * Index entries not yet in their buckets: each resolved transfer's by-seq entry (bucket 09, which is also its
 * source's outgoing history) and each applied payment's incoming history entry (bucket 07). Written one key
 * per entry, they were two of ≈ 4.7 LevelDB writes per transfer; here they wait in memory, named by the step
 * journal (stepJournal.ts, which makes them as durable as a write), and each checkpoint writes them as
 * one record per account and bucket (a chunk):
 * - by-seq: `09/source/firstSeq` → `id@position,id@position,…` for seqs firstSeq, firstSeq + 1, …;
 * - incoming: `07/address/firstPosition` → `id@position,id@position,…`, positions ascending.
 * A one-entry record of the earlier, per-transfer format reads as a chunk of one (accountHistory.ts).
 *
 * Readers see an entry only once the batch its step was taken in is durable (`settled`), and keep seeing it
 * from memory until the checkpoint that wrote it is durable too: a history page or a catch-up answer never
 * shows what a crash could still take back, and never misses what it showed before. Positions only grow, so
 * "durable" is one number: the highest position taken in a batch that is now durable.
 */

/**
 * Entries per record at most (≈ 80 KB): a page reads whole records, so a busy account's checkpoint is split
 * rather than written, and read back, as one large value.
 */
export const MAX_CHUNK_ENTRIES = 1_024;

export interface PendingOutgoing {
  readonly seq: number;
  readonly id: string;
  readonly position: number;
}

export interface PendingIncoming {
  readonly id: string;
  readonly position: number;
}

interface EntriesByAccount {
  readonly outgoing: Map<string, PendingOutgoing[]>;
  readonly incoming: Map<string, PendingIncoming[]>;
}

export class PendingHistory {
  private entries: EntriesByAccount = { outgoing: new Map(), incoming: new Map() };
  /** Entries a checkpoint in flight is writing: still read from here until it is durable. */
  private checkpointing: EntriesByAccount[] = [];
  private count = 0;
  /** The highest position in a taken batch, and in a durable one: entries up to it are readable. */
  private takenPosition = 0;
  private durablePosition = 0;

  /** Entries waiting for a checkpoint. */
  get size(): number {
    return this.count;
  }

  /** The by-seq entry of a resolved transfer (applied or rejected), at history `position`. */
  addOutgoing(source: string, seq: number, id: string, position: number): void {
    append(this.entries.outgoing, source, { seq, id, position });
    this.count++;
  }

  /** The incoming history entry of one output of an applied transfer. */
  addIncoming(address: string, id: string, position: number): void {
    append(this.entries.incoming, address, { id, position });
    this.count++;
  }

  /** The step's writes were taken; `position`: the history counter then, at or above all its entries'. */
  taken(position: number): void {
    this.takenPosition = position;
  }

  /** Every batch taken so far is durable: their entries are readable, and checkpointed ones are on disk. */
  settled(): void {
    this.durablePosition = this.takenPosition;
    this.checkpointing = [];
  }

  /** Writes every entry as chunks into `ops` (the step's batch); they stay readable here until it is durable. */
  checkpoint(ops: BatchOp[]): void {
    const { outgoing, incoming } = this.entries;
    for (const [source, list] of outgoing) {
      let start = 0;
      for (let i = 1; i <= list.length; i++) {
        // A chunk covers consecutive seqs; an account's transfers resolve in seq order, so a gap is rare.
        const consecutive = i < list.length && list[i]!.seq === list[i - 1]!.seq + 1;
        if (consecutive && i - start < MAX_CHUNK_ENTRIES) continue;
        ops.push(chunkOp(Bucket.outgoingBySeq, source, list[start]!.seq, list.slice(start, i)));
        start = i;
      }
    }
    for (const [address, list] of incoming) {
      for (let start = 0; start < list.length; start += MAX_CHUNK_ENTRIES) {
        const chunk = list.slice(start, start + MAX_CHUNK_ENTRIES);
        ops.push(chunkOp(Bucket.accountHistory, address, chunk[0]!.position, chunk));
      }
    }
    if (this.count > 0) this.checkpointing.push(this.entries);
    this.entries = { outgoing: new Map(), incoming: new Map() };
    this.count = 0;
  }

  /**
   * The account's durable by-seq entries held here with seq ≥ `fromSeq`, lowest seq first, at most `max`.
   * Found by bisection, not a copy of the account's list: a catch-up request costs O(log n + max) however
   * many entries a busy account has waiting (up to a checkpoint's worth). An account's transfers resolve in
   * seq order, so each list is sorted by seq as well as by position.
   */
  outgoingFrom(source: string, fromSeq: number, max: number): PendingOutgoing[] {
    const out: PendingOutgoing[] = [];
    for (const list of this.listsOf((entries) => entries.outgoing.get(source))) {
      for (let i = firstIndex(list, (e) => e.seq >= fromSeq); i < list.length; i++) {
        if (out.length >= max || list[i]!.position > this.durablePosition) return out;
        out.push(list[i]!);
      }
    }
    return out;
  }

  /** The newest `max` durable by-seq entries of the account below position `before`, oldest first. */
  outgoingBefore(source: string, before: number | undefined, max: number): PendingOutgoing[] {
    return this.newestBefore((entries) => entries.outgoing.get(source), before, max);
  }

  /** The newest `max` durable incoming entries of the account below position `before`, oldest first. */
  incomingBefore(address: string, before: number | undefined, max: number): PendingIncoming[] {
    return this.newestBefore((entries) => entries.incoming.get(address), before, max);
  }

  /** The account's lists, oldest first: positions ascend within each and from one to the next. */
  private listsOf<T>(listOf: (entries: EntriesByAccount) => readonly T[] | undefined): (readonly T[])[] {
    const lists: (readonly T[])[] = [];
    for (const entries of this.checkpointing) {
      const list = listOf(entries);
      if (list !== undefined) lists.push(list);
    }
    const current = listOf(this.entries);
    if (current !== undefined) lists.push(current);
    return lists;
  }

  private newestBefore<T extends { readonly position: number }>(
    listOf: (entries: EntriesByAccount) => readonly T[] | undefined,
    before: number | undefined,
    max: number,
  ): T[] {
    // Readable: below `before` and durable, so below one bound; the entries under it are a prefix.
    const bound = Math.min(before ?? Number.POSITIVE_INFINITY, this.durablePosition + 1);
    const newestFirst: T[] = [];
    const lists = this.listsOf(listOf);
    for (let l = lists.length - 1; l >= 0; l--) {
      const list = lists[l]!;
      let i = firstIndex(list, (e) => e.position >= bound) - 1;
      for (; i >= 0; i--) {
        if (newestFirst.length >= max) return newestFirst.reverse();
        newestFirst.push(list[i]!);
      }
    }
    return newestFirst.reverse();
  }
}

/** The first index of `list` whose entry satisfies `atOrAfter` (monotone along the list), or its length. */
function firstIndex<T>(list: readonly T[], atOrAfter: (entry: T) => boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (atOrAfter(list[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function append<T>(map: Map<string, T[]>, account: string, entry: T): void {
  const list = map.get(account);
  if (list === undefined) map.set(account, [entry]);
  else list.push(entry);
}

/** `09/…` or `07/…` → `id@position,…`. */
function chunkOp(
  bucket: Bucket,
  account: string,
  first: number,
  list: readonly { readonly id: string; readonly position: number }[],
): BatchOp {
  let value = `${list[0]!.id}@${list[0]!.position}`;
  for (let i = 1; i < list.length; i++) value += `,${list[i]!.id}@${list[i]!.position}`;
  return { type: "put", key: `${bucket}/${account}/${sortableNumber(first)}`, value };
}
