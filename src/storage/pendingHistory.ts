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

  /** The account's durable by-seq entries held here, lowest seq first. */
  readableOutgoing(source: string): PendingOutgoing[] {
    return this.readable((entries) => entries.outgoing.get(source));
  }

  /** The account's durable incoming entries held here, oldest first. */
  readableIncoming(address: string): PendingIncoming[] {
    return this.readable((entries) => entries.incoming.get(address));
  }

  private readable<T extends { readonly position: number }>(
    listOf: (entries: EntriesByAccount) => readonly T[] | undefined,
  ): T[] {
    const out: T[] = [];
    for (const entries of [...this.checkpointing, this.entries]) {
      for (const entry of listOf(entries) ?? []) if (entry.position <= this.durablePosition) out.push(entry);
    }
    return out;
  }
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
