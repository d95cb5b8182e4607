import { ErrorCode, TallyError } from "../core/errors.ts";
import type { PeerId } from "../core/peerId.ts";
import type { NodeRecord } from "./nodeRecord.ts";

export { AnnouncementBudget, type AnnouncementBudgetOptions } from "./announcementBudget.ts";

export interface RecordBookOptions {
  /** The node itself: its own record is never stored, so it never samples or dials itself. */
  readonly self: PeerId;
  /** Hard cap on identities held; the book never grows past it. */
  readonly maxRecords: number;
  /** A peer's next record is refused this soon after its last accepted one, so no identity can churn us. */
  readonly minUpdateIntervalMs: number;
  /**
   * The address group of a record (its /16, say). When the book is full, a new identity takes the place of
   * the oldest identity of the largest group, if its own group is smaller by at least two: identities minted
   * in bulk on a few prefixes crowd out each other, not peers spread over the Internet. Without it, a full
   * book refuses every new identity.
   */
  readonly groupOf?: (record: NodeRecord) => string;
}

export type OfferResult = "accepted" | "duplicate" | "stale" | "tooFast" | "full";

export interface RecordEntry {
  readonly record: NodeRecord;
  /** The signed bytes, to relay or serve exactly as the peer signed them. */
  readonly wire: Uint8Array;
  /** When this identity's first record was accepted; survives updates, so age measures tenure. */
  readonly since: number;
}

interface StoredEntry extends RecordEntry {
  /** When the current record was accepted: the clock of the update rate limit. */
  readonly acceptedAtMs: number;
  /** `groupOf(record)`, computed once when the record was stored (undefined without `groupOf`). */
  readonly group: string | undefined;
}

/**
 * The identities a node of an open network knows: the newest verified record per peer, bounded.
 *
 * `offer` assumes the record already passed verifyNodeRecord. When the book is full a new identity gets in
 * only in place of an expired one, so a flood of fresh identities cannot push out peers we already know.
 * Finding an expired entry is O(1) while none can have expired (a lower bound on the earliest expiry is
 * kept); otherwise one sweep removes every expired entry, so each sweep pays for itself in removals except
 * after an update moved the earliest record later, at most once per accepted update.
 */
export class RecordBook {
  private readonly self: PeerId;
  private readonly maxRecords: number;
  private readonly minUpdateIntervalMs: number;
  private readonly byPeer = new Map<PeerId, StoredEntry>();
  /** No stored record expires before this. */
  private earliestExpiryMs = Number.POSITIVE_INFINITY;
  /** Group → its identities, oldest accepted first (only with `groupOf`). */
  private readonly groups = new Map<string, Set<PeerId>>();
  private readonly groupOf: ((record: NodeRecord) => string) | undefined;
  /** Removed by a sweep or an eviction inside `offer`; reported by the next `expire` so the caller hears of every removal. */
  private readonly sweptSinceExpire = new Set<PeerId>();

  constructor(options: RecordBookOptions) {
    if (!Number.isSafeInteger(options.maxRecords) || options.maxRecords < 1) {
      throw new TallyError(ErrorCode.InvalidConfig, "record book: maxRecords must be a positive integer");
    }
    if (!Number.isFinite(options.minUpdateIntervalMs) || options.minUpdateIntervalMs < 0) {
      throw new TallyError(ErrorCode.InvalidConfig, "record book: minUpdateIntervalMs must be ≥ 0");
    }
    this.self = options.self;
    this.maxRecords = options.maxRecords;
    this.minUpdateIntervalMs = options.minUpdateIntervalMs;
    this.groupOf = options.groupOf;
  }

  get size(): number {
    return this.byPeer.size;
  }

  /**
   * Keeps the highest seq per peer. "duplicate": same seq as held (also our own record, which is never
   * stored); "stale": lower seq; "tooFast": a newer seq within minUpdateIntervalMs of the last accepted one;
   * "full": a new identity and no room, even after dropping expired records.
   */
  offer(record: NodeRecord, wire: Uint8Array, nowMs: number): OfferResult {
    if (record.peerId === this.self) return "duplicate";
    const held = this.byPeer.get(record.peerId);
    if (held !== undefined) {
      if (record.seq === held.record.seq) return "duplicate";
      if (record.seq < held.record.seq) return "stale";
      if (nowMs - held.acceptedAtMs < this.minUpdateIntervalMs) return "tooFast";
      this.store(record, wire, held.since, nowMs, this.groupOf?.(record));
      return "accepted";
    }
    const group = this.groupOf?.(record);
    if (this.byPeer.size >= this.maxRecords) {
      if (nowMs >= this.earliestExpiryMs) {
        for (const peer of this.sweep(nowMs)) this.sweptSinceExpire.add(peer);
      }
      if (this.byPeer.size >= this.maxRecords && !this.evictForGroup(group)) return "full";
    }
    this.store(record, wire, nowMs, nowMs, group);
    return "accepted";
  }

  /** Removes and returns every peer whose record has expired by `nowMs` (and any `offer` dropped for room). */
  expire(nowMs: number): PeerId[] {
    // A peer dropped for room and accepted again since is present: not a removal the caller must act on.
    const removed = [...this.sweptSinceExpire].filter((peer) => !this.byPeer.has(peer));
    this.sweptSinceExpire.clear();
    if (nowMs >= this.earliestExpiryMs) removed.push(...this.sweep(nowMs));
    return removed;
  }

  get(peer: PeerId): NodeRecord | undefined {
    return this.byPeer.get(peer)?.record;
  }

  wire(peer: PeerId): Uint8Array | undefined {
    return this.byPeer.get(peer)?.wire;
  }

  has(peer: PeerId): boolean {
    return this.byPeer.has(peer);
  }

  peers(): PeerId[] {
    return [...this.byPeer.keys()];
  }

  *entries(): Iterable<RecordEntry> {
    for (const { record, wire, since } of this.byPeer.values()) yield { record, wire, since };
  }

  /** The records held, in the order `entries` gives them, without building an entry per record. */
  *records(): Iterable<NodeRecord> {
    for (const entry of this.byPeer.values()) yield entry.record;
  }

  /**
   * Makes room for a record of `group` by evicting the oldest identity of the largest group, if that is fair.
   * The scan over groups is O(groups) and runs only when the book is full and a new identity arrives.
   */
  private evictForGroup(group: string | undefined): boolean {
    if (group === undefined) return false;
    const own = this.groups.get(group)?.size ?? 0;
    let largest: Set<PeerId> | undefined;
    for (const members of this.groups.values())
      if (largest === undefined || members.size > largest.size) largest = members;
    if (largest === undefined || largest.size < own + 2) return false;
    const evicted = largest.values().next().value!;
    this.remove(evicted);
    this.sweptSinceExpire.add(evicted);
    return true;
  }

  private remove(peer: PeerId): void {
    const entry = this.byPeer.get(peer);
    if (entry === undefined) return;
    this.byPeer.delete(peer);
    if (entry.group === undefined) return;
    const members = this.groups.get(entry.group);
    members?.delete(peer);
    if (members?.size === 0) this.groups.delete(entry.group);
  }

  private store(
    record: NodeRecord,
    wire: Uint8Array,
    since: number,
    nowMs: number,
    group: string | undefined,
  ): void {
    // An update may move the identity to another group (new addresses).
    if (group !== undefined) {
      this.remove(record.peerId);
      const members = this.groups.get(group) ?? new Set<PeerId>();
      members.add(record.peerId);
      this.groups.set(group, members);
    }
    this.byPeer.set(record.peerId, { record, wire, since, acceptedAtMs: nowMs, group });
    this.earliestExpiryMs = Math.min(this.earliestExpiryMs, record.expiresAtMs);
  }

  /** Drops expired records and recomputes the exact earliest expiry. */
  private sweep(nowMs: number): PeerId[] {
    const removed: PeerId[] = [];
    let earliest = Number.POSITIVE_INFINITY;
    for (const [peer, entry] of this.byPeer) {
      if (entry.record.expiresAtMs <= nowMs) {
        this.remove(peer);
        removed.push(peer);
      } else {
        earliest = Math.min(earliest, entry.record.expiresAtMs);
      }
    }
    this.earliestExpiryMs = earliest;
    return removed;
  }
}
