import { ErrorCode, TallyError } from "../core/errors.ts";
import { decodeTransfer, type EncodedTransfer } from "../core/transfer.ts";
import { Bucket, key, range } from "./buckets.ts";
import type { BatchOp, NodeDatabase } from "./database.ts";

/**
 * The submissions the API holds back until their seq is their account's next
 * (aheadSubmissions.ts), one key per transfer: put when held, deleted when introduced or given up. Not step
 * records like the submitted log's: a held submission may be given up (its timeout, or its place given to
 * another account's) while other entries of its step are still pending, and a record would then bring it back
 * after a restart. Held submissions are few (only a pipelining wallet's later seqs), so a key each costs
 * little. Sans-I/O but for `load`: `add` and `remove` change memory, `take` returns the step's writes.
 */
export class HeldSubmissionsStore {
  /** The step's writes by transfer id: the last of a put and a delete in one step wins. */
  private readonly writes = new Map<string, BatchOp>();

  add(encoded: EncodedTransfer): void {
    this.writes.set(encoded.id, {
      type: "put",
      key: key(Bucket.heldSubmission, encoded.id),
      value: encoded.bytes,
    });
  }

  remove(id: string): void {
    this.writes.set(id, { type: "del", key: key(Bucket.heldSubmission, id) });
  }

  /** The step's writes. */
  take(): BatchOp[] {
    const ops = [...this.writes.values()];
    this.writes.clear();
    return ops;
  }

  /** Every held submission on disk, at start; one that does not decode to its key's id means the store is corrupt. */
  static async load(db: NodeDatabase): Promise<EncodedTransfer[]> {
    const out: EncodedTransfer[] = [];
    for await (const [k, v] of db.iterator(range(Bucket.heldSubmission))) {
      let encoded: EncodedTransfer;
      try {
        // A copy: the value's buffer is LevelDB's, and the transfer outlives it in the hold.
        encoded = decodeTransfer(Uint8Array.from(v));
      } catch (e) {
        throw corrupt(k, (e as Error).message);
      }
      if (k !== key(Bucket.heldSubmission, encoded.id)) throw corrupt(k, `it holds transfer ${encoded.id}`);
      out.push(encoded);
    }
    return out;
  }
}

function corrupt(k: string, detail: string): TallyError {
  return new TallyError(ErrorCode.InvalidConfig, `held-submission record ${k} is corrupt: ${detail}`);
}
