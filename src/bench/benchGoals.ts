import { type RepeatedBench, type Spread, spreadOf } from "./benchRepeats.ts";
import { num } from "./benchReport.ts";
import type { DevnetBenchResult } from "./devnetBench.ts";
import type { IngestBenchResult } from "./ingest.ts";
import type { RssSeries } from "./procStats.ts";

/**
 * `tally bench goals`: every performance goal measured the way docs/benchmarks.md holds the node to it, in
 * one command, each figure beside its threshold. The thresholds are for a 4-node devnet on a 2-core machine.
 * This machine's speed moves by 15–25 % with the hour, so the report also prints figures that follow the
 * hour and not the code (the signature check's time, how busy the machine was).
 */
export const PERFORMANCE_GOALS = {
  /** One node's ingest against raw libsodium verify on the same inputs: at least. */
  ingestRatio: 0.5,
  /** Applied transfers per second at saturation, the median of the saturation runs: at least. */
  appliedPerSec: 3_000,
  /** CPU µs per applied transfer per node at saturation, the median: at most. */
  cpuMicrosPerTransferPerNode: 150,
  /** p50 from submit to applied on every node at half the saturation median, the median of those runs: at most. */
  halfRateP50Ms: 50,
  /** Every node's RSS within this many % of its first sample in the long run's window: at most. */
  rssFlatPercent: 10,
} as const;

/** The devnet the thresholds are stated for. */
export const GOALS_NODES = 4;

/** The long run that checks memory: this long at the half rate, after half as long again of warm-up. */
export const RSS_RUN_DEFAULT_SEC = 600;

export interface GoalVerdict {
  readonly goal: string;
  /** "≥" or "≤": how `measured` is held against `threshold`. */
  readonly comparison: "≥" | "≤";
  readonly threshold: number;
  /** The figure held against the threshold; null when it was not measured. */
  readonly measured: number | null;
  /** null when not measured. */
  readonly met: boolean | null;
  /** How the figure was taken: "median of 9 runs (2,299–2,703)". */
  readonly detail: string;
  /** Decimals the figure is printed with. */
  readonly digits: number;
}

/** The long run at the half rate, or why it did not run. */
export type RssRun =
  | { readonly ran: true; readonly durationSec: number; readonly result: DevnetBenchResult }
  | { readonly ran: false; readonly reason: string };

export interface GoalsMeasurements {
  /** Each ingest run; the goal holds their median ratio. */
  readonly ingest: readonly IngestBenchResult[];
  readonly saturation: RepeatedBench;
  /** Half the saturation runs' median applied/s, rounded: the rate of the half-rate runs. */
  readonly halfRate: number;
  readonly half: RepeatedBench;
  readonly rss: RssRun;
  /**
   * When the measurements began and ended (ISO 8601, UTC): this machine's speed moves with the hour, so a
   * set of verdicts means little without when it was taken.
   */
  readonly window: { readonly startedAt: string; readonly finishedAt: string };
}

/** What the machine's hour was like: figures that move with it, not with the code. */
export interface HourFigures {
  /** The median over the ingest runs. */
  readonly rawVerifyPerSec: number;
  /** The bench's timing of one libsodium verify, before and after every run's load. */
  readonly benchVerifyMicros: Spread;
  readonly saturationBusyPercent: Spread | null;
  readonly halfRateBusyPercent: Spread | null;
}

export interface GoalsReport extends GoalsMeasurements {
  readonly goals: readonly GoalVerdict[];
  readonly met: number;
  readonly measured: number;
  readonly hour: HourFigures;
}

export function halfRateOf(saturation: RepeatedBench): number {
  const median = saturation.summary.appliedPerSec?.median;
  if (median === undefined) throw new RangeError("no saturation run measured applied/s");
  return Math.max(1, Math.round(median / 2));
}

/**
 * The largest departure of any node's RSS from its first sample in the measured window, in % of that sample
 * (above or below). NaN when a node has no samples in the window.
 */
export function rssDeparturePercent(perNode: readonly RssSeries[]): number {
  if (perNode.length === 0) return Number.NaN;
  let worst = 0;
  for (const { window } of perNode) {
    if (!(window.start > 0)) return Number.NaN;
    const above = window.max - window.start;
    const below = window.start - window.min;
    worst = Math.max(worst, (Math.max(above, below) / window.start) * 100);
  }
  return Math.round(worst * 10) / 10;
}

function verdict(
  [goal, comparison, threshold, digits]: readonly [string, "≥" | "≤", number, number],
  measured: number | undefined,
  detail: string,
): GoalVerdict {
  if (measured === undefined || !Number.isFinite(measured))
    return { goal, comparison, threshold, measured: null, met: null, detail, digits };
  const met = comparison === "≥" ? measured >= threshold : measured <= threshold;
  return { goal, comparison, threshold, measured, met, detail, digits };
}

/** Each goal's name, how it compares, its threshold and the decimals its figure is printed with. */
const GOAL_ROWS = {
  ingest: ["ingest against raw verify (×)", "≥", PERFORMANCE_GOALS.ingestRatio, 2],
  applied: ["applied/s at saturation", "≥", PERFORMANCE_GOALS.appliedPerSec, 0],
  cpu: ["CPU µs per transfer per node at saturation", "≤", PERFORMANCE_GOALS.cpuMicrosPerTransferPerNode, 1],
  p50: ["p50 ms at half the saturation rate", "≤", PERFORMANCE_GOALS.halfRateP50Ms, 1],
  rss: ["RSS departure at half rate (%)", "≤", PERFORMANCE_GOALS.rssFlatPercent, 1],
} as const;

const range = (s: Spread | undefined, digits: number) =>
  s === undefined ? "" : ` (${num(s.min, digits)}–${num(s.max, digits)})`;

export function judgeGoals(m: GoalsMeasurements): GoalsReport {
  const sat = m.saturation.summary;
  const half = m.half.summary;
  const spreadOrNone = (values: readonly number[]) => (values.length === 0 ? undefined : spreadOf(values));
  const ingestRatio = spreadOrNone(m.ingest.map((r) => r.ratio));
  const rawVerify = spreadOrNone(m.ingest.map((r) => r.rawVerifyPerSec));
  const runs = (r: RepeatedBench) => (r.repeat === 1 ? "one run" : `median of ${r.repeat} runs`);
  const spread = (r: RepeatedBench, s: Spread | undefined, digits: number) =>
    r.repeat === 1 ? "" : range(s, digits);
  const goals: GoalVerdict[] = [
    verdict(
      GOAL_ROWS.ingest,
      ingestRatio?.median,
      m.ingest.length === 1
        ? `one run: ${num(m.ingest[0]!.ingestPerSec, 0)} against ${num(m.ingest[0]!.rawVerifyPerSec, 0)}/s`
        : `median of ${m.ingest.length} runs${range(ingestRatio, 2)}`,
    ),
    verdict(
      GOAL_ROWS.applied,
      sat.appliedPerSec?.median,
      `${runs(m.saturation)}${spread(m.saturation, sat.appliedPerSec, 0)}`,
    ),
    verdict(
      GOAL_ROWS.cpu,
      sat.cpuMicrosPerTransferPerNode?.median,
      `${runs(m.saturation)}${spread(m.saturation, sat.cpuMicrosPerTransferPerNode, 1)}`,
    ),
    verdict(
      GOAL_ROWS.p50,
      half.latencyP50Ms?.median,
      `${runs(m.half)} at ${num(m.halfRate, 0)}/s${spread(m.half, half.latencyP50Ms, 1)}`,
    ),
    m.rss.ran
      ? verdict(
          GOAL_ROWS.rss,
          rssDeparturePercent(m.rss.result.rssMB.perNode),
          `the largest of any node from its first sample, over ${num(m.rss.durationSec, 0)} s at ${num(m.halfRate, 0)}/s, after ${num(m.rss.result.warmupSec, 0)} s of warm-up`,
        )
      : verdict(GOAL_ROWS.rss, undefined, `not run: ${m.rss.reason}`),
  ];
  const allRuns = [...m.saturation.runs, ...m.half.runs];
  return {
    ...m,
    goals,
    met: goals.filter((v) => v.met === true).length,
    measured: goals.filter((v) => v.met !== null).length,
    hour: {
      rawVerifyPerSec: rawVerify === undefined ? Number.NaN : rawVerify.median,
      benchVerifyMicros: spreadOf(allRuns.flatMap((r) => [r.verifyMicros.before, r.verifyMicros.after])),
      saturationBusyPercent: sat.machineBusyPercent ?? null,
      halfRateBusyPercent: half.machineBusyPercent ?? null,
    },
  };
}

/** "2026-12-06 18:38–19:12 UTC" (the end's date too when the run crossed midnight). */
function windowText({ startedAt, finishedAt }: GoalsMeasurements["window"]): string {
  const [startDay, startTime] = [startedAt.slice(0, 10), startedAt.slice(11, 16)];
  const [endDay, endTime] = [finishedAt.slice(0, 10), finishedAt.slice(11, 16)];
  return `${startDay} ${startTime}–${endDay === startDay ? "" : `${endDay} `}${endTime} UTC`;
}

export function formatGoals(r: GoalsReport): string {
  const first = r.saturation.runs[0];
  const setup =
    first === undefined
      ? ""
      : `${first.nodes}-node devnet, ${first.broadcast}, ${num(first.accounts)} accounts`;
  const width = Math.max(...r.goals.map((v) => v.goal.length));
  const rows = r.goals.map((v) => {
    const measured = v.measured === null ? "–" : num(v.measured, v.digits);
    const met = v.met === null ? "–" : v.met ? "yes" : "no";
    const threshold = `${v.comparison} ${num(v.threshold)}`;
    return `  ${v.goal.padEnd(width)}  ${threshold.padStart(9)}  ${measured.padStart(9)}  ${met.padEnd(3)}  ${v.detail}`;
  });
  const h = r.hour;
  const busy = (s: Spread | null) => (s === null ? "–" : `${num(s.median, 1)} %`);
  const stated =
    first === undefined || first.nodes === GOALS_NODES ? "" : ` (the goals are for ${GOALS_NODES} nodes)`;
  return [
    `performance goals, ${setup}${stated}: ${r.met} of ${r.measured} measured goals met`,
    "",
    `  ${"goal".padEnd(width)}  ${"threshold".padStart(9)}  ${"measured".padStart(9)}  met  how`,
    ...rows,
    "",
    `  the hour (figures that follow the machine, not the code): ${windowText(r.window)}`,
    `    raw libsodium verify ${num(h.rawVerifyPerSec, 0)}/s; the bench's verify ${num(h.benchVerifyMicros.median, 1)} µs${range(h.benchVerifyMicros, 1)}`,
    `    machine busy: ${busy(h.saturationBusyPercent)} at saturation, ${busy(h.halfRateBusyPercent)} at half rate`,
  ].join("\n");
}
