import { BoundedCache } from "../../core/boundedCache.ts";
import type { Digest, InstanceRef } from "../types.ts";

interface DeliveredRecord {
  readonly digest: Digest;
  readonly atMs: number;
}

export interface DeliveredLogOptions {
  readonly maxRecords: number;
  readonly maxPayloads: number;
  /** The ledger's "already delivered and applied" test (`InstanceOptions.isSettled`). */
  readonly isSettled: (instance: InstanceRef) => boolean;
}

/**
 * What this node delivered, after the instance left the live table: instance key → digest, oldest evicted
 * first. It answers "what did you deliver for (account, seq)?" and makes late ECHO/READY/SEND for a
 * delivered instance a no-op. The payload bytes of the most recent deliveries are kept too, for peers that
 * pull them shortly after; older ones are served from the driver's store. Past `maxRecords`, the caller's
 * `isSettled` hook (the ledger's per-account watermark) is what recognises a settled instance.
 */
export class DeliveredLog {
  private readonly isSettledHook: (instance: InstanceRef) => boolean;
  /** The digest delivered, and when: a vote for it long after is a peer's retransmission. One map, not two. */
  private readonly records: BoundedCache<string, DeliveredRecord>;
  private readonly payloads: BoundedCache<string, Uint8Array>;

  constructor(options: DeliveredLogOptions) {
    this.isSettledHook = options.isSettled;
    this.records = new BoundedCache(options.maxRecords);
    this.payloads = new BoundedCache(options.maxPayloads);
  }

  get size(): number {
    return this.records.size;
  }

  record(key: string, digest: Digest, payload: Uint8Array, nowMs: number): void {
    this.records.set(key, { digest, atMs: nowMs });
    this.payloads.set(key, payload);
  }

  digestOf(key: string): Digest | undefined {
    return this.records.get(key)?.digest;
  }

  /** When this node delivered the instance, while it is recorded. */
  deliveredAtMs(key: string): number | undefined {
    return this.records.get(key)?.atMs;
  }

  payloadOf(key: string, digest: Digest): Uint8Array | undefined {
    return this.digestOf(key) === digest ? this.payloads.get(key) : undefined;
  }

  /**
   * Delivered here and still recorded, or settled by the ledger: either way, closed for good. The hook first:
   * the ledger answers from an account record already in cache, the record table is a large map.
   */
  isSettled(key: string, instance: InstanceRef): boolean {
    return this.isSettledHook(instance) || this.records.has(key);
  }

  /**
   * Whether the driver's store should hold the payload of `digest`: this node delivered exactly it, or the
   * ledger settled the instance (with whatever digest: the driver's lookup checks).
   */
  inStore(key: string, instance: InstanceRef, digest: Digest): boolean {
    return this.digestOf(key) === digest || this.isSettledHook(instance);
  }
}
