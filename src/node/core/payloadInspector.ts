import type { InspectPayload, PayloadInfo } from "../../broadcast/types.ts";
import { BoundedCache } from "../../core/boundedCache.ts";
import { decodeTransfer, type EncodedTransfer } from "../../core/transfer.ts";
import type { Authorizer } from "../../ledger/authorization.ts";

/** Payloads in flight at once are far fewer: the live-instance caps of the broadcast modes are 10,000. */
export const INSPECT_CACHE_ENTRIES = 10_000;

/**
 * The broadcast's validity check for transfers: decodable, this network, authorized by the source. Gossip
 * brings each payload from several neighbours, so the exact bytes already judged valid are recognised by one
 * hash-map lookup instead of being decoded again; a payload inspected on arrival is not decoded again on
 * delivery either. Both caches are bounded (oldest evicted).
 */
export class PayloadInspector {
  private readonly network: string;
  private readonly authorizer: Authorizer;
  private readonly verdicts = new BoundedCache<string, PayloadInfo>(INSPECT_CACHE_ENTRIES);
  private readonly decoded = new BoundedCache<string, EncodedTransfer>(INSPECT_CACHE_ENTRIES);
  /**
   * The last payload judged valid, by identity: the node inspects a peer's payload before admission, then the
   * broadcast inspects the same object again — the second look costs no key building. Payload bytes are never
   * mutated once received (the channel layer hands each message its own copy).
   */
  private lastPayload: Uint8Array | undefined;
  private lastInfo: PayloadInfo | undefined;

  constructor(network: string, authorizer: Authorizer) {
    this.network = network;
    this.authorizer = authorizer;
  }

  /** Never throws: null for anything a correct node must not echo. */
  readonly inspect: InspectPayload = (payload) => {
    if (payload === this.lastPayload) return this.lastInfo!;
    // latin1 maps each byte to one char: an exact key, built by a plain copy (base64 costs an encoding pass).
    const bytesKey = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("latin1");
    const known = this.verdicts.get(bytesKey);
    if (known !== undefined) return this.memo(payload, known);
    let encoded: EncodedTransfer;
    try {
      encoded = decodeTransfer(payload);
      if (encoded.transfer.network !== this.network) return null;
      this.authorizer.authorize(encoded);
    } catch {
      return null;
    }
    const info: PayloadInfo = {
      instance: { source: encoded.transfer.source, seq: encoded.transfer.seq },
      digest: encoded.id,
    };
    this.decoded.set(encoded.id, encoded);
    this.verdicts.set(bytesKey, info);
    return this.memo(payload, info);
  };

  private memo(payload: Uint8Array, info: PayloadInfo): PayloadInfo {
    this.lastPayload = payload;
    this.lastInfo = info;
    return info;
  }

  /** The payload as a transfer if `inspect` judges it valid (decodable, this network, authorized), else null. */
  decodeValid(payload: Uint8Array): EncodedTransfer | null {
    const info = this.inspect(payload);
    if (info === null) return null;
    return this.decoded.get(info.digest) ?? decodeTransfer(payload);
  }

  /** The delivered payload as a transfer: from the cache when it was inspected recently. */
  takeDecoded(digest: string, payload: Uint8Array): EncodedTransfer {
    const cached = this.decoded.get(digest);
    if (cached === undefined) return decodeTransfer(payload);
    this.decoded.delete(digest);
    return cached;
  }
}
