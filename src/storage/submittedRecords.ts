import { decodeTransfer, type EncodedTransfer } from "../core/transfer.ts";
import { Bucket, key, range } from "./buckets.ts";
import type { BatchOp, NodeDatabase } from "./database.ts";

/**
 * Transfers this node's API accepted and has not yet seen delivered. Persisted in the same batch as their
 * introduction, before the 202 answer: a restarted node introduces them again instead of losing a transfer a
 * client was told is pending.
 */
export const submittedRecords = {
  put(encoded: EncodedTransfer): BatchOp {
    return { type: "put", key: key(Bucket.submitted, encoded.id), value: encoded.bytes };
  },

  del(id: string): BatchOp {
    return { type: "del", key: key(Bucket.submitted, id) };
  },

  async load(db: NodeDatabase): Promise<EncodedTransfer[]> {
    const out: EncodedTransfer[] = [];
    for await (const bytes of db.values(range(Bucket.submitted))) out.push(decodeTransfer(bytes));
    return out;
  },
};
