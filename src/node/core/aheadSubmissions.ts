import type { EncodedTransfer } from "../../core/transfer.ts";
import type { BatchOp } from "../../storage/database.ts";
import { HeldSubmissionsStore } from "../../storage/heldSubmissions.ts";

/** The bounds on a wallet's submissions this node holds back until their seq is the account's next. */
export interface AheadLimits {
  /**
   * A submission at most this far past its account's next seq is introduced at once; one further ahead is
   * held. 0: only the next seq, as peers echo only the next seq (once the ledger's admission takes it). To
   * introduce a transfer is to echo it, and a later seq cannot be judged before its predecessors resolve:
   * with a window of 4 (sessions 53–54) a node echoed its client's later seqs at once, and one its
   * predecessor left unfunded, sent by a careful client to two nodes of four, held two echoes no other
   * transfer for its seq could get — the seq was lost for good. The hold's own first reason stands: each
   * source account has 8 places in the broadcast table (`maxIntroducedPerAccount`), and with later seqs held
   * the next seq always finds one (before the hold, a wallet that sent 8 later seqs first had its next seq
   * refused as PENDING_FULL until the broadcast's 10-minute stall eviction freed a place).
   */
  readonly window: number;
  /**
   * Held submissions in total. When they are all taken, a newcomer takes the place of the highest seq held for
   * the account holding the most, if that account holds at least two more than the newcomer's would; else it is
   * refused as PENDING_FULL. So each account keeps at least an equal share of the places, and accounts that
   * fill them can only push each other down to that share, never another account below it.
   */
  readonly total: number;
  /** A held submission whose seq does not come within the window for this long is dropped. */
  readonly timeoutMs: number;
}

export const AHEAD_DEFAULTS: AheadLimits = {
  window: 0,
  total: 4_096,
  timeoutMs: 10 * 60_000,
};

interface Held {
  readonly encoded: EncodedTransfer;
  readonly heldAtMs: number;
}

/** What `hold` made of a submission; `evicted`, when the hold was full, names the one it took the place of. */
export type HoldOutcome =
  | { readonly kind: "held"; readonly evicted?: EncodedTransfer }
  | { readonly kind: "duplicate" | "conflict" | "full" };

/**
 * Submissions this node's API accepted for a seq past their account's next seq (beyond the window), held
 * (not introduced to the broadcast) until the ledger resolves enough of the account's transfers. One per
 * slot, as the broadcast would take: a different transfer for a held slot is a double spend, refused. Per
 * account at most 63 (the ledger's precheck refuses seqs more than its lookahead of 64 past the last
 * resolved); `total` in all, shared fairly between accounts (`AheadLimits.total`). Each is on disk from
 * the step that held it until the one that introduced or gave it up (heldSubmissions.ts), so a crash loses
 * none and brings back none given up.
 */
export class AheadSubmissions {
  private readonly limits: AheadLimits;
  /** Per account: seq → held submission. */
  private readonly byAccount = new Map<string, Map<number, Held>>();
  /** Insertion order = oldest first, for the timeout sweep: transfer id → its entry. */
  private readonly byAge = new Map<string, Held>();
  /** Accounts with a due submission the broadcast refused as full; offered again on the next tick. */
  private readonly retry = new Set<string>();
  private readonly store = new HeldSubmissionsStore();
  /** Accounts by how many submissions they hold (index 0 unused), to find the one holding most in O(1). */
  private readonly byCount: Set<string>[] = [];
  /** An upper bound on the most any account holds; lowered lazily past empty counts. */
  private maxCount = 0;

  constructor(limits: AheadLimits = AHEAD_DEFAULTS) {
    this.limits = limits;
  }

  get size(): number {
    return this.byAge.size;
  }

  has(id: string): boolean {
    return this.byAge.has(id);
  }

  /** Whether a submission at `seq` is introduced now, the account's last resolved seq being `resolved`. */
  withinWindow(seq: number, resolved: number): boolean {
    return seq <= resolved + 1 + this.limits.window;
  }

  hold(encoded: EncodedTransfer, nowMs: number): HoldOutcome {
    const { source, seq } = encoded.transfer;
    const occupant = this.byAccount.get(source)?.get(seq);
    if (occupant !== undefined)
      return { kind: occupant.encoded.id === encoded.id ? "duplicate" : "conflict" };
    let evicted: EncodedTransfer | undefined;
    if (this.byAge.size >= this.limits.total) {
      evicted = this.evictionFor(source);
      if (evicted === undefined) return { kind: "full" };
      this.remove(evicted);
    }
    let held = this.byAccount.get(source);
    if (held === undefined) {
      held = new Map();
      this.byAccount.set(source, held);
    }
    const entry = { encoded, heldAtMs: nowMs };
    held.set(seq, entry);
    this.byAge.set(encoded.id, entry);
    this.store.add(encoded);
    this.recount(source, held.size - 1, held.size);
    return evicted === undefined ? { kind: "held" } : { kind: "held", evicted };
  }

  /** How many submissions the account holds. */
  heldFor(source: string): number {
    return this.byAccount.get(source)?.size ?? 0;
  }

  /**
   * The account's held submissions now within the window past `resolved` (its last resolved seq), lowest seq
   * first; those at or below it too (their slot went to another transfer). They stay held until `remove`d:
   * the caller removes each the broadcast takes, and stops at the first it refuses as full (`retryLater`).
   */
  due(source: string, resolved: number): EncodedTransfer[] {
    const held = this.byAccount.get(source);
    if (held === undefined) return [];
    const due: EncodedTransfer[] = [];
    for (const [seq, entry] of held) if (this.withinWindow(seq, resolved)) due.push(entry.encoded);
    return due.sort((a, b) => a.transfer.seq - b.transfer.seq);
  }

  /** The broadcast refused one of the account's due submissions as full: `takeRetries` will list it. */
  retryLater(source: string): void {
    this.retry.add(source);
  }

  /** The accounts whose due submissions to offer the broadcast again (taken: each is listed once). */
  takeRetries(): string[] {
    const out = [...this.retry];
    this.retry.clear();
    return out;
  }

  remove(encoded: EncodedTransfer): void {
    const { source, seq } = encoded.transfer;
    if (this.byAge.get(encoded.id) === undefined) return;
    this.byAge.delete(encoded.id);
    this.store.remove(encoded.id);
    const held = this.byAccount.get(source);
    if (held === undefined || !held.delete(seq)) return;
    if (held.size === 0) this.byAccount.delete(source);
    this.recount(source, held.size + 1, held.size);
  }

  /** A submission held before a restart and not held again: its key goes with the next `take`. */
  forgetStored(id: string): void {
    if (!this.byAge.has(id)) this.store.remove(id);
  }

  /** The step's writes: the submissions held and those let go since the last `take`. */
  take(): BatchOp[] {
    return this.store.take();
  }

  /** Drops and returns the submissions held for longer than the timeout. */
  expire(nowMs: number): EncodedTransfer[] {
    const out: EncodedTransfer[] = [];
    for (const entry of this.byAge.values()) {
      if (nowMs - entry.heldAtMs < this.limits.timeoutMs) break;
      this.remove(entry.encoded);
      out.push(entry.encoded);
    }
    return out;
  }

  /**
   * The submission a newcomer for `source` takes the place of in a full hold: the highest seq of the account
   * holding the most, if it holds at least two more than `source` will (so no account drops below another's
   * count by the swap); otherwise none.
   */
  private evictionFor(source: string): EncodedTransfer | undefined {
    while (this.maxCount > 0 && (this.byCount[this.maxCount]?.size ?? 0) === 0) this.maxCount--;
    if (this.maxCount < this.heldFor(source) + 2) return undefined;
    const fullest = this.byCount[this.maxCount]!.values().next().value!;
    let highest: Held | undefined;
    for (const entry of this.byAccount.get(fullest)!.values())
      if (highest === undefined || entry.encoded.transfer.seq > highest.encoded.transfer.seq) highest = entry;
    return highest?.encoded;
  }

  /** Moves `source` from the accounts holding `from` submissions to those holding `to`. */
  private recount(source: string, from: number, to: number): void {
    if (from > 0) this.byCount[from]?.delete(source);
    if (to === 0) return;
    let bucket = this.byCount[to];
    if (bucket === undefined) {
      bucket = new Set();
      this.byCount[to] = bucket;
    }
    bucket.add(source);
    if (to > this.maxCount) this.maxCount = to;
  }
}
