import { BoundedCache } from "../../core/boundedCache.ts";
import type { Digest, InstanceRef } from "../types.ts";

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
  private readonly maxRecords: number;
  private readonly maxPayloads: number;
  private readonly isSettledHook: (instance: InstanceRef) => boolean;
  private readonly digests: BoundedCache<string, Digest>;
  private readonly payloads: BoundedCache<string, Uint8Array>;
  /** When each recorded instance was delivered here: a vote for it long after is a peer's retransmission. */
  private readonly times: BoundedCache<string, number>;

  constructor(options: DeliveredLogOptions) {
    this.maxRecords = options.maxRecords;
    this.maxPayloads = options.maxPayloads;
    this.isSettledHook = options.isSettled;
    this.digests = new BoundedCache(options.maxRecords);
    this.times = new BoundedCache(options.maxRecords);
    this.payloads = new BoundedCache(options.maxPayloads);
  }

  get size(): number {
    return this.digests.size;
  }

  record(key: string, digest: Digest, payload: Uint8Array, nowMs: number): void {
    this.digests.set(key, digest);
    this.times.set(key, nowMs);
    this.payloads.set(key, payload);
  }

  digestOf(key: string): Digest | undefined {
    return this.digests.get(key);
  }

  /** When this node delivered the instance, while it is recorded. */
  deliveredAtMs(key: string): number | undefined {
    return this.times.get(key);
  }

  payloadOf(key: string, digest: Digest): Uint8Array | undefined {
    return this.digests.get(key) === digest ? this.payloads.get(key) : undefined;
  }

  /** Delivered here and still recorded, or settled by the ledger: either way, closed for good. */
  isSettled(key: string, instance: InstanceRef): boolean {
    return this.digests.get(key) !== undefined || this.isSettledHook(instance);
  }

  /**
   * Whether the driver's store should hold the payload of `digest`: this node delivered exactly it, or the
   * ledger settled the instance (with whatever digest: the driver's lookup checks).
   */
  inStore(key: string, instance: InstanceRef, digest: Digest): boolean {
    return this.digests.get(key) === digest || this.isSettledHook(instance);
  }
}
