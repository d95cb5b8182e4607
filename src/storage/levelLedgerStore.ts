import { BoundedCache } from "../core/boundedCache.ts";
import type { EncodedTransfer } from "../core/transfer.ts";
import { decodeTransfer } from "../core/transfer.ts";
import { MemoryLedgerStore } from "../ledger/memoryStore.ts";
import type { AccountRecord, LedgerStore, RejectionReason, TransferStatusRecord } from "../ledger/store.ts";
import { type HistoryEntry, type HistoryPage, readHistoryPage } from "./accountHistory.ts";
import { Bucket, key, range } from "./buckets.ts";
import { firstResolvedIds, type PendingFrom, resolvedIds } from "./bySeqIndex.ts";
import { type BatchOp, jsonValue, type NodeDatabase, parseJsonValue, writeBatch } from "./database.ts";
import { PendingHistory } from "./pendingHistory.ts";
import { accountValue, DEFAULT_JOURNAL_LIMITS, type JournalLimits, StepJournal } from "./stepJournal.ts";

/**
 * An account as stored: its seq and spendable balance, written when the account is new and then at the
 * journal's checkpoints (stepJournal.ts). Its unreferenced total is not stored: it is the sum of its
 * unreferenced payments (bucket 04 and the journal since its last checkpoint), recomputed at open. So a payment
 * changes its payer's record and not its recipient's. Records written before that change also hold
 * `unreferencedTotal`; it is ignored (it always equalled the sum).
 */
interface StoredAccount {
  seq: number;
  spendable: string;
}

/**
 * The ledger's store in LevelDB. The validator is synchronous, so the state it reads (accounts,
 * statuses, unreferenced deps, waiting transfers) lives in memory, loaded at open; every write is
 * also queued, and the node calls `flush()` — one atomic LevelDB batch — after each ledger call and
 * before it acts on the outcome, so an acknowledged verdict survives a crash. Transfer bodies of
 * resolved transfers live only on disk.
 *
 * Queued writes are coalesced per key until they are taken: the batch is atomic, so only each key's last
 * write can ever be seen on disk. A transfer delivered and resolved in one batch writes its body and status
 * once and no waiting marker; an unreferenced payment created and spent between two checkpoints is never
 * written, and index entries and changed account records are written per account at those checkpoints
 * (stepJournal.ts).
 * The coalescing maps hold at most one entry per key written since the last `takeQueued()`, so they are
 * bounded by the caller's batch (the node's maxEventsPerBatch), like the queue they replace.
 *
 * A transfer's status on disk is its status record (bucket 02) if it has one, else "applied" if its body
 * (bucket 03) is stored, else unknown. A transfer applied when delivered — nearly all of them — gets no status
 * record: its body, written in the same batch, says it. Waiting and rejected transfers have one (a waiting one
 * keeps it when applied later). Databases written before this rule have a record for every transfer, which
 * reads the same.
 */
/**
 * Statuses of resolved transfers held in memory: the most recent ones, which late copies of a broadcast and
 * the API ask about. Older ones are read from disk, so memory does not grow with the number of transfers ever
 * resolved: asynchronously for the API (`loadStatuses`, `probeStatuses`), synchronously only inside a
 * processing step (see `getStatus`). ≈ 200 B each: ≈ 3.3 MB. Sized in seconds of traffic, like the node's
 * other per-transfer tables (docs/architecture.md, "Memory"): ≈ 5 s at 3,000 transfers/s, where late copies
 * come within a few re-send periods. 65,536 until session 38.
 */
export const RECENT_STATUS_ENTRIES = 16_384;

/** A status read from disk ahead of a synchronous read (`loadStatuses`). */
export interface LoadedStatus {
  readonly record: TransferStatusRecord | undefined;
  /** Statuses that had entered the recent set when the read began: an absence is trusted while none of the
   * later ones has left it (see `getStatus`). */
  readonly resolvedBefore: number;
}

/** Disk reads gathered for one synchronous read, by transfer id. */
export type LoadedStatuses = Map<string, LoadedStatus>;

export class LevelLedgerStore implements LedgerStore {
  private readonly db: NodeDatabase;
  /** Accounts, unreferenced payments and waiting transfers; resolved statuses live in `recent` and on disk. */
  private readonly memory = new MemoryLedgerStore();
  /** Never evicts by itself (`settleTaken` trims): a status leaves memory only once it is durable. */
  private readonly recent = new BoundedCache<string, TransferStatusRecord>(Number.MAX_SAFE_INTEGER);
  private readonly recentEntries: number;
  /** How many statuses ever entered / left `recent` (a FIFO): tells whether a loaded absence still holds. */
  private enteredRecent = 0;
  private leftRecent = 0;
  /** Set while `probeStatuses`/`withLoadedStatuses` run: disk reads done ahead, and the ids still missing. */
  private reading: { readonly loaded: LoadedStatuses; readonly missing: Set<string> | undefined } | undefined;
  /** Writes whose key is written once (bodies): queued as they come. */
  private queued: BatchOp[] = [];
  /** The latest queued write per key that may be written again before the take (statuses, markers, entries). */
  private readonly pending = new Map<string, BatchOp>();
  /** Keys of `pending` puts that were absent on disk before: deleting one in the same batch drops the put. */
  private readonly freshKeys = new Set<string>();
  /** New accounts (no record on disk) since the last take, encoded once from their latest record when taken. */
  private readonly dirtyAccounts = new Set<string>();
  /** Payments, index entries and accounts reach the disk in checkpoints; steps journal what they resolved. */
  private journal = new StepJournal(new PendingHistory(), this.memory);
  private historyCounter: number;

  private constructor(db: NodeDatabase, historyCounter: number, recentEntries: number) {
    this.db = db;
    this.recentEntries = recentEntries;
    this.historyCounter = historyCounter;
  }

  /**
   * `recentStatuses`: the in-memory bound, RECENT_STATUS_ENTRIES unless a test wants evictions sooner;
   * `journalLimits`: when unreferenced payments are checkpointed (tests lower them).
   */
  static async open(
    db: NodeDatabase,
    {
      recentStatuses = RECENT_STATUS_ENTRIES,
      journalLimits = DEFAULT_JOURNAL_LIMITS,
    }: { recentStatuses?: number; journalLimits?: JournalLimits } = {},
  ): Promise<LevelLedgerStore> {
    const counter = await db.get(key(Bucket.meta, "historyCounter"));
    const store = new LevelLedgerStore(
      db,
      counter === undefined ? 0 : parseJsonValue<number>(counter),
      recentStatuses,
    );
    const m = store.memory;
    for await (const [k, v] of db.iterator(range(Bucket.ledgerUnreferenced))) {
      const [address, id] = k.slice(3).split("/") as [string, string];
      m.putUnreferenced(address, id, BigInt(parseJsonValue<string>(v)));
    }
    for await (const [k, v] of db.iterator(range(Bucket.ledgerAccount))) {
      const a = parseJsonValue<StoredAccount>(v);
      m.putAccount(k.slice(3), { seq: a.seq, spendable: BigInt(a.spendable), unreferencedTotal: 0n });
    }
    // Payments, index entries and accounts since the last checkpoint, from the journal; written out at once, so
    // a crash during this open replays the same journal again.
    const replayed = await StepJournal.replay(db, m, journalLimits);
    store.historyCounter = Math.max(store.historyCounter, replayed.replayedPosition);
    const checkpoint: BatchOp[] = [];
    replayed.checkpoint(checkpoint);
    checkpoint.push(store.counterRecord());
    await writeBatch(db, checkpoint);
    replayed.history.taken(store.historyCounter);
    replayed.history.settled();
    store.journal = replayed;
    // Each account's unreferenced total is the sum of its payments; one that has only been paid (seq 0,
    // nothing spendable) has no record of its own.
    for (const [address, unreferencedTotal] of m.unreferencedTotals()) {
      const a = m.getAccount(address);
      m.putAccount(address, { seq: a?.seq ?? 0, spendable: a?.spendable ?? 0n, unreferencedTotal });
    }
    for await (const id of db.keys(range(Bucket.ledgerWaiting))) {
      const body = await db.get(key(Bucket.transferBody, id.slice(3)));
      if (body !== undefined) m.putWaiting(decodeTransfer(body));
    }
    return store;
  }

  getAccount(address: string): AccountRecord | undefined {
    return this.memory.getAccount(address);
  }
  putAccount(address: string, record: AccountRecord): void {
    const before = this.memory.getAccount(address);
    this.memory.putAccount(address, record);
    // What is on disk is the last record taken, or nothing for seq 0 and nothing spendable; a change of the
    // unreferenced total alone (a payment received) changes neither (see StoredAccount).
    const unchanged =
      before === undefined
        ? record.seq === 0 && record.spendable === 0n
        : before.seq === record.seq && before.spendable === record.spendable;
    if (unchanged) return;
    // A new record is written with its step; a change to one on disk waits for the journal's checkpoint.
    if (before === undefined || this.dirtyAccounts.has(address)) this.dirtyAccounts.add(address);
    else this.journal.accountChanged(address);
  }
  /**
   * Memory first (waiting and recently resolved transfers), then disk: a status not in memory was written by
   * a durable batch (statuses leave memory only then, `settleTaken`) and is final. The synchronous disk read
   * is left to the sans-I/O core, which needs an answer inside a processing step, and only on rare, bounded
   * paths: a late copy of a transfer resolved more than RECENT_STATUS_ENTRIES resolutions ago, or a delivered
   * transfer's dep that is not an unreferenced payment of its source (at most MAX_DEPS per delivered transfer).
   * Echo admission of peers' payloads asks `heldStatus` instead, and API reads never get here: they load first.
   */
  getStatus(id: string): TransferStatusRecord | undefined {
    const held = this.heldStatus(id);
    if (held !== undefined) return held;
    const reading = this.reading;
    if (reading !== undefined) {
      const loaded = reading.loaded.get(id);
      // An absence read before a status entered `recent` is stale once that status has left it again.
      if (loaded !== undefined && (loaded.record !== undefined || this.leftRecent <= loaded.resolvedBefore))
        return loaded.record;
      if (reading.missing !== undefined) {
        reading.missing.add(id);
        return undefined;
      }
    }
    const stored = this.db.getSync(key(Bucket.ledgerStatus, id));
    if (stored !== undefined) return parseJsonValue<TransferStatusRecord>(stored);
    return this.db.getSync(key(Bucket.transferBody, id)) === undefined ? undefined : APPLIED;
  }

  /** A status held in memory, without any disk read. */
  heldStatus(id: string): TransferStatusRecord | undefined {
    return this.memory.getStatus(id) ?? this.recent.get(id);
  }

  /**
   * Runs a synchronous read (a ledger or core query) without touching the disk: statuses neither in memory nor
   * in `loaded` read as absent and are listed in `missing`. With `missing` empty, `value` is exact; otherwise
   * load them (`loadStatuses`) and probe again.
   */
  probeStatuses<T>(loaded: LoadedStatuses, read: () => T): { value: T; missing: string[] } {
    const missing = new Set<string>();
    const value = this.whileReading({ loaded, missing }, read);
    return { value, missing: [...missing] };
  }

  /** Runs a synchronous read with `loaded` consulted before the disk; what is still missing is read in place. */
  withLoadedStatuses<T>(loaded: LoadedStatuses, read: () => T): T {
    return this.whileReading({ loaded, missing: undefined }, read);
  }

  /**
   * Reads the statuses of `ids` from disk asynchronously (off the event loop) into `loaded`; ids held in memory
   * need no read (and an absence is only sound for an id that was not in `recent` when the read began).
   */
  async loadStatuses(ids: Iterable<string>, loaded: LoadedStatuses): Promise<void> {
    const resolvedBefore = this.enteredRecent;
    const toRead = [...new Set(ids)].filter((id) => this.heldStatus(id) === undefined);
    await Promise.all(
      toRead.map(async (id) => {
        const stored = await this.db.get(key(Bucket.ledgerStatus, id));
        const record =
          stored !== undefined
            ? parseJsonValue<TransferStatusRecord>(stored)
            : (await this.db.get(key(Bucket.transferBody, id))) === undefined
              ? undefined
              : APPLIED;
        loaded.set(id, { record, resolvedBefore });
      }),
    );
  }

  private whileReading<T>(reading: NonNullable<LevelLedgerStore["reading"]>, read: () => T): T {
    const outer = this.reading;
    this.reading = reading;
    try {
      return read();
    } finally {
      this.reading = outer;
    }
  }
  getWaiting(id: string): EncodedTransfer | undefined {
    return this.memory.getWaiting(id);
  }
  putWaiting(encoded: EncodedTransfer): void {
    const { id } = encoded;
    // No status yet means no marker on disk either: the two are always written together. (The ledger waits
    // only transfers it has no status for, so "not already waiting" is the same test without a disk read.)
    const fresh = this.memory.getWaiting(id) === undefined;
    this.memory.putWaiting(encoded);
    if (fresh) this.queued.push({ type: "put", key: `${Bucket.transferBody}/${id}`, value: encoded.bytes });
    this.queue(`${Bucket.ledgerStatus}/${id}`, DELIVERED_STATUS_VALUE, false);
    this.queue(`${Bucket.ledgerWaiting}/${id}`, EMPTY_VALUE, fresh);
  }
  putResolved(encoded: EncodedTransfer, status: "applied" | "rejected", reason?: RejectionReason): void {
    const { id, transfer } = encoded;
    // A waiting transfer's body was written with its marker; only one resolved without waiting needs it.
    const wasWaiting = this.memory.getWaiting(id) !== undefined;
    this.memory.forgetResolved(id);
    const record = reason !== undefined ? { status, reason } : status === "applied" ? APPLIED : REJECTED;
    this.rememberResolved(id, record);
    if (!wasWaiting)
      this.queued.push({ type: "put", key: `${Bucket.transferBody}/${id}`, value: encoded.bytes });
    // Applied on delivery: no status record, its body says it (see the class comment). A transfer that waited
    // has a "delivered" record to overwrite.
    if (wasWaiting || record !== APPLIED)
      this.queue(
        `${Bucket.ledgerStatus}/${id}`,
        record === APPLIED ? APPLIED_STATUS_VALUE : jsonValue(record),
        false,
      );
    // Memory and markers agree (a marker is loaded into memory at start), so only a waiting one has a marker.
    if (wasWaiting) this.unqueue(`${Bucket.ledgerWaiting}/${id}`);
    // The by-seq entry is also the source's history entry (accountHistory.ts); each payment's incoming entry
    // takes the next position. All reach the disk at the journal's next checkpoint.
    const position = ++this.historyCounter;
    const { history } = this.journal;
    history.addOutgoing(transfer.source, transfer.seq, id, position);
    if (status === "applied") {
      for (const o of transfer.outputs) history.addIncoming(o.to, id, ++this.historyCounter);
    }
    this.journal.resolved(id, position, status === "applied");
  }
  getUnreferenced(address: string, id: string): bigint | undefined {
    return this.memory.getUnreferenced(address, id);
  }
  putUnreferenced(address: string, id: string, amount: bigint): void {
    this.memory.putUnreferenced(address, id, amount);
    this.journal.put(address, id, amount);
  }
  deleteUnreferenced(address: string, id: string): void {
    this.memory.deleteUnreferenced(address, id);
    this.journal.delete(address, id);
  }
  listUnreferenced(address: string, limit: number): string[] {
    return this.memory.listUnreferenced(address, limit);
  }
  listWaiting(): Iterable<EncodedTransfer> {
    return this.memory.listWaiting();
  }
  listAccounts(): Iterable<[address: string, record: AccountRecord]> {
    return this.memory.listAccounts();
  }

  /** Writes everything queued since the last flush as one atomic batch. */
  async flush(): Promise<void> {
    await writeBatch(this.db, this.takeQueued());
    this.settleTaken();
  }

  /**
   * Hands over the queued writes for the caller to commit atomically together with its own (the node
   * writes ledger verdicts and broadcast commitments in one batch).
   */
  takeQueued(): BatchOp[] {
    if (this.queuedWrites === 0) return [];
    const ops = this.queued;
    this.queued = [];
    for (const op of this.pending.values()) ops.push(op);
    this.pending.clear();
    this.freshKeys.clear();
    for (const address of this.dirtyAccounts) {
      ops.push({
        type: "put",
        key: `${Bucket.ledgerAccount}/${address}`,
        value: accountValue(this.memory.getAccount(address)!),
      });
    }
    this.dirtyAccounts.clear();
    if (this.journal.take(ops)) ops.push(this.counterRecord());
    this.journal.history.taken(this.historyCounter);
    return ops;
  }

  /** The history counter, written at checkpoints: the journal's positions cover the steps since. */
  private counterRecord(): BatchOp {
    return { type: "put", key: key(Bucket.meta, "historyCounter"), value: String(this.historyCounter) };
  }

  /** Distinct keys written since the last take (after coalescing); the journal's counts as one. */
  get queuedWrites(): number {
    return (
      this.queued.length + this.pending.size + this.dirtyAccounts.size + (this.journal.hasWrites ? 1 : 0)
    );
  }

  /** A transfer's body from disk (any status). */
  async body(id: string): Promise<EncodedTransfer | undefined> {
    const waiting = this.memory.getWaiting(id);
    if (waiting !== undefined) return waiting;
    const bytes = await this.db.get(key(Bucket.transferBody, id));
    return bytes === undefined ? undefined : decodeTransfer(bytes);
  }

  /**
   * Ids of the account's resolved (applied or rejected) transfers for seqs fromSeq, fromSeq + 1, …: at most
   * `count`, stopping at the first seq not resolved here. Only durable entries (bySeqIndex.ts).
   */
  resolvedIds(source: string, fromSeq: number, count: number): Promise<string[]> {
    return resolvedIds(this.db, this.pendingFrom(source), source, fromSeq, count);
  }

  /** Ids of the account's first `count` durable resolved transfers, lowest seq first (gaps allowed). */
  firstResolvedIds(source: string, count: number): Promise<string[]> {
    return firstResolvedIds(this.db, this.pendingFrom(source), source, count);
  }

  private pendingFrom(source: string): PendingFrom {
    const { history } = this.journal;
    return (fromSeq, max) => history.outgoingFrom(source, fromSeq, max);
  }

  /** Newest first: transfers this node resolved from or applied to the account, in the order it did. */
  async history(address: string, limit: number): Promise<HistoryEntry[]> {
    return (await this.historyPage(address, limit)).entries;
  }

  /** One page of `history` strictly below position `before`, of durable entries only (accountHistory.ts). */
  historyPage(address: string, limit: number, before?: number): Promise<HistoryPage> {
    const { history } = this.journal;
    return readHistoryPage(this.db, address, limit, before, {
      // A page takes at most `limit` + 1 of each (readHistoryPage).
      incoming: history.incomingBefore(address, before, limit + 1),
      outgoing: history.outgoingBefore(address, before, limit + 1),
    });
  }

  /**
   * Remembered without eviction: a status may leave memory only once its write is durable, or it could be
   * found nowhere between the take of its batch and the write. `settleTaken` trims.
   */
  private rememberResolved(id: string, record: TransferStatusRecord): void {
    // One lookup in this large table, not two: replacing a value leaves the size as it was.
    const size = this.recent.size;
    this.recent.set(id, record);
    this.enteredRecent += this.recent.size - size;
  }

  /**
   * Call after the batch holding every taken write is durable: trims the recent statuses to their bound,
   * oldest out (those are on disk now), and lets readers see the index entries of those batches. Between two
   * calls `recent` exceeds the bound by at most what one batch resolves.
   */
  settleTaken(): void {
    const before = this.recent.size;
    this.recent.trimTo(this.recentEntries);
    this.leftRecent += before - this.recent.size;
    this.journal.history.settled();
  }

  /** Queues a put that replaces any earlier queued write of `k`; `fresh`: `k` is absent on disk. */
  private queue(k: string, value: Uint8Array | string, fresh: boolean): void {
    this.pending.set(k, { type: "put", key: k, value });
    if (fresh) this.freshKeys.add(k);
  }

  /** Queues a delete, or drops the queued put of a key this batch created, so it never reaches disk. */
  private unqueue(k: string): void {
    if (this.freshKeys.delete(k)) this.pending.delete(k);
    else this.pending.set(k, { type: "del", key: k });
  }
}

const EMPTY_VALUE = new Uint8Array(0);
/** The status records written for nearly every transfer, encoded once (the same bytes as `jsonValue`). */
const DELIVERED_STATUS_VALUE = jsonValue({ status: "delivered" });
const APPLIED_STATUS_VALUE = jsonValue({ status: "applied" });
/** Resolved statuses without a reason, shared (records are read-only). */
const APPLIED: TransferStatusRecord = Object.freeze({ status: "applied" });
const REJECTED: TransferStatusRecord = Object.freeze({ status: "rejected" });
