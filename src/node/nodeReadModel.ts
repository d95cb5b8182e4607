import type { AccountTransfersPage, AccountTransferView, TransferView } from "../api/nodeApi.ts";
import type { EncodedTransfer } from "../core/transfer.ts";
import { transferToJson } from "../core/transferJson.ts";
import type { LevelLedgerStore, LoadedStatuses } from "../storage/levelLedgerStore.ts";
import type { NodeCore } from "./core/nodeCore.ts";
import type { SubmitResult } from "./core/nodeEvents.ts";
import { knownDefinition } from "./shared/knownDefinition.ts";

/** A history page stops once its transfers' JSON reaches this (see `accountTransfers`). */
export const MAX_HISTORY_PAGE_BYTES = 1024 * 1024;

/**
 * Probes a read gets before it falls back to reading in place: the first finds what memory lacks, the second
 * answers with it; a third only if a processing step moved the ledger in between (it needed other statuses).
 */
const READ_ROUNDS = 3;

/**
 * What the API reads: statuses from the core (ledger verdicts, or pending/superseded submissions), bodies from
 * the core's memory or the store. Reads only state that is durable: each synchronous read of the core runs
 * right after `settled` (no processing step's write in flight).
 *
 * Statuses that left memory (resolved long ago) are read from LevelDB asynchronously before the core is asked
 * (`readCore`): any client can ask about any id, or submit a transfer with a stale seq or made-up deps, and a
 * synchronous disk read would stall the event loop — every peer and every client — for each such request.
 */
export class NodeReadModel {
  private readonly core: NodeCore;
  private readonly store: LevelLedgerStore;
  private readonly settled: () => Promise<void>;
  private readonly maxHistoryPageBytes: number;

  constructor(
    core: NodeCore,
    store: LevelLedgerStore,
    settled: () => Promise<void>,
    options: { readonly maxHistoryPageBytes?: number } = {},
  ) {
    this.core = core;
    this.store = store;
    this.settled = settled;
    this.maxHistoryPageBytes = options.maxHistoryPageBytes ?? MAX_HISTORY_PAGE_BYTES;
  }

  /** The core's answer to a submission that needs no processing step (`NodeCore.quickAnswer`). */
  quickAnswer(encoded: EncodedTransfer): Promise<SubmitResult | undefined> {
    return this.readCore(() => this.core.quickAnswer(encoded));
  }

  async transfer(id: string): Promise<TransferView | undefined> {
    const seen = await this.readCore(() => ({
      status: this.core.statusOf(id),
      reason: this.core.ledger.status(id)?.reason ?? this.core.submissions.reasonOf(id),
      body: this.core.submissions.body(id),
    }));
    if (seen.status === undefined) return undefined;
    const encoded = seen.body ?? (await this.store.body(id));
    if (encoded === undefined) return undefined;
    const { status, reason } = seen;
    return { id, status, ...(reason ? { reason } : {}), transfer: transferToJson(encoded.transfer) };
  }

  /** The ledger's view, plus a shared account's definition once a certified transfer of it resolved here. */
  async account(address: string) {
    const definition = await knownDefinition(this.store, address);
    return { ...this.core.ledger.account(address), ...(definition !== undefined ? { definition } : {}) };
  }

  /**
   * One page of the account's history, newest first; `next` comes from the store, so a page never skips. A
   * page also ends early, with `next` at its last transfer, once its transfers' JSON reaches
   * `maxHistoryPageBytes` (MAX_HISTORY_PAGE_BYTES): anyone can pay an address large transfers (≈ 23 KiB
   * each with 256 deps and 64 outputs), and an answer waits in the node's memory until its client reads it.
   */
  async accountTransfers(address: string, limit: number, before?: number): Promise<AccountTransfersPage> {
    const page = await this.store.historyPage(address, limit, before);
    const transfers: AccountTransferView[] = [];
    let bytes = 0;
    for (const [i, entry] of page.entries.entries()) {
      const view = await this.transfer(entry.id);
      if (view === undefined) continue;
      transfers.push({ ...view, direction: entry.direction });
      bytes += JSON.stringify(view.transfer).length;
      const more = i + 1 < page.entries.length;
      if (bytes >= this.maxHistoryPageBytes && more) return { transfers, next: entry.position };
    }
    return { transfers, ...(page.next !== undefined ? { next: page.next } : {}) };
  }

  /**
   * Runs a synchronous read of the core over durable state, the statuses it needs from disk loaded first
   * without blocking. Only if the ledger keeps moving between rounds does the last one read in place.
   */
  private async readCore<T>(read: () => T): Promise<T> {
    const loaded: LoadedStatuses = new Map();
    for (let round = 0; round < READ_ROUNDS; round++) {
      await this.settled();
      const { value, missing } = this.store.probeStatuses(loaded, read);
      if (missing.length === 0) return value;
      await this.store.loadStatuses(missing, loaded);
    }
    await this.settled();
    return this.store.withLoadedStatuses(loaded, read);
  }
}
