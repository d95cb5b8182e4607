import { type BenchComparison, num, warnings } from "./benchReport.ts";
import type { DevnetBenchResult } from "./devnetBench.ts";

/**
 * `tally bench --repeat N`: the same bench on N fresh devnets, one after the other, and each headline figure's
 * median and range over them. On a shared machine one 20-second run of the same code lands anywhere in a
 * ±10 % band (more from one hour to the next), so a figure worth comparing with a goal or with another
 * checkout is a median over several runs, with the spread beside it.
 */
export const MAX_REPEAT = 50;

/** The middle value (the mean of the two middle ones for an even count) and the extremes. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** What one run contributes to the summary; `null` where a run could not measure it. */
const RUN_FIGURES = {
  appliedPerSec: (r: DevnetBenchResult) => r.appliedPerSec,
  cpuMicrosPerTransferPerNode: (r: DevnetBenchResult) => r.cpuMicrosPerTransferPerNode,
  cpuPerTransferInVerifies: (r: DevnetBenchResult) => r.cpuPerTransferInVerifies,
  latencyP50Ms: (r: DevnetBenchResult) => r.latencyMs.p50,
  latencyP90Ms: (r: DevnetBenchResult) => r.latencyMs.p90,
  latencyP99Ms: (r: DevnetBenchResult) => r.latencyMs.p99,
  firstNodeLatencyP50Ms: (r: DevnetBenchResult) => r.firstNodeLatencyMs.p50,
  messagesPerTransferPerNode: (r: DevnetBenchResult) => r.messagesPerTransferPerNode,
  rssMaxMB: (r: DevnetBenchResult) => r.rssMB.max,
  machineBusyPercent: (r: DevnetBenchResult) => r.machineCpuPercent?.busy ?? null,
} as const;

export type RunFigure = keyof typeof RUN_FIGURES;
type ReadFigure = (r: DevnetBenchResult) => number | null;

export interface RepeatedBench {
  readonly repeat: number;
  readonly runs: readonly DevnetBenchResult[];
  /** A figure no run measured (the machine's CPU off Linux) is left out. */
  readonly summary: Partial<Record<RunFigure, Spread>>;
}

export interface RepeatedComparison {
  readonly repeat: number;
  readonly runs: readonly BenchComparison[];
  readonly ratios: Record<keyof BenchComparison["ratios"], Spread>;
}

export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError("a spread needs at least one value");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

export function summariseRuns(runs: readonly DevnetBenchResult[]): RepeatedBench {
  const summary: Partial<Record<RunFigure, Spread>> = {};
  for (const [name, read] of Object.entries(RUN_FIGURES) as [RunFigure, ReadFigure][]) {
    const values = runs.map(read).filter((v): v is number => v !== null && Number.isFinite(v));
    if (values.length > 0) summary[name] = spreadOf(values);
  }
  return { repeat: runs.length, runs, summary };
}

export function summariseComparisons(runs: readonly BenchComparison[]): RepeatedComparison {
  const first = runs[0];
  if (first === undefined) throw new RangeError("no comparison to summarise");
  const names = Object.keys(first.ratios) as (keyof BenchComparison["ratios"])[];
  const ratios = Object.fromEntries(
    names.map((name) => [name, spreadOf(runs.map((c) => c.ratios[name]))]),
  ) as RepeatedComparison["ratios"];
  return { repeat: runs.length, runs, ratios };
}

/** Columns of the human table: heading, the figure and its decimals. */
const COLUMNS: readonly [string, RunFigure, number][] = [
  ["applied/s", "appliedPerSec", 0],
  ["CPU µs", "cpuMicrosPerTransferPerNode", 1],
  ["verifies", "cpuPerTransferInVerifies", 2],
  ["p50 ms", "latencyP50Ms", 1],
  ["p50 1st ms", "firstNodeLatencyP50Ms", 1],
  ["p90 ms", "latencyP90Ms", 1],
  ["msgs", "messagesPerTransferPerNode", 2],
  ["RSS MB", "rssMaxMB", 0],
  ["busy %", "machineBusyPercent", 1],
];
const COLUMN_WIDTH = 11;

export function formatRepeated(r: RepeatedBench, header: string): string {
  const row = (label: string, cell: (figure: RunFigure, digits: number) => string) =>
    `  ${label.padEnd(9)}${COLUMNS.map(([, figure, digits]) => cell(figure, digits).padStart(COLUMN_WIDTH)).join("")}`;
  const lines = [
    `${header}; ${r.repeat} runs, each on a fresh devnet`,
    "",
    `  ${"run".padEnd(9)}${COLUMNS.map(([heading]) => heading.padStart(COLUMN_WIDTH)).join("")}`,
    ...r.runs.map((run, i) =>
      row(String(i + 1), (figure, digits) => {
        const value = RUN_FIGURES[figure](run);
        return value === null ? "–" : num(value, digits);
      }),
    ),
    row("median", (figure, digits) => {
      const s = r.summary[figure];
      return s === undefined ? "–" : num(s.median, digits);
    }),
    "",
    "  range (min – max):",
    ...COLUMNS.map(([heading, figure, digits]) => {
      const s = r.summary[figure];
      return `    ${heading.padEnd(10)} ${s === undefined ? "–" : `${num(s.min, digits)} – ${num(s.max, digits)}`}`;
    }),
    ...r.runs.flatMap((run, i) => warnings(run).map((w) => `  run ${i + 1}:${w}`)),
  ];
  return lines.join("\n");
}

export function formatRepeatedComparison(c: RepeatedComparison, header: string): string {
  const names = Object.keys(c.ratios) as (keyof BenchComparison["ratios"])[];
  const width = Math.max(...names.map((n) => n.length));
  return [
    `${header}; ${c.repeat} comparisons, each on two fresh devnets (contagion / Bracha ratios)`,
    "",
    `  ${"ratio".padEnd(width)}  ${c.runs.map((_, i) => `run ${i + 1}`.padStart(8)).join("")}    median   min – max`,
    ...names.map((name) => {
      const s = c.ratios[name];
      const cells = c.runs.map((run) => num(run.ratios[name], 2).padStart(8)).join("");
      return `  ${name.padEnd(width)}  ${cells}  ${num(s.median, 2).padStart(8)}   ${num(s.min, 2)} – ${num(s.max, 2)}`;
    }),
    ...c.runs.flatMap((run, i) =>
      [...warnings(run.contagion), ...warnings(run.bracha)].map((w) => `  comparison ${i + 1}:${w}`),
    ),
  ].join("\n");
}
