import { dependentOf, depIndexOf, type SignedWorkload } from "./benchWorkload.ts";

/**
 * When each transfer of a workload may be sent, as a wallet would: once its account's previous transfer is
 * settled (applied on every node, or refused) and, with deps, once the payment it references is applied on
 * every node (a node refuses a transfer whose dep it has not applied with UNKNOWN_DEPENDENCY). Each transfer
 * holds a count of prerequisites still missing; an event decrements at most two counts (its account's next
 * transfer, and the transfer that references it), so tracking is O(1) per event and one byte per transfer.
 * A prerequisite may be met before its account reaches that transfer: the count simply gets there first.
 * A dep that is rejected is never applied: the transfer referencing it, and so its account, wait for good.
 */
export class PrerequisiteTracker {
  private readonly missing: Uint8Array;
  private readonly workload: Pick<SignedWorkload, "accounts" | "perAccount" | "withDeps">;

  constructor(workload: Pick<SignedWorkload, "accounts" | "perAccount" | "withDeps">) {
    this.workload = workload;
    const { accounts, perAccount } = workload;
    this.missing = new Uint8Array(accounts * perAccount);
    // Round 0 is free to go; later rounds wait for the previous seq, and for the dep when there is one.
    for (let n = accounts; n < this.missing.length; n++)
      this.missing[n] = 1 + (depIndexOf(workload, n) < 0 ? 0 : 1);
  }

  /** The transfers free to go before any event: every account's first. */
  initial(): number[] {
    return Array.from({ length: Math.min(this.workload.accounts, this.missing.length) }, (_, n) => n);
  }

  /** Whether transfer `index` has every prerequisite met (for tests and checks). */
  isReleased(index: number): boolean {
    return this.missing[index] === 0;
  }

  /**
   * Transfer `index` is settled; `applied`: it is applied on every node (not refused or rejected). Calls
   * `release` for each transfer this frees: its account's next one, and the one referencing it as a dep.
   * Returns false when its account has no next transfer (the workload ran dry for it).
   */
  settled(index: number, applied: boolean, release: (index: number) => void): boolean {
    const next = index + this.workload.accounts;
    const hasNext = next < this.missing.length;
    if (hasNext) this.meet(next, release);
    if (applied) {
      const dependent = dependentOf(this.workload, index);
      if (dependent >= 0) this.meet(dependent, release);
    }
    return hasNext;
  }

  private meet(index: number, release: (index: number) => void): void {
    // A count already at 0 stays there: a settlement reported twice must not release twice.
    if (this.missing[index] === 0) return;
    if (--this.missing[index]! === 0) release(index);
  }
}
