import { Bucket, key, range, sortableNumber } from "./buckets.ts";
import { type BatchOp, jsonValue, type NodeDatabase, parseJsonValue } from "./database.ts";

/** One proposal-book entry as stored (amount in decimal). */
export interface StoredProposal {
  readonly id: string;
  readonly seq: number;
  /** A ProposalStatus (src/node/shared/proposalBook.ts). */
  readonly status: string;
  readonly transferId?: string;
  readonly supersededBy?: string;
  /** For a rebuild: the id the owner's node first answered for this proposal (see ProposalBook.supersede). */
  readonly origin?: string;
  readonly to: string;
  readonly amount: string;
}

/** One pending proposal as stored: the body is the one built for `seq` (hex). */
export interface StoredPayment {
  readonly to: string;
  readonly amount: string;
  readonly memo?: string;
  readonly id: string;
  readonly seq: number;
  readonly body: string;
}

/**
 * A hosting node's proposals for one shared account, so they survive a restart: the book ("b", keyed by
 * insertion order, ≤ 1,000 per account) and the pending proposals ("p", keyed by a slot that stays the same
 * when a proposal is rebuilt for a later seq, ≤ 256 per account). Written in the committee driver's batches.
 */
export const proposalRecords = {
  putEntry(accountHex: string, order: number, entry: StoredProposal): BatchOp {
    return {
      type: "put",
      key: key(Bucket.sharedProposal, accountHex, "b", sortableNumber(order)),
      value: jsonValue(entry),
    };
  },
  delEntry(accountHex: string, order: number): BatchOp {
    return { type: "del", key: key(Bucket.sharedProposal, accountHex, "b", sortableNumber(order)) };
  },
  putPayment(accountHex: string, slot: number, payment: StoredPayment): BatchOp {
    return {
      type: "put",
      key: key(Bucket.sharedProposal, accountHex, "p", sortableNumber(slot)),
      value: jsonValue(payment),
    };
  },
  delPayment(accountHex: string, slot: number): BatchOp {
    return { type: "del", key: key(Bucket.sharedProposal, accountHex, "p", sortableNumber(slot)) };
  },

  /** Both lists in key order (oldest first). */
  async load(
    db: NodeDatabase,
    accountHex: string,
  ): Promise<{
    entries: { order: number; entry: StoredProposal }[];
    payments: { slot: number; payment: StoredPayment }[];
  }> {
    const entries: { order: number; entry: StoredProposal }[] = [];
    for await (const [k, v] of db.iterator(range(Bucket.sharedProposal, accountHex, "b")))
      entries.push({ order: counterOf(k), entry: parseJsonValue<StoredProposal>(v) });
    const payments: { slot: number; payment: StoredPayment }[] = [];
    for await (const [k, v] of db.iterator(range(Bucket.sharedProposal, accountHex, "p")))
      payments.push({ slot: counterOf(k), payment: parseJsonValue<StoredPayment>(v) });
    return { entries, payments };
  },
};

function counterOf(k: string): number {
  return Number(k.slice(k.lastIndexOf("/") + 1));
}
