import type { BroadcastMessage } from "../../broadcast/types.ts";
import type { PeerId } from "../../core/peerId.ts";
import type { EncodedTransfer } from "../../core/transfer.ts";

/** The bounds on payloads held back until this node can judge them (each refuses newcomers when full). */
export interface ParkingLimits {
  /** Parked payloads of one source account: a correct wallet has one transfer in flight. */
  readonly perAccount: number;
  /** Parked payloads one peer introduced: junk parks only in its introducer's share. */
  readonly perPeer: number;
  readonly total: number;
  /** A payload that could not be judged for this long is dropped: its deps or predecessor never came. */
  readonly timeoutMs: number;
}

export const PARKING_DEFAULTS: ParkingLimits = {
  perAccount: 16,
  perPeer: 256,
  total: 16_384,
  timeoutMs: 10 * 60_000,
};

/** A payload a peer introduced (SEND or gossip) that this node cannot judge yet. */
export interface ParkedIntroduction {
  readonly from: PeerId;
  readonly message: BroadcastMessage;
  readonly encoded: EncodedTransfer;
  readonly parkedAtMs: number;
}

/**
 * Introductions held back because their predecessor seq or a dep is not resolved here yet, indexed by what
 * they await (an account address or a transfer id) so a ledger verdict wakes exactly those it may unblock.
 * One entry per transfer id (relays of the same payload by other neighbours are duplicates); bounded per source
 * account, per introducing peer and in total, oldest first for the timeout sweep.
 */
export class ParkedIntroductions {
  private readonly limits: ParkingLimits;
  /** Insertion order = oldest first. */
  private readonly byId = new Map<string, ParkedIntroduction>();
  private readonly byAwaited = new Map<string, Set<string>>();
  private readonly awaitedById = new Map<string, readonly string[]>();
  private readonly perAccount = new Map<string, number>();
  private readonly perPeer = new Map<PeerId, number>();

  constructor(limits: ParkingLimits = PARKING_DEFAULTS) {
    this.limits = limits;
  }

  get size(): number {
    return this.byId.size;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Parks the introduction until one of `awaiting` is resolved; false when a bound is reached. */
  park(entry: ParkedIntroduction, awaiting: readonly string[]): boolean {
    const id = entry.encoded.id;
    const source = entry.encoded.transfer.source;
    if (this.reindex(id, awaiting)) return true;
    if (!this.hasRoom(entry.from, source)) return false;
    this.byId.set(id, entry);
    increment(this.perAccount, source, 1);
    increment(this.perPeer, entry.from, 1);
    this.index(id, awaiting);
    return true;
  }

  /** If `id` is parked, it now awaits `awaiting` (what the ledger says it awaits today) and this is true. */
  reindex(id: string, awaiting: readonly string[]): boolean {
    if (!this.byId.has(id)) return false;
    this.index(id, awaiting);
    return true;
  }

  /** Whether a new introduction of `source`'s by `from` would be parked: no bound is reached. */
  hasRoom(from: PeerId, source: string): boolean {
    return (
      this.byId.size < this.limits.total &&
      (this.perAccount.get(source) ?? 0) < this.limits.perAccount &&
      (this.perPeer.get(from) ?? 0) < this.limits.perPeer
    );
  }

  /** Removes and returns the introductions awaiting `key` (an account or a transfer id). */
  wake(key: string): ParkedIntroduction[] {
    const ids = this.byAwaited.get(key);
    if (ids === undefined) return [];
    const out: ParkedIntroduction[] = [];
    for (const id of [...ids]) {
      const entry = this.remove(id);
      if (entry !== undefined) out.push(entry);
    }
    return out;
  }

  /** Drops the introductions parked for longer than the timeout. */
  expire(nowMs: number): void {
    for (const [id, entry] of this.byId) {
      if (nowMs - entry.parkedAtMs < this.limits.timeoutMs) break;
      this.remove(id);
    }
  }

  private index(id: string, awaiting: readonly string[]): void {
    this.unindex(id);
    this.awaitedById.set(id, awaiting);
    for (const key of awaiting) {
      let ids = this.byAwaited.get(key);
      if (ids === undefined) {
        ids = new Set();
        this.byAwaited.set(key, ids);
      }
      ids.add(id);
    }
  }

  private unindex(id: string): void {
    for (const key of this.awaitedById.get(id) ?? []) {
      const ids = this.byAwaited.get(key);
      ids?.delete(id);
      if (ids?.size === 0) this.byAwaited.delete(key);
    }
    this.awaitedById.delete(id);
  }

  private remove(id: string): ParkedIntroduction | undefined {
    const entry = this.byId.get(id);
    if (entry === undefined) return undefined;
    this.byId.delete(id);
    this.unindex(id);
    increment(this.perAccount, entry.encoded.transfer.source, -1);
    increment(this.perPeer, entry.from, -1);
    return entry;
  }
}

function increment<K>(counts: Map<K, number>, key: K, by: number): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}
