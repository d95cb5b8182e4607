import type { AccountRecord, LedgerStore, TransferRecord } from "./store.ts";

export class MemoryLedgerStore implements LedgerStore {
  private readonly accounts = new Map<string, AccountRecord>();
  private readonly transfers = new Map<string, TransferRecord>();
  private readonly unreferenced = new Map<string, Map<string, bigint>>();
  private readonly delivered = new Map<string, TransferRecord>();

  getAccount(address: string): AccountRecord | undefined {
    return this.accounts.get(address);
  }
  putAccount(address: string, record: AccountRecord): void {
    this.accounts.set(address, record);
  }
  getTransfer(id: string): TransferRecord | undefined {
    return this.transfers.get(id);
  }
  putTransfer(record: TransferRecord): void {
    this.transfers.set(record.id, record);
    if (record.status === "delivered") this.delivered.set(record.id, record);
    else this.delivered.delete(record.id);
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
  }
  deleteUnreferenced(address: string, id: string): void {
    const ids = this.unreferenced.get(address);
    ids?.delete(id);
    if (ids?.size === 0) this.unreferenced.delete(address);
  }
  listUnreferenced(address: string, limit: number): string[] {
    const out: string[] = [];
    for (const id of this.unreferenced.get(address)?.keys() ?? []) {
      if (out.length >= limit) break;
      out.push(id);
    }
    return out;
  }
  listDelivered(): Iterable<TransferRecord> {
    return [...this.delivered.values()];
  }
  /** Every account ever touched; tests use it to check conservation of supply. */
  accountAddresses(): string[] {
    return [...this.accounts.keys()];
  }
}
