import { BoundedCache } from "../../core/boundedCache.ts";
import { ErrorCode } from "../../core/errors.ts";
import type { EncodedTransfer } from "../../core/transfer.ts";
import type { RejectionReason } from "../../ledger/store.ts";
import { SubmittedTransfers } from "./submittedTransfers.ts";

/** Superseded twins remembered for clients that ask; older ones are forgotten (in memory only). */
export const SUPERSEDED_ENTRIES = 10_000;

interface Superseded {
  readonly encoded: EncodedTransfer;
  readonly reason: RejectionReason;
}

/**
 * What this node knows about transfers its API accepted: those still being broadcast (`pending`), and those
 * that will never be delivered, reported as rejected with a reason: a double spend that lost the race (its
 * (source, seq) was delivered with another transfer, SEQ_CONFLICT), or one every correct node refuses to echo
 * (`refuse`).
 */
export class SubmissionTracker {
  private readonly pending = new SubmittedTransfers();
  private readonly superseded = new BoundedCache<string, Superseded>(SUPERSEDED_ENTRIES);

  get pendingCount(): number {
    return this.pending.size;
  }

  /** The submissions still being broadcast (or held), oldest first. */
  pendingTransfers(): IterableIterator<EncodedTransfer> {
    return this.pending.values();
  }

  track(encoded: EncodedTransfer): void {
    this.pending.add(encoded);
  }

  forget(id: string): void {
    this.pending.remove(id);
  }

  hasPendingAt(source: string, seq: number): boolean {
    return this.pending.hasSlot(source, seq);
  }

  /** A pending submission that can never be delivered: rejected here, for `reason`. */
  refuse(encoded: EncodedTransfer, reason: RejectionReason): void {
    this.pending.remove(encoded.id);
    this.superseded.set(encoded.id, { encoded, reason });
  }

  statusOf(id: string): "pending" | "rejected" | undefined {
    if (this.superseded.has(id)) return "rejected";
    return this.pending.has(id) ? "pending" : undefined;
  }

  /** The body of a transfer the ledger does not hold (yet, or ever). */
  body(id: string): EncodedTransfer | undefined {
    return this.pending.get(id) ?? this.superseded.get(id)?.encoded;
  }

  reasonOf(id: string): RejectionReason | undefined {
    return this.superseded.get(id)?.reason;
  }

  /**
   * (source, seq) was delivered as `winner`: every submission for the slot stops being pending, the others are
   * superseded.
   */
  takeSlot(source: string, seq: number, winner: string): void {
    for (const other of this.pending.takeSlot(source, seq)) {
      if (other.id === winner) continue;
      const message = `transfer ${winner} was delivered for seq ${seq} of this account`;
      this.superseded.set(other.id, { encoded: other, reason: { code: ErrorCode.SeqConflict, message } });
    }
  }
}
