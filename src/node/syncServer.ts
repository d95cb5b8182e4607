import type { Ledger } from "../ledger/ledger.ts";
import { bucketOfAddress } from "../protocols/status/watermarkSummary.ts";
import {
  MAX_BODY_ANSWER_BYTES,
  MAX_WATERMARK_ENTRIES,
  type SyncRequest,
  type SyncResponse,
} from "../protocols/sync/syncMessages.ts";
import type { LevelLedgerStore } from "../storage/levelLedgerStore.ts";
import type { DurableReads } from "./durableReads.ts";

/**
 * Answers peers' sync requests from what is durable here: resolved transfers' ids from the (source, seq)
 * index, their bodies from the store, watermarks from the ledger. Reads wait for the processing step in
 * flight, so an answer never shows a verdict a crash could take back.
 */
export class SyncServer {
  private readonly ledger: Ledger;
  private readonly store: LevelLedgerStore;
  private readonly durableReads: DurableReads;

  constructor(ledger: Ledger, store: LevelLedgerStore, durableReads: DurableReads) {
    this.ledger = ledger;
    this.store = store;
    this.durableReads = durableReads;
  }

  readonly serve = async (request: SyncRequest): Promise<SyncResponse> => {
    await this.durableReads.settled();
    if (request.kind === "watermarks") return this.watermarks(request.buckets, request.after);
    const ids = await this.store.resolvedIds(request.source, request.fromSeq, request.count);
    if (request.kind === "digests") return { kind: "digests", ids };
    const bodies: Uint8Array[] = [];
    let bytes = 0;
    for (const id of ids) {
      const encoded = await this.store.body(id);
      if (encoded === undefined || bytes + encoded.bytes.length > MAX_BODY_ANSWER_BYTES) break;
      bytes += encoded.bytes.length;
      bodies.push(encoded.bytes);
    }
    return { kind: "bodies", bodies };
  };

  /**
   * Accounts of the asked buckets with a watermark above 0, in address order after the cursor. O(accounts)
   * per page (one SHA-256 per account): fine for the ledgers this node holds today; an index by bucket is
   * the fix when it is not (docs/catch-up.md, "Open").
   */
  private watermarks(buckets: readonly number[], after: string | undefined): SyncResponse {
    const asked = new Set(buckets);
    const entries: [string, number][] = [];
    for (const [address, seq] of this.ledger.accountWatermarks()) {
      if (seq === 0 || (after !== undefined && address <= after)) continue;
      if (asked.has(bucketOfAddress(address))) entries.push([address, seq]);
    }
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const page = entries.slice(0, MAX_WATERMARK_ENTRIES);
    return { kind: "watermarks", entries: page, more: entries.length > page.length };
  }
}
