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
  id: string;
  seq: number;
  status: ProposalStatus;
  transferId?: string;
  supersededBy?: string;
  to: string;
  amount: bigint;
}

/** Proposals kept per account (newest first in answers); the oldest are forgotten beyond it. */
export const MAX_PROPOSALS_KEPT = 1_000;

/** What this node's owner proposed for one shared account, and what became of it (memory only). */
export class ProposalBook {
  private readonly entries = new Map<string, Entry>();

  add(id: string, seq: number, to: string, amount: bigint): void {
    this.entries.delete(id);
    this.entries.set(id, { id, seq, status: "pending", to, amount });
    while (this.entries.size > MAX_PROPOSALS_KEPT) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  set(id: string, status: ProposalStatus, extra: { transferId?: string; supersededBy?: string } = {}): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    // Applied and rejected are final; a late "decided" (a restart's repeat) never undoes them.
    if ((entry.status === "applied" || entry.status === "rejected") && status === "decided") return;
    entry.status = status;
    Object.assign(entry, extra);
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
