import { percentile } from "../percentile.ts";
import type { FaultCounters } from "./faultyOwners.ts";
import type { KsharedSimSpec } from "./ksharedSimSpec.ts";
import type { AccountOutcome, WorldTotals } from "./ksharedWorld.ts";

/** One account's figures. */
export interface AccountReport {
  readonly account: number;
  readonly bad: boolean;
  readonly decisionsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly submitted: number;
  /** Own proposals not decided by the end of the drain. */
  readonly undecided: number;
  readonly inboxDropped: number;
  readonly evidence: number;
  readonly maxRoundsEntered: number;
}

/** A group of accounts: decisions/s is the mean per account; latencies are pooled over their proposals. */
export interface GroupReport {
  readonly accounts: number;
  readonly decisionsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly undecided: number;
}

export interface ScenarioReport {
  readonly accounts: readonly AccountReport[];
  readonly correct: GroupReport;
  readonly bad: GroupReport;
  readonly messagesSent: number;
  readonly messagesProcessed: number;
  /** Arrivals dropped by full per-account inbox FIFOs, and how many of them belonged to bad accounts. */
  readonly inboxDropped: number;
  readonly inboxDroppedBad: number;
  readonly evidence: number;
  readonly faults: FaultCounters;
  readonly wallSeconds: number;
}

/** The correct accounts' figures with the bad accounts present, over the same without them. */
export interface KsharedComparison {
  readonly p50: number;
  readonly p99: number;
  readonly throughput: number;
}

export interface KsharedSimReport {
  readonly mode: "kshared";
  readonly spec: KsharedSimSpec;
  readonly baseline: ScenarioReport;
  readonly faulty: ScenarioReport;
  readonly ratio: KsharedComparison;
}

function round(x: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(x * scale) / scale;
}

function accountReport(outcome: AccountOutcome, seconds: number): AccountReport {
  const sorted = [...outcome.latenciesMs].sort((a, b) => a - b);
  return {
    account: outcome.account,
    bad: outcome.bad,
    decisionsPerSecond: round(outcome.decisionsInWindow / seconds),
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    submitted: outcome.submitted,
    undecided: outcome.submitted - outcome.latenciesMs.length,
    inboxDropped: outcome.inboxDropped,
    evidence: outcome.evidence,
    maxRoundsEntered: outcome.maxRoundsEntered,
  };
}

function groupReport(outcomes: readonly AccountOutcome[], seconds: number): GroupReport {
  const latencies = outcomes.flatMap((o) => o.latenciesMs).sort((a, b) => a - b);
  const decisions = outcomes.reduce((sum, o) => sum + o.decisionsInWindow, 0);
  return {
    accounts: outcomes.length,
    decisionsPerSecond: outcomes.length === 0 ? 0 : round(decisions / seconds / outcomes.length),
    p50Ms: round(percentile(latencies, 0.5)),
    p99Ms: round(percentile(latencies, 0.99)),
    undecided: outcomes.reduce((sum, o) => sum + o.submitted - o.latenciesMs.length, 0),
  };
}

export function scenarioReport(
  run: { readonly accounts: readonly AccountOutcome[]; readonly totals: WorldTotals },
  seconds: number,
  wallSeconds: number,
): ScenarioReport {
  const bad = run.accounts.filter((a) => a.bad);
  return {
    accounts: run.accounts.map((o) => accountReport(o, seconds)),
    correct: groupReport(
      run.accounts.filter((a) => !a.bad),
      seconds,
    ),
    bad: groupReport(bad, seconds),
    messagesSent: run.totals.messagesSent,
    messagesProcessed: run.totals.messagesProcessed,
    inboxDropped: run.totals.messagesDropped,
    inboxDroppedBad: bad.reduce((sum, a) => sum + a.inboxDropped, 0),
    evidence: bad.reduce((sum, a) => sum + a.evidence, 0),
    faults: { ...run.totals.faults },
    wallSeconds: round(wallSeconds),
  };
}

export function compareCorrect(baseline: ScenarioReport, faulty: ScenarioReport): KsharedComparison {
  const ratio = (a: number, b: number) => (b === 0 ? 0 : round(a / b, 3));
  return {
    p50: ratio(faulty.correct.p50Ms, baseline.correct.p50Ms),
    p99: ratio(faulty.correct.p99Ms, baseline.correct.p99Ms),
    throughput: ratio(faulty.correct.decisionsPerSecond, baseline.correct.decisionsPerSecond),
  };
}

export function formatKsharedReport(r: KsharedSimReport): string {
  const s = r.spec;
  const row = (name: string, g: GroupReport) =>
    `${name.padEnd(34)}${String(g.accounts).padStart(4)}  ${g.decisionsPerSecond.toFixed(2).padStart(7)}  ${g.p50Ms.toFixed(1).padStart(8)}  ${g.p99Ms.toFixed(1).padStart(8)}  ${String(g.undecided).padStart(9)}`;
  const f = r.faulty.faults;
  const happened = {
    equivocate: `${f.equivocatedProposals} double proposals, ${f.equivocatedVotes} double prepares; ${r.faulty.evidence} equivocations recorded by correct owners`,
    silent: `${f.suppressedMessages} messages withheld`,
    flood: `${f.floodMessages} flood messages sent; ${r.faulty.inboxDroppedBad} of the bad accounts' arrivals dropped by their inbox bound`,
  }[s.fault];
  return [
    `k-shared: ${s.accounts} accounts (k = ${s.k}) on ${s.nodes} nodes, ${s.bad} bad (${s.fault}), ${s.proposalsPerSecond} proposals/s per account, ${s.seconds} s, seed ${s.seed}`,
    `node budget ${s.messagesPerMs} message/ms, ${s.inbox === "fair" ? `inbox ${s.inboxPerAccount} per account, round-robin` : "one shared FIFO inbox (control)"}; latency ${s.minLatencyMs}–${s.maxLatencyMs} ms`,
    `${"".padEnd(34)}${"accts".padStart(4)}  ${"dec/s".padStart(7)}  ${"p50 ms".padStart(8)}  ${"p99 ms".padStart(8)}  ${"undecided".padStart(9)}`,
    row("correct accounts, bad ones absent", r.baseline.correct),
    row("correct accounts, bad ones present", r.faulty.correct),
    row("bad accounts", r.faulty.bad),
    `ratio (present / absent)          p50 ${r.ratio.p50}  p99 ${r.ratio.p99}  throughput ${r.ratio.throughput}`,
    `fault: ${happened}`,
    `messages: baseline ${r.baseline.messagesProcessed} processed; faulty ${r.faulty.messagesProcessed} processed, ${r.faulty.inboxDropped} dropped (${r.faulty.inboxDroppedBad} of bad accounts); wall ${(r.baseline.wallSeconds + r.faulty.wallSeconds).toFixed(2)} s`,
  ].join("\n");
}
