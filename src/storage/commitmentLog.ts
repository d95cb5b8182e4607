import { decodeBroadcastMessage, encodeBroadcastMessage, VOTE_BYTES } from "../broadcast/messageCodec.ts";
import type { Commitment, InstanceRef } from "../broadcast/types.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { Bucket, range } from "./buckets.ts";
import { type NodeDatabase, parseJsonValue } from "./database.ts";
import { SlotRecords } from "./slotRecords.ts";

/** What `CommitmentLog.load` read from disk, for `CommitmentLog.restore`. */
export interface LoadedCommitments {
  readonly records: ReadonlyArray<{ readonly record: number; readonly commitments: readonly Commitment[] }>;
  /** Commitments in the one-key-per-commitment form of earlier versions, with their keys. */
  readonly legacy: ReadonlyArray<{ readonly key: string; readonly commitment: Commitment }>;
}

/**
 * The broadcast's commitments (this node's own ECHO and READY per instance) as step records (slotRecords.ts),
 * each commitment in the wire form of the vote it guards (`VOTE_BYTES`), written in the step's fsynced batch
 * before the votes it guards leave the node. A record is deleted in the step whose delivery settles the last
 * instance it holds (the ledger then holds the slot, which keeps the instance closed by itself).
 *
 * Before the records, a transfer cost four LevelDB writes here (ECHO and READY put, both deleted at delivery).
 * Memory: the unsettled instances with commitments (the broadcast keeps the same set), and their records.
 */
export class CommitmentLog extends SlotRecords {
  constructor() {
    super(Bucket.commitmentLog);
  }

  /**
   * Takes over what `load` read: returns the commitments of instances not settled (`isSettled`, the ledger's
   * slot test), for the broadcast's `restore` (each instance's in the order it made them). Records left with
   * no unsettled instance, and the legacy keys, are deleted by the next `take`; legacy commitments still
   * needed move into its record.
   */
  restore(loaded: LoadedCommitments, isSettled: (instance: InstanceRef) => boolean): Commitment[] {
    const out: Commitment[] = [];
    for (const { record, commitments } of loaded.records) {
      const entries = commitments.map((c) => ({ slot: c.instance, entry: encodeEntry(c), c }));
      for (const kept of this.restoreRecord(record, entries, (e) => isSettled(e.c.instance)))
        out.push(kept.c);
    }
    for (const { key: legacyKey, commitment } of loaded.legacy) {
      this.deleteWithNextTake(legacyKey);
      if (isSettled(commitment.instance)) continue;
      this.add(commitment);
      out.push(commitment);
    }
    return out;
  }

  /** Records a commitment made in this step (it reaches disk with the step's `take`). */
  add(commitment: Commitment): void {
    this.addEntry(commitment.instance, encodeEntry(commitment));
  }

  /** Reads every record (and legacy commitment) at start; a malformed one means the log is corrupt. */
  static async load(db: NodeDatabase): Promise<LoadedCommitments> {
    const records = (await SlotRecords.readRecords(db, Bucket.commitmentLog, decodeRecord)).map(
      ({ record, entries }) => ({ record, commitments: entries }),
    );
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
