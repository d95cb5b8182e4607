import { instanceKey } from "../broadcast/instance/instanceId.ts";
import { decodeBroadcastMessage, encodeBroadcastMessage, VOTE_BYTES } from "../broadcast/messageCodec.ts";
import type { Commitment, InstanceRef } from "../broadcast/types.ts";
import { bytesEqual } from "../core/bytes.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { Bucket, key, range, sortableNumber } from "./buckets.ts";
import { type BatchOp, type NodeDatabase, parseJsonValue } from "./database.ts";

/**
 * A record pinned by an instance that never settles is rewritten once this many newer records exist: its
 * unsettled commitments move into the newest record and it is deleted. So at most this many records (plus
 * the one being written) are on disk, whatever peers or sources do.
 */
export const RELOCATE_AFTER_RECORDS = 1_024;

/** What `CommitmentLog.load` read from disk, for `CommitmentLog.restore`. */
export interface LoadedCommitments {
  readonly records: ReadonlyArray<{ readonly record: number; readonly commitments: readonly Commitment[] }>;
  /** Commitments in the one-key-per-commitment form of earlier versions, with their keys. */
  readonly legacy: ReadonlyArray<{ readonly key: string; readonly commitment: Commitment }>;
}

interface LiveInstance {
  /** This instance's commitments, encoded, oldest first: all are copied forward when it is relocated. */
  readonly entries: Uint8Array[];
  /** Entries before this index are in a record on disk (or in the batch being taken). */
  written: number;
  /** The records holding them, oldest first. */
  records: number[];
}

/**
 * The broadcast's commitments (this node's own ECHO and READY per instance) as LevelDB records: one record per
 * processing step, holding every commitment the step made (each in the wire form of the vote it guards,
 * `VOTE_BYTES`), written in the step's fsynced batch before the votes it guards leave the node. A record is
 * deleted in the step whose delivery settles the last instance it holds (the ledger then holds the slot, which
 * keeps the instance closed by itself); a step whose instances all settle before it ends writes no record at
 * all.
 *
 * Why records and not a key per commitment: a transfer cost four LevelDB writes here (ECHO and READY put, both
 * deleted at delivery), each a skiplist insert, a log append and later compaction work; a step record costs
 * one put and one delete for hundreds of transfers.
 *
 * Sans-I/O: `add`, `settle` and `take` only change memory and return writes; `load` reads at start.
 * Memory: the unsettled instances with commitments (the broadcast keeps the same set), and their records.
 */
export class CommitmentLog {
  private nextRecord = 0;
  private readonly live = new Map<string, LiveInstance>();
  /** Instances with commitments this step's record must hold: new ones, or all of a relocated instance's. */
  private readonly unwritten = new Set<string>();
  /** Unsettled instances per record on disk, in ascending record order (a new record is always the newest). */
  private readonly records = new Map<number, Set<string>>();
  private deletions: string[] = [];

  /**
   * Takes over what `load` read: returns the commitments of instances not settled (`isSettled`, the ledger's
   * slot test), for the broadcast's `restore` (each instance's in the order it made them). Records left with
   * no unsettled instance, and the legacy keys, are deleted by the next `take`; legacy commitments still
   * needed move into its record.
   */
  restore(loaded: LoadedCommitments, isSettled: (instance: InstanceRef) => boolean): Commitment[] {
    const out: Commitment[] = [];
    for (const { record, commitments } of loaded.records) {
      this.nextRecord = Math.max(this.nextRecord, record + 1);
      const holds = new Set<string>();
      for (const c of commitments) {
        if (isSettled(c.instance)) continue;
        const k = instanceKey(c.instance);
        const inst = this.liveOf(k);
        if (inst.records.at(-1) !== record) inst.records.push(record);
        holds.add(k);
        // A relocated instance's commitments are also in the records it left while those hold others.
        const entry = encodeEntry(c);
        if (inst.entries.some((e) => bytesEqual(e, entry))) continue;
        inst.entries.push(entry);
        inst.written = inst.entries.length;
        out.push(c);
      }
      if (holds.size > 0) this.records.set(record, holds);
      else this.deletions.push(recordKey(record));
    }
    for (const { key: legacyKey, commitment } of loaded.legacy) {
      this.deletions.push(legacyKey);
      if (isSettled(commitment.instance)) continue;
      this.add(commitment);
      out.push(commitment);
    }
    return out;
  }

  /** Records a commitment made in this step (it reaches disk with the step's `take`). */
  add(commitment: Commitment): void {
    const k = instanceKey(commitment.instance);
    this.liveOf(k).entries.push(encodeEntry(commitment));
    this.unwritten.add(k);
  }

  /** The ledger now holds the instance's slot: its commitments are no longer needed. */
  settle(source: string, seq: number): void {
    const k = instanceKey({ source, seq });
    const inst = this.live.get(k);
    if (inst === undefined) return;
    this.live.delete(k);
    this.unwritten.delete(k);
    for (const record of inst.records) this.release(record, k);
  }

  /** The step's writes: its record (if an instance of it is still unsettled), relocations and deletions. */
  take(): BatchOp[] {
    const oldest = this.records.keys().next();
    if (!oldest.done && oldest.value < this.nextRecord - RELOCATE_AFTER_RECORDS) this.relocate(oldest.value);
    const ops: BatchOp[] = [];
    if (this.unwritten.size > 0) {
      const record = this.nextRecord++;
      const parts: Uint8Array[] = [];
      for (const k of this.unwritten) {
        const inst = this.live.get(k)!;
        for (let i = inst.written; i < inst.entries.length; i++) parts.push(inst.entries[i]!);
        inst.written = inst.entries.length;
        inst.records.push(record);
      }
      ops.push({ type: "put", key: recordKey(record), value: Buffer.concat(parts) });
      this.records.set(record, new Set(this.unwritten));
      this.unwritten.clear();
    }
    for (const k of this.deletions) ops.push({ type: "del", key: k });
    this.deletions = [];
    return ops;
  }

  /** Records on disk that still hold an unsettled instance (after the last `take`). */
  get recordCount(): number {
    return this.records.size;
  }

  /** Reads every record (and legacy commitment) at start; a malformed one means the log is corrupt. */
  static async load(db: NodeDatabase): Promise<LoadedCommitments> {
    const records: Array<{ record: number; commitments: Commitment[] }> = [];
    for await (const [k, v] of db.iterator(range(Bucket.commitmentLog))) {
      records.push({ record: Number(k.slice(k.lastIndexOf("/") + 1)), commitments: decodeRecord(k, v) });
    }
    const legacy: Array<{ key: string; commitment: Commitment }> = [];
    for await (const [k, v] of db.iterator(range(Bucket.legacyCommitment))) {
      const [, source, seq, kind] = k.split("/") as [string, string, string, "echo" | "ready"];
      const commitment: Commitment = {
        instance: { source, seq: Number(seq) },
        kind,
        digest: parseJsonValue(v),
      };
      legacy.push({ key: k, commitment });
    }
    return { records, legacy };
  }

  /** Moves every commitment of an old record's unsettled instances into this step's record; it is deleted. */
  private relocate(record: number): void {
    for (const k of [...this.records.get(record)!]) {
      const inst = this.live.get(k)!;
      for (const r of inst.records) this.release(r, k);
      inst.records = [];
      inst.written = 0;
      this.unwritten.add(k);
    }
  }

  private liveOf(k: string): LiveInstance {
    let inst = this.live.get(k);
    if (inst === undefined) {
      inst = { entries: [], written: 0, records: [] };
      this.live.set(k, inst);
    }
    return inst;
  }

  private release(record: number, k: string): void {
    const holds = this.records.get(record);
    if (holds === undefined || !holds.delete(k) || holds.size > 0) return;
    this.records.delete(record);
    this.deletions.push(recordKey(record));
  }
}

function recordKey(record: number): string {
  return key(Bucket.commitmentLog, sortableNumber(record));
}

function encodeEntry(c: Commitment): Uint8Array {
  return encodeBroadcastMessage({ kind: c.kind, instance: c.instance, digest: c.digest });
}

function decodeRecord(k: string, bytes: Uint8Array): Commitment[] {
  if (bytes.length === 0 || bytes.length % VOTE_BYTES !== 0) throw corrupt(k, `${bytes.length} bytes`);
  const out: Commitment[] = [];
  for (let at = 0; at < bytes.length; at += VOTE_BYTES) {
    let vote: ReturnType<typeof decodeBroadcastMessage>;
    try {
      vote = decodeBroadcastMessage(bytes.subarray(at, at + VOTE_BYTES));
    } catch (e) {
      throw corrupt(k, (e as Error).message);
    }
    if (vote.kind !== "echo" && vote.kind !== "ready") throw corrupt(k, `a ${vote.kind} entry`);
    out.push({ instance: vote.instance, kind: vote.kind, digest: vote.digest });
  }
  return out;
}

function corrupt(k: string, detail: string): TallyError {
  return new TallyError(ErrorCode.InvalidConfig, `commitment record ${k} is corrupt: ${detail}`);
}
