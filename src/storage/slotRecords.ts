import { instanceKey } from "../broadcast/instance/instanceId.ts";
import { bytesEqual } from "../core/bytes.ts";
import { SmallList } from "../core/smallList.ts";
import { type Bucket, key, range, sortableNumber } from "./buckets.ts";
import type { BatchOp, NodeDatabase } from "./database.ts";

/**
 * A record pinned by a slot that never settles is rewritten once this many newer records exist: its entries
 * move into the newest record and it is deleted. So at most this many records (plus the one being written) are
 * on disk, whatever peers or sources do.
 */
export const RELOCATE_AFTER_RECORDS = 1_024;

/** A slot: one (source account, seq), keyed here by its `instanceKey`. */
export interface Slot {
  readonly source: string;
  readonly seq: number;
}

/** One entry of a record read at start, with the slot it belongs to. */
export interface SlotEntry {
  readonly slot: Slot;
  /** The entry as it is written: a record is the concatenation of its entries. */
  readonly entry: Uint8Array;
}

/**
 * One or two entries and records in the common case (a commitment slot: its ECHO and its READY, made in one or
 * two steps), so both lists keep them in fields (`SmallList`): the slot lives as long as its transfer is in
 * flight.
 */
interface LiveSlot {
  /** This slot's entries, oldest first: all are copied forward when it is relocated. */
  readonly entries: SmallList<Uint8Array>;
  /** Entries before this index are in a record on disk (or in the batch being taken). */
  written: number;
  /** The records holding them, oldest first. */
  readonly records: SmallList<number>;
}

/**
 * What a node promised per broadcast slot (source, seq), kept until the ledger holds the slot, as LevelDB
 * records in one bucket: one record per processing step, holding every entry the step added, written in the
 * step's fsynced batch. A record is deleted in the step that settles the last slot it holds; a step whose slots
 * all settle before it ends writes no record at all. The broadcast's commitments (commitmentLog.ts) and the
 * transfers the API accepted (submittedLog.ts) are kept this way.
 *
 * Why records and not a key per entry: each key is a put and later a delete — a skiplist insert, a log append
 * and compaction work — per transfer; a step record costs one put and one delete for hundreds of transfers.
 *
 * Sans-I/O: entries, `settle` and `take` only change memory and return writes; `readRecords` reads at start.
 * Memory: the unsettled slots with entries, and their records. A log is a subclass that says what an entry is.
 */
export class SlotRecords {
  private readonly bucket: Bucket;
  private nextRecord = 0;
  private readonly live = new Map<string, LiveSlot>();
  /** Slots with entries this step's record must hold: new ones, or all of a relocated slot's. */
  private readonly unwritten = new Set<string>();
  /** Unsettled slots per record on disk, in ascending record order (a new record is always the newest). */
  private readonly records = new Map<number, Set<string>>();
  private deletions: string[] = [];

  constructor(bucket: Bucket) {
    this.bucket = bucket;
  }

  /**
   * At start, one record read from disk, records in ascending order: keeps the entries whose slot is not
   * settled, and returns those not kept already (a relocated slot's entries are also in the records it left
   * while those hold others). A record left holding no unsettled slot is deleted by the next `take`.
   */
  protected restoreRecord<E extends SlotEntry>(
    record: number,
    entries: readonly E[],
    isSettled: (e: E) => boolean,
  ): E[] {
    this.nextRecord = Math.max(this.nextRecord, record + 1);
    const kept: E[] = [];
    const holds = new Set<string>();
    for (const e of entries) {
      if (isSettled(e)) continue;
      const k = instanceKey(e.slot);
      const slot = this.liveOf(k);
      if (slot.records.last() !== record) slot.records.push(record);
      holds.add(k);
      if (slot.entries.some((x) => bytesEqual(x, e.entry))) continue;
      slot.entries.push(e.entry);
      slot.written = slot.entries.length;
      kept.push(e);
    }
    if (holds.size > 0) this.records.set(record, holds);
    else this.deletions.push(this.recordKey(record));
    return kept;
  }

  /** Deletes a key of an earlier layout with the next `take` (its entry, if still needed, was `add`ed). */
  protected deleteWithNextTake(k: string): void {
    this.deletions.push(k);
  }

  /** Records an entry of `slot` made in this step (it reaches disk with the step's `take`). */
  protected addEntry(slot: Slot, entry: Uint8Array): void {
    const k = instanceKey(slot);
    this.liveOf(k).entries.push(entry);
    this.unwritten.add(k);
  }

  /** As `addEntry`, unless the slot already has an entry of these bytes (written or not). */
  protected addEntryOnce(slot: Slot, entry: Uint8Array): void {
    const k = instanceKey(slot);
    const live = this.liveOf(k);
    if (live.entries.some((x) => bytesEqual(x, entry))) return;
    live.entries.push(entry);
    this.unwritten.add(k);
  }

  /** The ledger now holds the slot (source, seq): its entries are no longer needed. */
  settle(source: string, seq: number): void {
    const k = instanceKey({ source, seq });
    const slot = this.live.get(k);
    if (slot === undefined) return;
    this.live.delete(k);
    this.unwritten.delete(k);
    slot.records.forEach((record) => {
      this.release(record, k);
    });
  }

  /** The step's writes: its record (if a slot of it is still unsettled), relocations and deletions. */
  take(): BatchOp[] {
    const oldest = this.records.keys().next();
    if (!oldest.done && oldest.value < this.nextRecord - RELOCATE_AFTER_RECORDS) this.relocate(oldest.value);
    const ops: BatchOp[] = [];
    if (this.unwritten.size > 0) {
      const record = this.nextRecord++;
      const parts: Uint8Array[] = [];
      for (const k of this.unwritten) {
        const slot = this.live.get(k)!;
        for (let i = slot.written; i < slot.entries.length; i++) parts.push(slot.entries.at(i));
        slot.written = slot.entries.length;
        slot.records.push(record);
      }
      ops.push({ type: "put", key: this.recordKey(record), value: Buffer.concat(parts) });
      this.records.set(record, new Set(this.unwritten));
      this.unwritten.clear();
    }
    for (const k of this.deletions) ops.push({ type: "del", key: k });
    this.deletions = [];
    return ops;
  }

  /** Records on disk that still hold an unsettled slot (after the last `take`). */
  get recordCount(): number {
    return this.records.size;
  }

  /** Every record of `bucket`, in ascending order, each decoded into its entries (`decode` throws if corrupt). */
  protected static async readRecords<T>(
    db: NodeDatabase,
    bucket: Bucket,
    decode: (k: string, bytes: Uint8Array) => T[],
  ): Promise<Array<{ record: number; entries: T[] }>> {
    const out: Array<{ record: number; entries: T[] }> = [];
    for await (const [k, v] of db.iterator(range(bucket))) {
      out.push({ record: Number(k.slice(k.lastIndexOf("/") + 1)), entries: decode(k, v) });
    }
    return out;
  }

  /** Moves every entry of an old record's unsettled slots into this step's record; it is deleted. */
  private relocate(record: number): void {
    for (const k of [...this.records.get(record)!]) {
      const slot = this.live.get(k)!;
      slot.records.forEach((r) => {
        this.release(r, k);
      });
      slot.records.clear();
      slot.written = 0;
      this.unwritten.add(k);
    }
  }

  private liveOf(k: string): LiveSlot {
    let slot = this.live.get(k);
    if (slot === undefined) {
      slot = { entries: new SmallList(), written: 0, records: new SmallList() };
      this.live.set(k, slot);
    }
    return slot;
  }

  private release(record: number, k: string): void {
    const holds = this.records.get(record);
    if (holds === undefined || !holds.delete(k) || holds.size > 0) return;
    this.records.delete(record);
    this.deletions.push(this.recordKey(record));
  }

  private recordKey(record: number): string {
    return key(this.bucket, sortableNumber(record));
  }
}
