import type { AccountTransfersPage, AccountTransferView, TransferView } from "../api/nodeApi.ts";
import { transferToJson } from "../core/transferJson.ts";
import type { LevelLedgerStore } from "../storage/levelLedgerStore.ts";
import type { NodeCore } from "./core/nodeCore.ts";
import { knownDefinition } from "./shared/knownDefinition.ts";

/**
 * What the API reads: statuses from the core (ledger verdicts, or pending/superseded submissions), bodies from
 * the core's memory or the store. Reads only state that is durable: the core's state changes are written
 * before the shell moves on to the next step.
 */
export class NodeReadModel {
  private readonly core: NodeCore;
  private readonly store: LevelLedgerStore;

  constructor(core: NodeCore, store: LevelLedgerStore) {
    this.core = core;
    this.store = store;
  }

  async transfer(id: string): Promise<TransferView | undefined> {
    const status = this.core.statusOf(id);
    if (status === undefined) return undefined;
    const encoded = this.core.submissions.body(id) ?? (await this.store.body(id));
    if (encoded === undefined) return undefined;
    const reason = this.core.ledger.status(id)?.reason ?? this.core.submissions.reasonOf(id);
    return { id, status, ...(reason ? { reason } : {}), transfer: transferToJson(encoded.transfer) };
  }

  /** The ledger's view, plus a shared account's definition once a certified transfer of it resolved here. */
  async account(address: string) {
    const definition = await knownDefinition(this.store, address);
    return { ...this.core.ledger.account(address), ...(definition !== undefined ? { definition } : {}) };
  }

  /** One page of the account's history, newest first; `next` comes from the store, so a page never skips. */
  async accountTransfers(address: string, limit: number, before?: number): Promise<AccountTransfersPage> {
    const page = await this.store.historyPage(address, limit, before);
    const transfers: AccountTransferView[] = [];
    for (const entry of page.entries) {
      const view = await this.transfer(entry.id);
      if (view !== undefined) transfers.push({ ...view, direction: entry.direction });
    }
    return { transfers, ...(page.next !== undefined ? { next: page.next } : {}) };
  }
}
