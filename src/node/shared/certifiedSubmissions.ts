import type { Logger } from "pino";
import type { EncodedTransfer } from "../../core/transfer.ts";

/**
 * How far past its ledger's next seq a node hands a shared account's certified transfers to its own submit
 * path. That path introduces only the account's next seq and holds later ones (src/node/core/aheadSubmissions.ts),
 * releasing each in the step that resolves its predecessor, so handing a few over early saves a round through
 * this loop per transfer. A committee decides faster than the network applies: the rest wait here, where
 * they may run up to 1,024 decisions ahead, rather than in the node's hold (at most 63 per account, shared
 * fairly with every other account's). Before the node held later seqs, submitting further ahead filled the
 * account's 8 places in the broadcast table with seqs that could not move.
 */
export const CERTIFIED_SUBMIT_WINDOW = 4;

/**
 * Certified transfers kept per account until the ledger applies their seq. Past it the highest seqs are
 * dropped: they stay in the committee's records, and every co-owner's node holds its own copy.
 */
export const MAX_CERTIFIED_HELD = 1_024;

/** After this long refused, a certified transfer is reported (once) as stuck. */
export const CERTIFIED_STUCK_REPORT_MS = 30_000;

interface Held {
  readonly transfer: EncodedTransfer;
  /** The node took it (pending or already resolved): not submitted again. */
  accepted: boolean;
  /** When a submission of it was first refused, and whether that was reported. */
  refusedSinceMs: number | undefined;
  reported: boolean;
}

/**
 * One hosted shared account's certified transfers, from the committee's decision until this node's ledger
 * has applied their seq.
 */
class HeldTransfers {
  /** seq → held transfer. */
  private readonly held = new Map<number, Held>();

  get size(): number {
    return this.held.size;
  }

  /** A decided transfer (again, after a restart: ignored if held). */
  add(transfer: EncodedTransfer): void {
    const seq = transfer.transfer.seq;
    if (this.held.has(seq)) return;
    this.held.set(seq, { transfer, accepted: false, refusedSinceMs: undefined, reported: false });
    if (this.held.size <= MAX_CERTIFIED_HELD) return;
    let highest = seq;
    for (const s of this.held.keys()) if (s > highest) highest = s;
    this.held.delete(highest);
  }

  /**
   * Forgets what the ledger has applied (seqs below `nextSeq`), and returns, lowest seq first, the held
   * transfers to submit now: not yet taken by the node, and within CERTIFIED_SUBMIT_WINDOW of `nextSeq`.
   */
  due(nextSeq: number): EncodedTransfer[] {
    const due: EncodedTransfer[] = [];
    for (const [seq, entry] of this.held) {
      if (seq < nextSeq) this.held.delete(seq);
      else if (!entry.accepted && seq <= nextSeq + CERTIFIED_SUBMIT_WINDOW) due.push(entry.transfer);
    }
    return due.sort((a, b) => a.transfer.seq - b.transfer.seq);
  }

  /** The node took the transfer (it is pending there, or already resolved). */
  accepted(transfer: EncodedTransfer): void {
    const entry = this.held.get(transfer.transfer.seq);
    if (entry?.transfer.id === transfer.id) entry.accepted = true;
  }

  /**
   * The node refused it; it stays held. Returns true the first time it has been refused for
   * CERTIFIED_STUCK_REPORT_MS, for one warning.
   */
  refused(transfer: EncodedTransfer, nowMs: number): boolean {
    const entry = this.held.get(transfer.transfer.seq);
    if (entry?.transfer.id !== transfer.id) return false;
    entry.refusedSinceMs ??= nowMs;
    if (entry.reported || nowMs - entry.refusedSinceMs < CERTIFIED_STUCK_REPORT_MS) return false;
    entry.reported = true;
    return true;
  }
}

export interface CertifiedSubmitterOptions {
  /** Hands a certified transfer to the node's core, exactly like a client's; throws if refused. */
  readonly submit: (encoded: EncodedTransfer) => Promise<unknown>;
  /** The account's next seq in this node's ledger. */
  readonly nextSeq: (address: string) => Promise<number>;
  readonly log: Logger;
  /** The clock for the stuck report (tests pass their own). */
  readonly nowMs?: () => number;
}

/**
 * Submits the hosted shared accounts' certified transfers to this node until its ledger applies their seqs.
 * Every owner's node that saw a decided proposal submits the transfer; a submission the node refuses (it is
 * still starting, its table for the account is full, a dep has not arrived) is offered again (`retry`, on
 * the ledger's progress, on the next decision), so a decision is never lost to one refusal. Before this the
 * one try was the only one, and a chaos run's shared account stalled for good at a seq its three owners had
 * decided, every owner's node having been refused once.
 */
export class CertifiedSubmitter {
  private readonly options: CertifiedSubmitterOptions;
  /** address → what it holds. */
  private readonly accounts = new Map<string, HeldTransfers>();
  /** Accounts whose transfers are being submitted, and those to go through again after that. */
  private readonly submitting = new Set<string>();
  private readonly again = new Set<string>();
  private stopped = false;

  constructor(options: CertifiedSubmitterOptions) {
    this.options = options;
  }

  /** Certified transfers held for `address` (for tests and `/metrics`). */
  heldCount(address: string): number {
    return this.accounts.get(address)?.size ?? 0;
  }

  /** A decided transfer of `address`, to submit once its seq is within the window. */
  add(address: string, transfer: EncodedTransfer): void {
    let held = this.accounts.get(address);
    if (held === undefined) {
      held = new HeldTransfers();
      this.accounts.set(address, held);
    }
    held.add(transfer);
  }

  /** Offers every account's due transfers again (the retry timer). */
  retry(): void {
    for (const address of this.accounts.keys()) void this.submitDue(address);
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * Submits `address`'s due transfers, lowest seq first, stopping at the first the node refuses: the seqs
   * after it could only wait behind it. One pass per account at a time; a call during a pass makes it go
   * round once more.
   */
  async submitDue(address: string): Promise<void> {
    const held = this.accounts.get(address);
    if (held === undefined || held.size === 0 || this.stopped) return;
    if (this.submitting.has(address)) {
      this.again.add(address);
      return;
    }
    this.submitting.add(address);
    try {
      do {
        this.again.delete(address);
        const nextSeq = await this.options.nextSeq(address);
        for (const transfer of held.due(nextSeq)) {
          if (this.stopped || !(await this.submitOne(held, transfer))) break;
        }
      } while (this.again.has(address) && !this.stopped);
    } catch (e) {
      this.options.log.warn({ err: e, account: address }, "certified transfers not submitted");
    } finally {
      this.submitting.delete(address);
    }
  }

  /** One submission; whether the node took it. */
  private async submitOne(held: HeldTransfers, transfer: EncodedTransfer): Promise<boolean> {
    try {
      await this.options.submit(transfer);
      held.accepted(transfer);
      return true;
    } catch (e) {
      const { id } = transfer;
      const { seq } = transfer.transfer;
      if (held.refused(transfer, (this.options.nowMs ?? Date.now)()))
        this.options.log.warn({ err: e, id, seq }, "certified transfer still refused; retrying");
      else this.options.log.debug({ err: e, id, seq }, "certified transfer refused; retrying");
      return false;
    }
  }
}
