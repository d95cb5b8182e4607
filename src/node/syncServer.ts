import type { Ledger } from "../ledger/ledger.ts";
import type { SenderIndex } from "../protocols/sync/senderIndex.ts";
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
 * index, their bodies from the store, watermark listings from the sender index and the ledger. Reads wait for
 * the processing step in flight, so an answer never shows a verdict a crash could take back.
 */
export class SyncServer {
  private readonly ledger: Ledger;
  private readonly senders: SenderIndex;
  private readonly store: LevelLedgerStore;
  private readonly durableReads: DurableReads;

  constructor(ledger: Ledger, senders: SenderIndex, store: LevelLedgerStore, durableReads: DurableReads) {
    this.ledger = ledger;
    this.senders = senders;
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
   * Accounts of the asked buckets with a watermark above 0, in address order after the cursor: a page of the
   * sender index, whatever the ledger's size, and each listed account's watermark from the ledger's memory.
   */
  private watermarks(buckets: readonly number[], after: string | undefined): SyncResponse {
    const { addresses, more } = this.senders.page(buckets, after, MAX_WATERMARK_ENTRIES);
    const entries = addresses.map((address): [string, number] => [address, this.ledger.watermarkOf(address)]);
    return { kind: "watermarks", entries, more };
  }
}
