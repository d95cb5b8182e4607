import { toHex } from "../core/bytes.ts";
import { COMMITTEE_BOUNDS } from "./committeeOptions.ts";
import type { CommitteeRecord } from "./committeeTypes.ts";

/** A persisted record under the counter its store filed it at (ascending = emission order). */
export interface NumberedRecord {
  readonly counter: number;
  readonly record: CommitteeRecord;
}

/** The committee's fixed options the rule needs: nothing of its live state. */
export interface RetentionRules {
  /** The account's ledger nextSeq when the committee started (restore never resumes below it). */
  readonly firstSeq: number;
  readonly isExpired: (seq: number, proposal: Uint8Array) => boolean;
}

/** Decided records kept: as many commit certificates as the committee keeps in memory for late answers. */
export const DECIDED_RECORDS_KEPT = COMMITTEE_BOUNDS.decidedCertificatesKept;
/** Rounds of the undecided seq whose own statements are kept, below the highest one it spoke in. */
export const ROUNDS_KEPT_BELOW_HIGHEST = COMMITTEE_BOUNDS.roundsBehind;

/**
 * Which persisted records `restore` (committeeRestore.ts) can no longer use, judged from the records
 * alone, so a store that drops them in the same atomic write that added the newest ones stays exactly as
 * good for a restart as the full log:
 *
 * - The resume seq is W = max(firstSeq, last decided seq + 1). Restore reads own votes, timeouts, proposals
 *   and locks of seq W only: every such record of an older seq is dropped. Both terms only grow (the newest
 *   decided record is always kept; the ledger never un-applies), so W never falls back below a dropped seq.
 * - In seq W, with R the highest round of an own vote, timeout or proposal, the owner resumes in round
 *   ≥ R and never signs in a lower round again: statements of rounds below R − 4 guard nothing. Kept:
 *   rounds R − 4 .. R (what the committee also keeps in memory), the latest Prepare and Commit (re-sent on
 *   timeouts), and the highest lock (the only one restore uses). So rounds a peer forces cost no disk.
 * - Decided: the newest 64, like the committee's in-memory certificates (late answers to owners stuck on
 *   an older seq, and its replay guard after a restart). Restore reads the request bytes of the newest
 *   only; the others keep theirs, so a later restore could re-emit every decision the ledger lacks.
 * - A request is dropped once a decided record names its digest, or it is expired at W: restore would not
 *   queue it again.
 *
 * Records of a seq above W (never written by a correct committee) and unknown shapes are kept.
 */
/** Returns the counters of the records to delete. */
export function compactRecords(records: Iterable<NumberedRecord>, rules: RetentionRules): number[] {
  const all = [...records];
  const decided = all
    .filter((n) => n.record.kind === "decided")
    .sort((a, b) => decidedSeq(b.record) - decidedSeq(a.record));
  const newest = decided[0];
  const resumeSeq = Math.max(rules.firstSeq, newest === undefined ? 0 : decidedSeq(newest.record) + 1);
  const drop = decided.slice(DECIDED_RECORDS_KEPT).map((n) => n.counter);
  const decidedDigests = new Set(decided.map((n) => digestOf(n.record)));
  const current = all.filter((n) => statementSeq(n.record) === resumeSeq);
  const keep = keptInSeq(current);
  for (const n of all) {
    const { record } = n;
    if (record.kind === "request") {
      const done = decidedDigests.has(toHex(record.request.digest));
      if (done || rules.isExpired(resumeSeq, record.request.proposal)) drop.push(n.counter);
      continue;
    }
    const seq = statementSeq(record);
    if (seq === undefined) continue;
    if (seq < resumeSeq || (seq === resumeSeq && !keep.has(n.counter))) drop.push(n.counter);
  }
  return drop;
}

/** The counters of seq W's own statements that restore still needs (see compactRecords). */
function keptInSeq(records: readonly NumberedRecord[]): Set<number> {
  let highest = 0;
  for (const { record } of records) if (record.kind !== "lock") highest = Math.max(highest, roundOf(record));
  const keep = new Set<number>();
  const best = new Map<string, NumberedRecord>();
  for (const n of records) {
    const { record } = n;
    if (record.kind !== "lock" && roundOf(record) >= highest - ROUNDS_KEPT_BELOW_HIGHEST) keep.add(n.counter);
    const slot = record.kind === "vote" ? record.vote.phase : record.kind === "lock" ? "lock" : undefined;
    if (slot === undefined) continue;
    const known = best.get(slot);
    if (known === undefined || roundOf(record) > roundOf(known.record)) best.set(slot, n);
  }
  for (const n of best.values()) keep.add(n.counter);
  return keep;
}

function decidedSeq(record: CommitteeRecord): number {
  return record.kind === "decided" ? record.certificate.seq : -1;
}

function digestOf(record: CommitteeRecord): string {
  return record.kind === "decided" ? toHex(record.certificate.digest) : "";
}

/** The seq of an own statement (vote, timeout, proposal, lock); undefined for requests and decisions. */
function statementSeq(record: CommitteeRecord): number | undefined {
  switch (record.kind) {
    case "vote":
    case "timeout":
      return record.vote.seq;
    case "proposal":
      return record.seq;
    case "lock":
      return record.certificate.seq;
    default:
      return undefined;
  }
}

function roundOf(record: CommitteeRecord): number {
  switch (record.kind) {
    case "vote":
    case "timeout":
      return record.vote.round;
    case "proposal":
      return record.round;
    case "lock":
      return record.certificate.round;
    default:
      return 0;
  }
}

/**
 * A committee's durable records by counter, compacted after every write: what a store holds, and the
 * counters each compaction deletes from it. The node's driver and the tests' network both use it.
 */
export class RetainedRecords {
  private readonly live = new Map<number, CommitteeRecord>();
  private nextCounter: number;

  constructor(stored: Iterable<NumberedRecord> = [], next = 0) {
    for (const { counter, record } of stored) this.live.set(counter, record);
    this.nextCounter = next;
  }

  /** Files a new record under the next counter; returns that counter. */
  add(record: CommitteeRecord): number {
    const counter = this.nextCounter++;
    this.live.set(counter, record);
    return counter;
  }

  /** Applies the compaction rule to the set; returns the counters it deleted, for the store's batch. */
  compact(rules: RetentionRules): number[] {
    const entries = [...this.live].map(([counter, record]) => ({ counter, record }));
    const drop = compactRecords(entries, rules);
    for (const counter of drop) this.live.delete(counter);
    return drop;
  }

  /** In counter order (the order `restore` expects). */
  records(): CommitteeRecord[] {
    return [...this.live.keys()].sort((a, b) => a - b).map((counter) => this.live.get(counter)!);
  }

  get size(): number {
    return this.live.size;
  }
}
