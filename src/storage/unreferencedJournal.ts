import { decodeTransfer } from "../core/transfer.ts";
import type { MemoryLedgerStore } from "../ledger/memoryStore.ts";
import { Bucket, key, range, sortableNumber } from "./buckets.ts";
import { type BatchOp, type NodeDatabase, utf8Text } from "./database.ts";

/**
 * Unreferenced payments (bucket 04) reach the disk in checkpoints, not step by step. A payment is usually
 * spent soon after it arrives: written per step, it cost a put, then a delete a few steps later — two of the
 * ≈ 6.5 writes per transfer and a quarter of the bytes, and its tombstone was compacted again later. Here a
 * step writes one journal record instead (bucket 13: the ids of the transfers it applied, in order), and every
 * `CHECKPOINT_CHANGES` changes or `CHECKPOINT_TRANSFERS` journaled transfers one step's batch carries the
 * payments created and not yet spent (puts), the spent ones that were on disk (deletes), and the deletes of
 * the journal records they cover. A payment created and spent between two checkpoints never reaches the disk.
 *
 * Why this is as durable as writing each change: the journal record is in the step's own atomic batch, with
 * the bodies and verdicts of the transfers it names, and applying a transfer changes unreferenced payments
 * in one way only (its deps leave its source's set, each output enters its recipient's), so the set is the
 * last checkpoint's plus the journal's transfers replayed in order (`replay`, at open).
 *
 * Bounds: at most `CHECKPOINT_CHANGES` pending changes in memory (plus one step's: ≈ 1.5 MB), and at most
 * `CHECKPOINT_TRANSFERS` bodies to read and decode at open (plus one step's: well under a second).
 */
const CHECKPOINT_CHANGES = 8_192;
const CHECKPOINT_TRANSFERS = 8_192;

/** When a checkpoint is due; tests lower them to make checkpoints frequent. */
export interface JournalLimits {
  readonly changes: number;
  readonly transfers: number;
}
export const DEFAULT_JOURNAL_LIMITS: JournalLimits = {
  changes: CHECKPOINT_CHANGES,
  transfers: CHECKPOINT_TRANSFERS,
};

/** A pending change of one 04 key: the amount of a payment not yet on disk, or `null` to delete one that is. */
type Change = bigint | null;

export class UnreferencedJournal {
  /**
   * Pending changes by recipient, then payment id. Two lookups with the address and id strings the node already
   * holds (one object per address, per id), not one with a 04 key built per change: a concatenated key is
   * hashed and compared character by character each time.
   */
  private readonly changes = new Map<string, Map<string, Change>>();
  /** The keys `changes` holds, over all recipients. */
  private changeCount = 0;
  /** Ids applied in the current step, journaled when the step's writes are taken. */
  private stepIds: string[] = [];
  /** Journal records on disk since the last checkpoint: numbers `firstRecord` … `nextRecord − 1`. */
  private firstRecord: number;
  private nextRecord: number;
  private journaledTransfers = 0;
  private readonly limits: JournalLimits;

  constructor(limits: JournalLimits = DEFAULT_JOURNAL_LIMITS) {
    this.limits = limits;
    this.firstRecord = 0;
    this.nextRecord = 0;
  }

  /** A payment `id` to `address` entered the set (a fresh key: transfer ids are never reused). */
  put(address: string, id: string, amount: bigint): void {
    this.set(address, id, amount);
  }

  /** A payment left the set: forgotten if it never reached the disk, else deleted at the next checkpoint. */
  delete(address: string, id: string): void {
    const ids = this.changes.get(address);
    const pending = ids?.get(id);
    if (pending === undefined || pending === null) {
      this.set(address, id, null);
      return;
    }
    ids!.delete(id);
    this.changeCount--;
    if (ids!.size === 0) this.changes.delete(address);
  }

  private set(address: string, id: string, change: Change): void {
    let ids = this.changes.get(address);
    if (ids === undefined) {
      ids = new Map();
      this.changes.set(address, ids);
    }
    const before = ids.size;
    ids.set(id, change);
    this.changeCount += ids.size - before;
  }

  /** A transfer applied in this step: named in the step's journal record. */
  applied(id: string): void {
    this.stepIds.push(id);
  }

  /** Whether the step has anything to write: payments change only in steps that apply transfers. */
  get hasWrites(): boolean {
    return this.stepIds.length > 0;
  }

  /** The step's writes: its journal record, or a checkpoint when one is due. */
  take(ops: BatchOp[]): void {
    const ids = this.stepIds;
    this.stepIds = [];
    if (
      this.changeCount < this.limits.changes &&
      this.journaledTransfers + ids.length < this.limits.transfers
    ) {
      if (ids.length === 0) return;
      ops.push({ type: "put", key: journalKey(this.nextRecord++), value: ids.join(",") });
      this.journaledTransfers += ids.length;
      return;
    }
    this.checkpoint(ops);
  }

  /** Every pending change, and the deletes of the journal records it makes redundant. */
  checkpoint(ops: BatchOp[]): void {
    for (const [address, ids] of this.changes) {
      for (const [id, amount] of ids) {
        const k = key(Bucket.ledgerUnreferenced, address, id);
        ops.push(amount === null ? { type: "del", key: k } : { type: "put", key: k, value: `"${amount}"` });
      }
    }
    for (let n = this.firstRecord; n < this.nextRecord; n++) ops.push({ type: "del", key: journalKey(n) });
    this.changes.clear();
    this.changeCount = 0;
    this.firstRecord = this.nextRecord;
    this.journaledTransfers = 0;
  }

  /**
   * At open, after the last checkpoint's payments are in `memory`: applies the journal's transfers to them in
   * the order they were applied, and returns a journal holding those changes and records, which the caller
   * checkpoints before the store is used.
   */
  static async replay(
    db: NodeDatabase,
    memory: MemoryLedgerStore,
    limits: JournalLimits = DEFAULT_JOURNAL_LIMITS,
  ): Promise<UnreferencedJournal> {
    let first: number | undefined;
    let next = 0;
    let transfers = 0;
    const journal = new UnreferencedJournal(limits);
    for await (const [k, v] of db.iterator(range(Bucket.unreferencedJournal))) {
      const n = Number(k.slice(k.lastIndexOf("/") + 1));
      first ??= n;
      next = n + 1;
      for (const id of utf8Text(v).split(",")) {
        const bytes = await db.get(key(Bucket.transferBody, id));
        // Written in the same batch as the record or before it: a missing body is a damaged database.
        if (bytes === undefined)
          throw new Error(`journal record ${n} names transfer ${id}, whose body is missing`);
        const t = decodeTransfer(bytes).transfer;
        for (const dep of t.deps) {
          memory.deleteUnreferenced(t.source, dep);
          journal.delete(t.source, dep);
        }
        for (const output of t.outputs) {
          memory.putUnreferenced(output.to, id, output.amount);
          journal.put(output.to, id, output.amount);
        }
        transfers++;
      }
    }
    journal.firstRecord = first ?? 0;
    journal.nextRecord = next;
    journal.journaledTransfers = transfers;
    return journal;
  }
}

function journalKey(n: number): string {
  return `${Bucket.unreferencedJournal}/${sortableNumber(n)}`;
}
