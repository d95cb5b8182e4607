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
  private readonly digests = new Map<string, Digest>();
  private readonly payloads = new Map<string, Uint8Array>();
  /** When each recorded instance was delivered here: a vote for it long after is a peer's retransmission. */
  private readonly times = new Map<string, number>();

  constructor(options: DeliveredLogOptions) {
    this.maxRecords = options.maxRecords;
    this.maxPayloads = options.maxPayloads;
    this.isSettledHook = options.isSettled;
  }

  get size(): number {
    return this.digests.size;
  }

  record(key: string, digest: Digest, payload: Uint8Array, nowMs: number): void {
    this.digests.set(key, digest);
    evictOldest(this.digests, this.maxRecords);
    this.times.set(key, nowMs);
    evictOldest(this.times, this.maxRecords);
    this.payloads.set(key, payload);
    evictOldest(this.payloads, this.maxPayloads);
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

/** Maps iterate in insertion order, so the first key is the oldest record. */
function evictOldest<V>(map: Map<string, V>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done) return;
    map.delete(oldest.value);
  }
}
