import type { SubmitOutcome } from "../../broadcast/types.ts";
import { ErrorCode } from "../../core/errors.ts";
import type { EncodedTransfer } from "../../core/transfer.ts";
import type { Ledger } from "../../ledger/ledger.ts";
import type { RejectionReason } from "../../ledger/store.ts";
import type { BatchOp } from "../../storage/database.ts";
import { type LoadedSubmissions, SubmittedLog } from "../../storage/submittedLog.ts";
import { type AheadLimits, AheadSubmissions } from "./aheadSubmissions.ts";
import type { NodeAction, SubmitResult } from "./nodeEvents.ts";
import { SubmissionTracker } from "./submissionTracker.ts";

/**
 * How often the pending submissions are checked for one the broadcast no longer holds. It evicts an instance
 * idle for 10 minutes, payload and all; a re-offer within a minute after that costs little next to it.
 */
export const REOFFER_SWEEP_MS = 60_000;

/** What became of a submission here: the broadcast's outcome, or refused before it (`admissible`). */
type OwnOutcome = SubmitOutcome | "refused";

export interface OwnSubmissionsOptions {
  readonly ledger: Ledger;
  /** Hands a transfer to the broadcast as a submission of this node's; returns its outcome. */
  readonly toBroadcast: (encoded: EncodedTransfer, nowMs: number, out: NodeAction[]) => SubmitOutcome;
  /** Whether the broadcast holds this transfer in a live instance (it has not evicted it). */
  readonly isLive: (encoded: EncodedTransfer) => boolean;
  readonly ahead?: AheadLimits | undefined;
  /** How often to look for submissions the broadcast dropped; default REOFFER_SWEEP_MS. */
  readonly sweepMs?: number | undefined;
}

/**
 * The transfers this node's API accepted, from the answer to their delivery: what the client is told, the
 * submitted log that brings them back after a crash, and the hold on those too far past their account's next
 * seq to introduce yet (aheadSubmissions.ts). The node core calls it once the ledger's precheck passed.
 */
export class OwnSubmissions {
  readonly tracker = new SubmissionTracker();
  /** Transfers the API accepted and not yet delivered, durable in step records (submittedLog.ts). */
  private readonly log = new SubmittedLog();
  private readonly ahead: AheadSubmissions;
  /**
   * Held submissions restored at start whose key is still on disk and that are not held now: those the hold or
   * the broadcast refused as full, kept for the sweep. Emptied as each is offered with another outcome.
   */
  private readonly fromStore = new Set<string>();
  /** Accounts with held submissions whose next seq moved in this step; offered before the step ends. */
  private readonly advanced = new Set<string>();
  private readonly ledger: Ledger;
  private readonly toBroadcast: OwnSubmissionsOptions["toBroadcast"];
  private readonly isLive: OwnSubmissionsOptions["isLive"];
  private readonly sweepMs: number;
  /** When `tick` next looks for submissions the broadcast dropped; set by the first tick. */
  private nextSweepMs: number | undefined;
  /** Submissions offered to the broadcast again after it had evicted them, since start. */
  reoffered = 0;
  /** Held submissions given up since start: past the timeout, or their place given to another account's. */
  dropped = 0;
  /** Submissions rejected for their client since start because no correct node will echo them. */
  refused = 0;

  constructor(options: OwnSubmissionsOptions) {
    this.ledger = options.ledger;
    this.toBroadcast = options.toBroadcast;
    this.isLive = options.isLive;
    this.sweepMs = options.sweepMs ?? REOFFER_SWEEP_MS;
    this.ahead = new AheadSubmissions(options.ahead);
  }

  /** Submissions held until their seq is the account's next. */
  get heldAheadCount(): number {
    return this.ahead.size;
  }

  /** A submission the ledger's precheck passed; returns the client's answer. */
  submit(encoded: EncodedTransfer, nowMs: number, out: NodeAction[]): SubmitResult {
    return this.answer(encoded, this.introduce(encoded, nowMs, out, true));
  }

  /**
   * At start: a transfer accepted before a restart and not seen delivered (already in the log). One the
   * broadcast refuses as full (its tables filled while many came back) stays pending, for the sweep to offer.
   */
  reintroduce(encoded: EncodedTransfer, nowMs: number, out: NodeAction[]): void {
    if (this.ledger.status(encoded.id) !== undefined) return;
    const outcome = this.introduce(encoded, nowMs, out);
    if (outcome !== "full") this.answer(encoded, outcome);
  }

  /**
   * Takes over the transfers accepted before a restart and not seen delivered; returns them, to
   * `reintroduce`. Call once, before the first event.
   */
  restore(loaded: LoadedSubmissions): EncodedTransfer[] {
    const out = this.log.restore(loaded, (source, seq) => this.ledger.isSlotTaken(source, seq));
    const restored = new Set(out.map((t) => t.id));
    // Lowest seqs first, as a wallet sent them: they are due soonest, so they go first should the hold be full.
    for (const encoded of [...loaded.held].sort((a, b) => a.transfer.seq - b.transfer.seq)) {
      const { source, seq } = encoded.transfer;
      if (this.ledger.isSlotTaken(source, seq) || restored.has(encoded.id)) {
        this.ahead.forgetStored(encoded.id);
        continue;
      }
      this.fromStore.add(encoded.id);
      out.push(encoded);
    }
    return out;
  }

  /** (source, seq) was delivered as `winner`: its submissions stop being pending, twins are superseded. */
  onDelivered(source: string, seq: number, winner: string): void {
    this.tracker.takeSlot(source, seq, winner);
    this.log.settle(source, seq);
  }

  /** The ledger resolved one of the account's transfers: held ones may now be within reach. */
  onResolved(source: string): void {
    if (this.ahead.size > 0) this.advanced.add(source);
  }

  /** Whether `releaseNext` has work: an account of `onResolved` (or of a retry) not yet offered. */
  get hasAdvanced(): boolean {
    return this.advanced.size > 0;
  }

  /**
   * Offers the broadcast one advanced account's held submissions that its next seq has reached,
   * lowest seq first, each judged by echo admission first (`judge`), up to the first the broadcast
   * refuses as full (offered again at the next tick).
   */
  releaseNext(nowMs: number, out: NodeAction[]): void {
    const source = this.advanced.values().next().value;
    if (source === undefined) return;
    this.advanced.delete(source);
    for (const encoded of this.ahead.due(source, this.ledger.watermarkOf(source))) {
      // Refused: no longer held. Not admitted yet: held still, as a peer's copy would be parked.
      if (this.judge(encoded, out) !== "admit") continue;
      const outcome = this.introduceNow(encoded, nowMs, out);
      if (outcome === "full") {
        this.ahead.retryLater(source);
        return;
      }
      this.ahead.remove(encoded);
      // Taken, or its slot settled (the tracker then says how); a twin this node echoed wins the slot here.
      if (outcome === "conflict" || outcome === "invalid") this.tracker.forget(encoded.id);
    }
  }

  /**
   * Drops the held submissions whose seq never came within reach (from the log too), retries those the
   * broadcast refused as full, and every sweep period offers again those it dropped.
   */
  tick(nowMs: number, out: NodeAction[]): void {
    for (const encoded of this.ahead.expire(nowMs)) this.drop(encoded);
    for (const source of this.ahead.takeRetries()) this.advanced.add(source);
    if (this.nextSweepMs === undefined) this.nextSweepMs = nowMs + this.sweepMs;
    if (nowMs < this.nextSweepMs) return;
    this.nextSweepMs = nowMs + this.sweepMs;
    this.reofferDropped(nowMs, out);
  }

  /**
   * Offers each pending submission the broadcast no longer holds again, as a restart would (to the hold, if
   * it is now too far ahead). The broadcast evicts an instance idle for 10 minutes, payload and all: one this
   * node introduced while cut off from its peers, or a later seq whose predecessor came late. Its commitments
   * stay and are re-sent, but peers cannot echo a payload they never got, and before this sweep nothing but a
   * restart introduced it again: its client heard "pending" for good. O(pending submissions) a sweep.
   */
  private reofferDropped(nowMs: number, out: NodeAction[]): void {
    const dropped: EncodedTransfer[] = [];
    for (const encoded of this.tracker.pendingTransfers()) {
      const { source, seq } = encoded.transfer;
      if (this.ahead.has(encoded.id) || this.ledger.isSlotTaken(source, seq) || this.isLive(encoded))
        continue;
      dropped.push(encoded);
    }
    for (const encoded of dropped) {
      const outcome = this.offer(encoded, nowMs, out);
      if (outcome === "accepted" || outcome === "duplicate") this.reoffered++;
      // A twin this node echoed holds the slot here (it wins, or the slot never resolves): as at submit.
      else if (outcome === "conflict" || outcome === "invalid") this.tracker.forget(encoded.id);
    }
  }

  /** The step's writes to the submitted log and the held submissions' store. */
  take(): BatchOp[] {
    const writes = this.log.take();
    for (const op of this.ahead.take()) writes.push(op);
    return writes;
  }

  /** Tracked (until refused or delivered), and offered; `prechecked`: the ledger's precheck just passed it. */
  private introduce(
    encoded: EncodedTransfer,
    nowMs: number,
    out: NodeAction[],
    prechecked = false,
  ): OwnOutcome {
    this.tracker.track(encoded);
    return this.offer(encoded, nowMs, out, prechecked);
  }

  /**
   * To the broadcast if it is its account's next seq and every correct node would echo it; rejected for its
   * client if none would; held while its seq is past the account's next, or admission cannot judge it yet.
   */
  private offer(encoded: EncodedTransfer, nowMs: number, out: NodeAction[], prechecked = false): OwnOutcome {
    const { source, seq } = encoded.transfer;
    const judged = !this.ahead.withinWindow(seq, this.ledger.watermarkOf(source))
      ? "wait"
      : prechecked
        ? "admit"
        : this.judge(encoded, out);
    const outcome =
      judged === "admit"
        ? this.introduceNow(encoded, nowMs, out)
        : judged === "wait"
          ? this.hold(encoded, nowMs)
          : "refused";
    // One restored from the held store leaves it here, unless refused as full (then kept for the sweep).
    if (this.fromStore.size > 0 && outcome !== "full" && this.fromStore.delete(encoded.id))
      this.ahead.forgetStored(encoded.id);
    return outcome;
  }

  private hold(encoded: EncodedTransfer, nowMs: number): OwnOutcome {
    const held = this.ahead.hold(encoded, nowMs);
    if (held.kind !== "held") return held.kind;
    // Its place went to this one (a fair share, aheadSubmissions.ts): dropped as the timeout drops one.
    if (held.evicted !== undefined) this.drop(held.evicted);
    return "accepted";
  }

  /**
   * To the broadcast; if it took the transfer, into the submitted log, in the step's batch: that is durable
   * before the introduction leaves the node or the client hears "pending", so a crash after peers saw it does
   * not lose our copy.
   */
  private introduceNow(encoded: EncodedTransfer, nowMs: number, out: NodeAction[]): SubmitOutcome {
    const outcome = this.toBroadcast(encoded, nowMs, out);
    const { source, seq } = encoded.transfer;
    const taken = outcome === "accepted" || outcome === "duplicate" || outcome === "delivered";
    if (taken && !this.ledger.isSlotTaken(source, seq)) this.log.add(encoded);
    return outcome;
  }

  /**
   * The ledger's echo admission for `encoded`, the judgement every correct node makes of a peer's copy: this
   * node echoes only what its peers would. Before, it echoed its own client's submissions up to 4 past the
   * next seq at once, and an invalid one sent to two nodes of four took two echoes no other transfer for its
   * seq could get, so that seq was lost for good. `admit`: introduce it. `wait`: not yet (a dep this node
   * holds in memory no status for, as a peer's copy would be parked); it stays held, and its timeout drops it
   * if nothing changes. `refused`: it spends more than its predecessors left, or names a dep one of them spent,
   * so no correct node will ever echo it and it is never delivered: its client is told it is rejected, with
   * the reason, instead of "pending" for good, and its seq stays open.
   */
  private judge(encoded: EncodedTransfer, out: NodeAction[]): "admit" | "wait" | "refused" {
    const { source, seq } = encoded.transfer;
    // A slot already taken (by this transfer, or a twin: superseded then) is the broadcast's to answer.
    if (this.ledger.isSlotTaken(source, seq)) return "admit";
    const admission = this.ledger.admission(encoded);
    if (admission.kind === "admit") return "admit";
    if (admission.kind === "later") return "wait";
    const reason: RejectionReason = {
      code: admission.code,
      message: `${admission.message}: no correct node will echo it, so seq ${seq} stays open for another transfer`,
    };
    this.ahead.remove(encoded);
    this.tracker.refuse(encoded, reason);
    this.refused++;
    out.push({ type: "refused", refusal: { id: encoded.id, source, seq, reason } });
    if (!this.tracker.hasPendingAt(source, seq)) this.log.settle(source, seq);
    return "refused";
  }

  /** A held submission given up: forgotten, and its slot settled in the submitted log (older nodes put it there). */
  private drop(encoded: EncodedTransfer): void {
    this.tracker.forget(encoded.id);
    this.log.settle(encoded.transfer.source, encoded.transfer.seq);
    this.dropped++;
  }

  private answer(encoded: EncodedTransfer, outcome: OwnOutcome): SubmitResult {
    if (outcome === "refused") return { ok: true, id: encoded.id, status: "rejected" };
    if (outcome === "accepted" || outcome === "duplicate" || outcome === "delivered") {
      const status = this.ledger.statusOfTransfer(encoded)?.status ?? this.tracker.statusOf(encoded.id);
      return { ok: true, id: encoded.id, status: status ?? "pending" };
    }
    this.tracker.forget(encoded.id);
    const seq = encoded.transfer.seq;
    const error: RejectionReason =
      outcome === "conflict"
        ? {
            code: ErrorCode.SeqConflict,
            message: `another transfer for seq ${seq} of this account is already being broadcast or held here`,
          }
        : outcome === "full"
          ? { code: ErrorCode.PendingFull, message: "too many transfers in flight; retry later" }
          : { code: ErrorCode.BadSignature, message: "the broadcast layer refused the transfer as invalid" };
    return { ok: false, error };
  }
}
