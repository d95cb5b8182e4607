import type { BatchOp } from "../../storage/database.ts";
import { proposalRecords, type StoredProposal } from "../../storage/proposalRecords.ts";

export type ProposalStatus = "pending" | "decided" | "applied" | "rejected" | "superseded";

export interface ProposalView {
  readonly id: string;
  readonly seq: number;
  readonly status: ProposalStatus;
  readonly transferId?: string;
  /** A superseded proposal's replacement (rebuilt for a later seq). */
  readonly supersededBy?: string;
  readonly to: string;
  readonly amount: string;
}

interface Entry {
  /** Insertion order: the entry's storage key. */
  order: number;
  id: string;
  seq: number;
  status: ProposalStatus;
  transferId?: string;
  supersededBy?: string;
  /** For a rebuild: the id first answered for this proposal, whose entry points here. */
  origin?: string;
  to: string;
  amount: bigint;
}

/** Proposals kept per account (newest first in answers); the oldest are forgotten beyond it. */
export const MAX_PROPOSALS_KEPT = 1_000;

/**
 * What this node's owner proposed for one shared account, and what became of it. Every change is also
 * handed to `write` as a storage op (src/storage/proposalRecords.ts), so the book survives a restart.
 *
 * A proposal rebuilt for a later seq gets a new id. The book keeps at most two entries per proposal: the id
 * the owner's node answered (`superseded`, `supersededBy` the current one) and the current one; each rebuild
 * replaces the current entry and re-points the first. A client follows its id in one hop whatever the
 * number of rebuilds. Before, each rebuild stayed listed: a chaos run's owner whose proposals waited
 * through many decisions filled the 1,000 places with 979 superseded entries, and its earliest proposals'
 * ids were no longer listed at all.
 */
export class ProposalBook {
  private readonly entries = new Map<string, Entry>();
  private readonly accountHex: string;
  private readonly write: (op: BatchOp) => void;
  private nextOrder = 0;

  constructor(accountHex: string, write: (op: BatchOp) => void) {
    this.accountHex = accountHex;
    this.write = write;
  }

  /** The stored entries, oldest first (at start, before anything else). */
  reload(stored: readonly { order: number; entry: StoredProposal }[]): void {
    for (const { order, entry } of stored) {
      const status = entry.status as ProposalStatus; // written by `save` from a ProposalStatus
      this.entries.set(entry.id, { ...entry, status, order, amount: BigInt(entry.amount) });
      this.nextOrder = Math.max(this.nextOrder, order + 1);
    }
  }

  add(id: string, seq: number, to: string, amount: bigint): void {
    const known = this.entries.get(id);
    if (known !== undefined) {
      this.entries.delete(id);
      this.write(proposalRecords.delEntry(this.accountHex, known.order));
    }
    const entry: Entry = { order: this.nextOrder++, id, seq, status: "pending", to, amount };
    this.entries.set(id, entry);
    this.save(entry);
    while (this.entries.size > MAX_PROPOSALS_KEPT) {
      const oldest = this.entries.values().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest.id);
      this.write(proposalRecords.delEntry(this.accountHex, oldest.order));
    }
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Ids still waiting for the ledger's verdict (pending or decided), oldest first. */
  unresolved(): string[] {
    return [...this.entries.values()]
      .filter((e) => e.status === "pending" || e.status === "decided")
      .map((e) => e.id);
  }

  /** `old` was rebuilt as `current` (already added): see the class comment. */
  supersede(old: string, current: string): void {
    const was = this.entries.get(old);
    const now = this.entries.get(current);
    if (was === undefined || now === undefined) return;
    const first = was.origin === undefined ? undefined : this.entries.get(was.origin);
    if (first === undefined) {
      this.set(old, "superseded", { supersededBy: current });
      now.origin = old;
    } else {
      this.set(first.id, "superseded", { supersededBy: current });
      now.origin = first.id;
      this.entries.delete(old);
      this.write(proposalRecords.delEntry(this.accountHex, was.order));
    }
    this.save(now);
  }

  set(id: string, status: ProposalStatus, extra: { transferId?: string; supersededBy?: string } = {}): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    // Applied and rejected are final; a late "decided" (a restart's repeat) never undoes them.
    if ((entry.status === "applied" || entry.status === "rejected") && status === "decided") return;
    // A superseded proposal was not the one decided: the same body, decided as another owner's request and
    // then applied, does not make it paid (its rebuild is what pays).
    if (entry.status === "superseded" && status !== "superseded") return;
    entry.status = status;
    Object.assign(entry, extra);
    this.save(entry);
  }

  private save(entry: Entry): void {
    const { order, amount, ...rest } = entry;
    this.write(proposalRecords.putEntry(this.accountHex, order, { ...rest, amount: amount.toString() }));
  }

  list(): ProposalView[] {
    return [...this.entries.values()].reverse().map((e) => ({
      id: e.id,
      seq: e.seq,
      status: e.status,
      ...(e.transferId !== undefined ? { transferId: e.transferId } : {}),
      ...(e.supersededBy !== undefined ? { supersededBy: e.supersededBy } : {}),
      to: e.to,
      amount: e.amount.toString(),
    }));
  }
}
