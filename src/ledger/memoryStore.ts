import type { EncodedTransfer } from "../core/transfer.ts";
import { IdBuckets } from "./idBuckets.ts";
import type { AccountRecord, LedgerStore, RejectionReason, TransferStatusRecord } from "./store.ts";

/**
 * Past this many unreferenced payments an account's smallest ids are listed from an index by first byte rather
 * than by sorting them all (≈ 0.1 ms at 1,000, 40–57 ms at 100,000; the index costs a Set entry per payment, so
 * small accounts skip it).
 */
const LARGE_UNREFERENCED = 1_024;

function bucketsOf(ids: Iterable<string>): IdBuckets {
  const buckets = new IdBuckets();
  for (const id of ids) buckets.add(id);
  return buckets;
}

export class MemoryLedgerStore implements LedgerStore {
  private readonly accounts = new Map<string, AccountRecord>();
  private readonly statuses = new Map<string, TransferStatusRecord>();
  private readonly unreferenced = new Map<string, Map<string, bigint>>();
  private readonly waiting = new Map<string, EncodedTransfer>();
  /** Accounts with more than LARGE_UNREFERENCED unreferenced payments: their ids by first byte (idBuckets.ts). */
  private readonly largeUnreferenced = new Map<string, IdBuckets>();

  getAccount(address: string): AccountRecord | undefined {
    return this.accounts.get(address);
  }
  putAccount(address: string, record: AccountRecord): void {
    this.accounts.set(address, record);
  }
  getStatus(id: string): TransferStatusRecord | undefined {
    return this.statuses.get(id);
  }
  heldStatus(id: string): TransferStatusRecord | undefined {
    return this.statuses.get(id);
  }
  getWaiting(id: string): EncodedTransfer | undefined {
    return this.waiting.get(id);
  }
  putWaiting(encoded: EncodedTransfer): void {
    this.statuses.set(encoded.id, { status: "delivered" });
    this.waiting.set(encoded.id, encoded);
  }
  putResolved(encoded: EncodedTransfer, status: "applied" | "rejected", reason?: RejectionReason): void {
    this.statuses.set(encoded.id, reason === undefined ? { status } : { status, reason });
    this.waiting.delete(encoded.id);
  }
  getUnreferenced(address: string, id: string): bigint | undefined {
    return this.unreferenced.get(address)?.get(id);
  }
  putUnreferenced(address: string, id: string, amount: bigint): void {
    let ids = this.unreferenced.get(address);
    if (ids === undefined) {
      ids = new Map();
      this.unreferenced.set(address, ids);
    }
    ids.set(id, amount);
    const buckets = this.largeUnreferenced.get(address);
    if (buckets !== undefined) buckets.add(id);
    else if (ids.size > LARGE_UNREFERENCED) this.largeUnreferenced.set(address, bucketsOf(ids.keys()));
  }
  deleteUnreferenced(address: string, id: string): void {
    const ids = this.unreferenced.get(address);
    ids?.delete(id);
    if (ids?.size === 0) this.unreferenced.delete(address);
    const buckets = this.largeUnreferenced.get(address);
    buckets?.delete(id);
    // Half the threshold before the index goes: an account hovering at it does not rebuild it each time.
    if (buckets !== undefined && buckets.size < LARGE_UNREFERENCED / 2)
      this.largeUnreferenced.delete(address);
  }
  listUnreferenced(address: string, limit: number): string[] {
    // Sorted, not insertion order: nodes apply in different orders and a restarted node reloads by key.
    const buckets = this.largeUnreferenced.get(address);
    if (buckets !== undefined) return buckets.smallest(limit);
    return [...(this.unreferenced.get(address)?.keys() ?? [])].sort().slice(0, limit);
  }
  /** The sum of each account's unreferenced payments, for accounts that have any. */
  unreferencedTotals(): Map<string, bigint> {
    const totals = new Map<string, bigint>();
    for (const [address, ids] of this.unreferenced) {
      let total = 0n;
      for (const amount of ids.values()) total += amount;
      totals.set(address, total);
    }
    return totals;
  }
  listWaiting(): Iterable<EncodedTransfer> {
    return [...this.waiting.values()];
  }
  listAccounts(): Iterable<[address: string, record: AccountRecord]> {
    // A copy: callers may write to the store while they walk the list.
    return [...this.accounts];
  }
  /**
   * Forgets a transfer the caller resolved and keeps elsewhere (the LevelDB store keeps recent statuses and
   * the disk): its waiting entry and delivered status, if any. `putResolved` would add a status only for the
   * caller to delete it again, and a map that grows and shrinks by one per transfer reallocates its table.
   */
  forgetResolved(id: string): void {
    if (this.waiting.delete(id)) this.statuses.delete(id);
  }
  /** Every account ever touched; tests use it to check conservation of supply. */
  accountAddresses(): string[] {
    return [...this.accounts.keys()];
  }
}
