import type { ErrorCode } from "../core/errors.ts";
import type { EncodedTransfer } from "../core/transfer.ts";

/** What the ledger keeps per account. Balance = spendable + unreferencedTotal. */
export interface AccountRecord {
  /** Seq of the account's last resolved (applied or rejected) outgoing transfer; 0 before the first. */
  readonly seq: number;
  /** Initial balance + referenced incoming − applied outgoing: what the owner may spend (Alg. 5 line 25). */
  readonly spendable: bigint;
  /** Sum of applied incoming transfers that no outgoing transfer of the account references yet. */
  readonly unreferencedTotal: bigint;
}

/**
 * `delivered`: handed to the ledger, waiting for its predecessor seq or for its deps to be applied.
 * `applied` and `rejected` are final and identical on every correct node.
 */
export type LedgerStatus = "delivered" | "applied" | "rejected";

export interface RejectionReason {
  readonly code: ErrorCode;
  readonly message: string;
}

/** What the validator needs to know about any transfer it has seen: small, so it can stay in memory. */
export interface TransferStatusRecord {
  readonly status: LedgerStatus;
  readonly reason?: RejectionReason | undefined;
}

/**
 * Synchronous storage the validator runs over. The in-memory store serves tests and the simulator;
 * the node's store keeps the same records in LevelDB and flushes each call's writes as one batch
 * before the node acts on the outcome.
 */
export interface LedgerStore {
  getAccount(address: string): AccountRecord | undefined;
  putAccount(address: string, record: AccountRecord): void;
  getStatus(id: string): TransferStatusRecord | undefined;
  /**
   * `getStatus` answered from memory alone: undefined means "not held in memory", which for a store that keeps
   * older statuses on disk says nothing about the disk. For checks a peer can trigger at will, where a disk read
   * per id would let made-up ids cost this node reads (see `Ledger.admission`).
   */
  heldStatus(id: string): TransferStatusRecord | undefined;
  /** The body of a transfer with status `delivered`. */
  getWaiting(id: string): EncodedTransfer | undefined;
  /** Records a delivered transfer that waits for its predecessor or its deps. */
  putWaiting(encoded: EncodedTransfer): void;
  /** Records a final verdict; the transfer stops being waiting. */
  putResolved(encoded: EncodedTransfer, status: "applied" | "rejected", reason?: RejectionReason): void;
  /** Amount `id` paid to `address`, if `id` is applied and still unreferenced by `address`. */
  getUnreferenced(address: string, id: string): bigint | undefined;
  putUnreferenced(address: string, id: string, amount: bigint): void;
  deleteUnreferenced(address: string, id: string): void;
  /** Up to `limit` unreferenced incoming ids of `address`, in ascending id order. */
  listUnreferenced(address: string, limit: number): string[];
  /** Every transfer whose status is `delivered`, to rebuild the waiting set after a restart. */
  listWaiting(): Iterable<EncodedTransfer>;
  /** Every account ever touched, in no particular order; O(accounts), so for start-up folds, not per request. */
  listAccounts(): Iterable<[address: string, record: AccountRecord]>;
}
