import { COMMITTEE_BOUNDS } from "./committeeOptions.ts";
import type { CommitteeDropReason, Equivocation } from "./committeeTypes.ts";

export interface CommitteeCounters {
  readonly dropped: Readonly<Partial<Record<CommitteeDropReason, number>>>;
  readonly equivocations: number;
  readonly timeoutsSigned: number;
  readonly roundsEntered: number;
  readonly decided: number;
}

/** What the committee counts, and the equivocation proofs it keeps (bounded; the counter keeps counting). */
export class CommitteeLog {
  private readonly dropped: Partial<Record<CommitteeDropReason, number>> = {};
  private readonly proofs: Equivocation[] = [];
  private equivocations = 0;
  timeoutsSigned = 0;
  roundsEntered = 0;
  decided = 0;

  /** Counts why a message was ignored; returns false so a handler can `return log.drop(reason)`. */
  drop(reason: CommitteeDropReason): false {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
    return false;
  }

  equivocation(proof: Equivocation): void {
    this.equivocations++;
    if (this.proofs.length < COMMITTEE_BOUNDS.evidenceKept) this.proofs.push(proof);
  }

  evidence(): readonly Equivocation[] {
    return this.proofs;
  }

  snapshot(): CommitteeCounters {
    return {
      dropped: { ...this.dropped },
      equivocations: this.equivocations,
      timeoutsSigned: this.timeoutsSigned,
      roundsEntered: this.roundsEntered,
      decided: this.decided,
    };
  }
}
