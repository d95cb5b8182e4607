import { ErrorCode, TallyError } from "../core/errors.ts";
import { decodeTransfer, type EncodedTransfer } from "../core/transfer.ts";
import { Bucket, range } from "./buckets.ts";
import type { NodeDatabase } from "./database.ts";
import { HeldSubmissionsStore } from "./heldSubmissions.ts";
import { SlotRecords } from "./slotRecords.ts";

/** What `SubmittedLog.load` read from disk, for `SubmittedLog.restore`. */
export interface LoadedSubmissions {
  readonly records: ReadonlyArray<{
    readonly record: number;
    readonly transfers: readonly EncodedTransfer[];
  }>;
  /** Transfers in the one-key-per-transfer form of earlier versions (bucket 08), with their keys. */
  readonly legacy: ReadonlyArray<{ readonly key: string; readonly encoded: EncodedTransfer }>;
  /** The submissions held back until their seq is the account's next (heldSubmissions.ts): in no record. */
  readonly held: readonly EncodedTransfer[];
}

/**
 * Transfers this node introduced for its API's clients and has not yet seen delivered, as step records
 * (slotRecords.ts): written in the batch of the step that introduced them, before the 202 answer (or, for one
 * held first, in the step that released it: held ones are in heldSubmissions.ts until then), so a restarted
 * node introduces them again instead of losing a transfer a client was told is pending. The delivery of a
 * transfer's slot (its own or a double-spend twin's) settles it.
 *
 * Before the records (session 34), each accepted transfer was a key put at acceptance and deleted at delivery:
 * half a write per transfer per node with four nodes sharing the submissions. Each entry is the transfer's
 * length (4 bytes, big-endian) and its encoding.
 * Memory: the accepted transfers still pending (the submission tracker's bound), and their records.
 */
export class SubmittedLog extends SlotRecords {
  constructor() {
    super(Bucket.submittedLog);
  }

  /**
   * Takes over what `load` read: returns the transfers whose slot is not settled (`isSettled`, the ledger's
   * slot test), to introduce again. Records left with none, and the legacy keys, are deleted by the next
   * `take`; legacy transfers still pending move into its record.
   */
  restore(loaded: LoadedSubmissions, isSettled: (source: string, seq: number) => boolean): EncodedTransfer[] {
    const out: EncodedTransfer[] = [];
    const settled = (encoded: EncodedTransfer) => isSettled(encoded.transfer.source, encoded.transfer.seq);
    for (const { record, transfers } of loaded.records) {
      const entries = transfers.map((encoded) => ({
        slot: encoded.transfer,
        entry: entryOf(encoded),
        encoded,
      }));
      for (const kept of this.restoreRecord(record, entries, (e) => settled(e.encoded)))
        out.push(kept.encoded);
    }
    const restored = new Set(out.map((e) => e.id));
    for (const { key, encoded } of loaded.legacy) {
      this.deleteWithNextTake(key);
      if (settled(encoded) || restored.has(encoded.id)) continue;
      this.add(encoded);
      out.push(encoded);
    }
    return out;
  }

  /**
   * This node introduced `encoded` in this step (it reaches disk with the step's `take`); once per transfer,
   * however often it is offered again.
   */
  add(encoded: EncodedTransfer): void {
    this.addEntryOnce(encoded.transfer, entryOf(encoded));
  }

  /** Reads every record (legacy key, held submission) at start; a malformed one means the log is corrupt. */
  static async load(db: NodeDatabase): Promise<LoadedSubmissions> {
    const records = (await SlotRecords.readRecords(db, Bucket.submittedLog, decodeRecord)).map(
      ({ record, entries }) => ({ record, transfers: entries }),
    );
    const legacy: Array<{ key: string; encoded: EncodedTransfer }> = [];
    for await (const [k, v] of db.iterator(range(Bucket.submitted)))
      legacy.push({ key: k, encoded: decode(k, v) });
    return { records, legacy, held: await HeldSubmissionsStore.load(db) };
  }
}

function entryOf(encoded: EncodedTransfer): Uint8Array {
  const entry = new Uint8Array(4 + encoded.bytes.length);
  new DataView(entry.buffer).setUint32(0, encoded.bytes.length);
  entry.set(encoded.bytes, 4);
  return entry;
}

function decodeRecord(k: string, bytes: Uint8Array): EncodedTransfer[] {
  const out: EncodedTransfer[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) throw corrupt(k, `a length cut short at byte ${at}`);
    const length = view.getUint32(at);
    if (at + 4 + length > bytes.length) throw corrupt(k, `an entry of ${length} bytes past its end`);
    out.push(decode(k, bytes.subarray(at + 4, at + 4 + length)));
    at += 4 + length;
  }
  if (out.length === 0) throw corrupt(k, "no entry");
  return out;
}

function decode(k: string, bytes: Uint8Array): EncodedTransfer {
  try {
    // A copy: the record's buffer is LevelDB's, and a transfer may outlive it in the submission tracker.
    return decodeTransfer(Uint8Array.from(bytes));
  } catch (e) {
    throw corrupt(k, (e as Error).message);
  }
}

function corrupt(k: string, detail: string): TallyError {
  return new TallyError(ErrorCode.InvalidConfig, `submitted-transfer record ${k} is corrupt: ${detail}`);
}
