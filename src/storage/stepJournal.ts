import { decodeTransfer, transferTotal } from "../core/transfer.ts";
import type { MemoryLedgerStore } from "../ledger/memoryStore.ts";
import type { AccountRecord } from "../ledger/store.ts";
import { Bucket, key, range, sortableNumber } from "./buckets.ts";
import { type BatchOp, type NodeDatabase, utf8Text } from "./database.ts";
import { PendingHistory } from "./pendingHistory.ts";

/**
 * Three kinds of records reach the disk in checkpoints, not step by step, with a journal of the steps between:
 * - Unreferenced payments (bucket 04). A payment is usually spent soon after it arrives: written per step, it
 *   cost a put, then a delete a few steps later — two of the ≈ 6.5 writes per transfer and a quarter of the
 *   bytes, and its tombstone was compacted again later.
 * - Index entries: each resolved transfer's by-seq entry and each payment's incoming history entry
 *   (pendingHistory.ts), one write per entry before; a checkpoint writes an account's entries as one record.
 * - Account records (bucket 01) of accounts that already had one: each resolved transfer rewrote its source's
 *   record, one write per transfer. A new account (a genesis balance) is still written in its step.
 * The history counter's record (00/historyCounter) is written at checkpoints too, not every step: the journal's
 * positions say how far it went since.
 * A step writes one journal record instead (bucket 13: the transfers it resolved, in order, with the history
 * position each took: `id@position` applied, `id#position` rejected), and every `CHECKPOINT_CHANGES` payment
 * changes, `CHECKPOINT_TRANSFERS` journaled transfers or `CHECKPOINT_HISTORY_ENTRIES` index entries one
 * step's batch carries the checkpoint: the payments created and not yet spent (puts), the spent ones that were
 * on disk (deletes), the index entries, the account records changed, and the deletes of the journal records
 * they cover. A payment created and spent between two checkpoints never reaches the disk.
 *
 * Why this is as durable as writing each change: the journal record is in the step's own atomic batch, with
 * the bodies and verdicts of the transfers it names, and resolving a transfer changes these records in one way
 * only: applied, its deps leave its source's set and each output enters its recipient's; applied or rejected,
 * it takes the by-seq entry of its source and seq at its position, and an applied one an incoming entry per
 * output at the positions after it; and it sets its source's seq to its own, an applied one also taking its
 * total from the spendable balance and adding its deps' amounts. So all three are the last checkpoint's plus
 * the journal's transfers replayed in order (`replay`, at open). An account record is replayed onto only by
 * transfers of a higher seq than its own: a record written later than the last checkpoint (a new account's, or
 * any in the earlier formats, which wrote accounts every step) already holds the rest. Records of format 1
 * (bare ids, applied only) wrote their index entries themselves; their replay restores payments and accounts.
 *
 * Bounds: at most `CHECKPOINT_CHANGES` pending payment changes and `CHECKPOINT_HISTORY_ENTRIES` index entries
 * in memory (plus one step's: ≈ 1.5 MB and ≈ 1 MB), a changed account per journaled transfer (the addresses
 * only: the records are the ledger's, in memory anyway), and at most `CHECKPOINT_TRANSFERS` bodies to read and
 * decode at open (plus one step's: well under a second).
 */
const CHECKPOINT_CHANGES = 8_192;
const CHECKPOINT_TRANSFERS = 8_192;
const CHECKPOINT_HISTORY_ENTRIES = 16_384;

/** When a checkpoint is due; tests lower them to make checkpoints frequent. */
export interface JournalLimits {
  readonly changes: number;
  readonly transfers: number;
  readonly historyEntries: number;
}
export const DEFAULT_JOURNAL_LIMITS: JournalLimits = {
  changes: CHECKPOINT_CHANGES,
  transfers: CHECKPOINT_TRANSFERS,
  historyEntries: CHECKPOINT_HISTORY_ENTRIES,
};

/** A pending change of one 04 key: the amount of a payment not yet on disk, or `null` to delete one that is. */
type Change = bigint | null;

/** Where a checkpoint reads the changed accounts' records: the ledger's memory, current at every take. */
export interface AccountRecords {
  getAccount(address: string): AccountRecord | undefined;
}

export class StepJournal {
  /**
   * Pending changes by recipient, then payment id. Two lookups with the address and id strings the node already
   * holds (one object per address, per id), not one with a 04 key built per change: a concatenated key is
   * hashed and compared character by character each time.
   */
  private readonly changes = new Map<string, Map<string, Change>>();
  /** The keys `changes` holds, over all recipients. */
  private changeCount = 0;
  /** Transfers resolved in the current step (`id@position`, `id#position`), journaled when its writes are taken. */
  private stepEntries: string[] = [];
  /** Journal records on disk since the last checkpoint: numbers `firstRecord` … `nextRecord − 1`. */
  private firstRecord: number;
  private nextRecord: number;
  private journaledTransfers = 0;
  /** Accounts whose seq or spendable changed since the last checkpoint: at most one per journaled transfer. */
  private readonly changedAccounts = new Set<string>();
  private readonly accounts: AccountRecords;
  private readonly limits: JournalLimits;
  /** Index entries waiting for a checkpoint; the owner adds them, the journal decides when they are written. */
  readonly history: PendingHistory;
  /** The highest history position the replayed journal names (0 if none): the counter may be behind it. */
  replayedPosition = 0;

  constructor(
    history: PendingHistory,
    accounts: AccountRecords,
    limits: JournalLimits = DEFAULT_JOURNAL_LIMITS,
  ) {
    this.history = history;
    this.accounts = accounts;
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

  /** An account that has a record on disk changed its seq or spendable: rewritten at the next checkpoint. */
  accountChanged(address: string): void {
    this.changedAccounts.add(address);
  }

  /** A transfer resolved in this step, its by-seq entry at history `position`: named in the step's record. */
  resolved(id: string, position: number, applied: boolean): void {
    this.stepEntries.push(`${id}${applied ? "@" : "#"}${position}`);
  }

  /** Whether the step has anything to write: payments and index entries change only when transfers resolve. */
  get hasWrites(): boolean {
    return this.stepEntries.length > 0;
  }

  /** The step's writes: its journal record, or a checkpoint when one is due (then `true`). */
  take(ops: BatchOp[]): boolean {
    const entries = this.stepEntries;
    this.stepEntries = [];
    if (
      this.changeCount < this.limits.changes &&
      this.journaledTransfers + entries.length < this.limits.transfers &&
      this.history.size < this.limits.historyEntries
    ) {
      if (entries.length === 0) return false;
      ops.push({ type: "put", key: journalKey(this.nextRecord++), value: entries.join(",") });
      this.journaledTransfers += entries.length;
      return false;
    }
    this.checkpoint(ops);
    return true;
  }

  /**
   * Every pending change, index entry and changed account, and the deletes of the journal records they make
   * redundant. The caller adds the history counter's record.
   */
  checkpoint(ops: BatchOp[]): void {
    this.history.checkpoint(ops);
    for (const [address, ids] of this.changes) {
      for (const [id, amount] of ids) {
        const k = key(Bucket.ledgerUnreferenced, address, id);
        ops.push(amount === null ? { type: "del", key: k } : { type: "put", key: k, value: `"${amount}"` });
      }
    }
    for (const address of this.changedAccounts) {
      ops.push({
        type: "put",
        key: key(Bucket.ledgerAccount, address),
        value: accountValue(this.accounts.getAccount(address)!),
      });
    }
    this.changedAccounts.clear();
    for (let n = this.firstRecord; n < this.nextRecord; n++) ops.push({ type: "del", key: journalKey(n) });
    this.changes.clear();
    this.changeCount = 0;
    this.firstRecord = this.nextRecord;
    this.journaledTransfers = 0;
  }

  /**
   * At open, after the last checkpoint's payments and the account records on disk are in `memory` (their
   * unreferenced totals still to be summed): applies the journal's transfers to them in the order they were
   * resolved, and returns a journal holding those changes, index entries and records, which the caller
   * checkpoints before the store is used.
   */
  static async replay(
    db: NodeDatabase,
    memory: MemoryLedgerStore,
    limits: JournalLimits = DEFAULT_JOURNAL_LIMITS,
  ): Promise<StepJournal> {
    let first: number | undefined;
    let next = 0;
    let transfers = 0;
    const journal = new StepJournal(new PendingHistory(), memory, limits);
    for await (const [k, v] of db.iterator(range(Bucket.stepJournal))) {
      const n = Number(k.slice(k.lastIndexOf("/") + 1));
      first ??= n;
      next = n + 1;
      for (const entry of utf8Text(v).split(",")) {
        const { id, position, applied } = parseJournalEntry(entry);
        const bytes = await db.get(key(Bucket.transferBody, id));
        // Written in the same batch as the record or before it: a missing body is a damaged database.
        if (bytes === undefined)
          throw new Error(`journal record ${n} names transfer ${id}, whose body is missing`);
        const t = decodeTransfer(bytes).transfer;
        if (position !== undefined) {
          journal.history.addOutgoing(t.source, t.seq, id, position);
          const last = applied ? position + t.outputs.length : position;
          if (last > journal.replayedPosition) journal.replayedPosition = last;
        }
        const account = memory.getAccount(t.source) ?? NO_RECORD;
        // A record at this seq or later was written after the transfer resolved: it holds its effect.
        const behind = t.seq > account.seq;
        let depSum = 0n;
        if (applied) {
          for (const dep of t.deps) {
            const amount = memory.getUnreferenced(t.source, dep);
            if (amount === undefined && behind)
              throw new Error(
                `journal record ${n} names transfer ${id}, whose dep ${dep} is not unreferenced`,
              );
            depSum += amount ?? 0n;
            memory.deleteUnreferenced(t.source, dep);
            journal.delete(t.source, dep);
          }
          for (let i = 0; i < t.outputs.length; i++) {
            const output = t.outputs[i]!;
            memory.putUnreferenced(output.to, id, output.amount);
            journal.put(output.to, id, output.amount);
            if (position !== undefined) journal.history.addIncoming(output.to, id, position + 1 + i);
          }
        }
        if (behind) {
          const spendable = applied ? account.spendable + depSum - transferTotal(t) : account.spendable;
          memory.putAccount(t.source, { seq: t.seq, spendable, unreferencedTotal: 0n });
          journal.accountChanged(t.source);
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

/** An account without a record: never resolved a transfer, nothing spendable (it may have been paid). */
const NO_RECORD: AccountRecord = Object.freeze({ seq: 0, spendable: 0n, unreferencedTotal: 0n });

/**
 * An account as stored: its seq and spendable balance (`jsonValue` spelled out: a replacer-free template is
 * several times cheaper; read by `JSON.parse`). Its unreferenced total is the sum of its payments, not stored.
 */
export function accountValue(record: AccountRecord): string {
  return `{"seq":${record.seq},"spendable":"${record.spendable}"}`;
}

function journalKey(n: number): string {
  return `${Bucket.stepJournal}/${sortableNumber(n)}`;
}

/** `id@position` (applied), `id#position` (rejected), or a bare `id` (applied; the earlier format). */
function parseJournalEntry(entry: string): { id: string; position: number | undefined; applied: boolean } {
  const at = entry.search(/[@#]/);
  if (at < 0) return { id: entry, position: undefined, applied: true };
  return { id: entry.slice(0, at), position: Number(entry.slice(at + 1)), applied: entry[at] === "@" };
}
