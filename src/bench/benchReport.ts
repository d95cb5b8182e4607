import type { DevnetBenchResult } from "./devnetBench.ts";
import { STEP_PHASES } from "./nodeProbe.ts";
import type { RssSeries } from "./procStats.ts";

/** `--compare bracha`: the same load on both broadcasts, and contagion's figures over Bracha's. */
export interface BenchComparison {
  readonly contagion: DevnetBenchResult;
  readonly bracha: DevnetBenchResult;
  readonly ratios: {
    readonly appliedPerSec: number;
    readonly cpuMicrosPerTransferPerNode: number;
    /** The CPU ratio with each half in its own signature checks: the machine's drift between halves cancels. */
    readonly cpuPerTransferInVerifies: number;
    readonly latencyP50: number;
    readonly messagesPerTransferPerNode: number;
  };
}

export function compareResults(contagion: DevnetBenchResult, bracha: DevnetBenchResult): BenchComparison {
  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  return {
    contagion,
    bracha,
    ratios: {
      appliedPerSec: ratio(contagion.appliedPerSec, bracha.appliedPerSec),
      cpuMicrosPerTransferPerNode: ratio(
        contagion.cpuMicrosPerTransferPerNode,
        bracha.cpuMicrosPerTransferPerNode,
      ),
      cpuPerTransferInVerifies: ratio(contagion.cpuPerTransferInVerifies, bracha.cpuPerTransferInVerifies),
      latencyP50: ratio(contagion.latencyMs.p50, bracha.latencyMs.p50),
      messagesPerTransferPerNode: ratio(
        contagion.messagesPerTransferPerNode,
        bracha.messagesPerTransferPerNode,
      ),
    },
  };
}

/**
 * A figure for the human tables: grouped thousands, at most one decimal; with `digits`, exactly that many, so
 * a column's figures line up. "–" for a figure that is not a number.
 */
export const num = (n: number, digits?: number) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", {
        minimumFractionDigits: digits ?? 0,
        maximumFractionDigits: digits ?? 1,
      })
    : "–";

/** The rows of the human table: a label and how to read it from a result. */
const ROWS: readonly [string, (r: DevnetBenchResult) => string][] = [
  ["applied/s (on every node)", (r) => num(r.appliedPerSec)],
  ["submitted in window", (r) => num(r.submitted)],
  [
    "latency p50 / p90 / p99 ms",
    (r) => `${num(r.latencyMs.p50)} / ${num(r.latencyMs.p90)} / ${num(r.latencyMs.p99)}`,
  ],
  [
    "… on the first node",
    (r) =>
      `${num(r.firstNodeLatencyMs.p50)} / ${num(r.firstNodeLatencyMs.p90)} / ${num(r.firstNodeLatencyMs.p99)}`,
  ],
  ["node CPU µs / transfer", (r) => num(r.cpuMicrosPerTransferPerNode)],
  [
    "node CPU / transfer in verifies",
    (r) =>
      `${num(r.cpuPerTransferInVerifies)} (verify ${num(r.verifyMicros.before)} / ${num(r.verifyMicros.after)} µs)`,
  ],
  [
    "  signature checks / transfer / node",
    (r) => (r.signatureChecksPerTransferPerNode === null ? "–" : num(r.signatureChecksPerTransferPerNode)),
  ],
  [
    "  main / V8 helpers / libuv / other",
    (r) => {
      const t = r.threadMicrosPerTransferPerNode;
      return [t.main, t.v8, t.libuv, t.other].map((x) => num(Math.round(x))).join(" / ");
    },
  ],
  [
    "  of main: GC pauses",
    (r) => (r.gcPauseMicrosPerTransferPerNode === null ? "–" : num(r.gcPauseMicrosPerTransferPerNode)),
  ],
  [
    "  GC pauses / s × ms: minor · major",
    (r) => {
      const g = r.gcPausesPerNode;
      return g === null
        ? "–"
        : `${num(g.minor.perSec)} × ${num(g.minor.meanMs)} · ${num(g.major.perSec)} × ${num(g.major.meanMs)}`;
    },
  ],
  [
    "event loop busy % / node",
    (r) => (r.loopBusyPercentPerNode === null ? "–" : num(r.loopBusyPercentPerNode)),
  ],
  ["messages / transfer / node", (r) => num(r.messagesPerTransferPerNode)],
  ["bytes / transfer / node", (r) => num(r.bytesPerTransferPerNode)],
  ["steps / s / node (transfers / step)", (r) => `${num(r.stepsPerSecPerNode)} (${num(r.transfersPerStep)})`],
  [
    "  step ms: wait / handle / write / send",
    (r) => {
      const s = r.stepMsPerNode;
      return s === null ? "–" : STEP_PHASES.map((phase) => s[phase].toFixed(2)).join(" / ");
    },
  ],
  ["RSS max MB", (r) => num(r.rssMB.max)],
  ["bench CPU µs / transfer", (r) => num(r.benchCpuMicrosPerTransfer)],
  [
    "machine busy % (nodes / bench)",
    (r) => {
      const m = r.machineCpuPercent;
      return m === null ? "–" : `${num(m.busy)} (${num(m.nodes)} / ${num(m.bench)}) of ${m.cores} cores`;
    },
  ],
];

/**
 * One line that says what was run: the devnet, the load and the windows. `ofRun` false leaves out what only
 * this run measured (its prewarm's rate), for a line that heads several runs.
 */
export function benchHeader(r: DevnetBenchResult, ofRun = true): string {
  const load =
    r.mode === "rate" ? `open loop at ${num(r.rate ?? 0)}/s` : `saturation, ${r.inFlight} batches in flight`;
  const prewarmRate = ofRun ? ` (${num(r.prewarm?.appliedPerSec ?? 0)}/s)` : "";
  const prewarm =
    r.prewarm === undefined || r.prewarm.sec === 0
      ? "no prewarm"
      : `${r.prewarm.sec} s prewarm at saturation${prewarmRate}`;
  return `${r.nodes} nodes, ${r.membership} membership, ${load}, batches of ${r.batch}, ${num(r.accounts)} accounts (${r.workload}), ${prewarm} + ${r.warmupSec} s warmup + ${r.durationSec} s measured`;
}

/** What makes a run's figures suspect (nothing applied, ran dry, refusals, transfers left unapplied). */
export function warnings(r: DevnetBenchResult): string[] {
  const out: string[] = [];
  if (r.applied === 0) out.push(`  ${r.broadcast}: no transfer was applied on every node during the window`);
  if (r.ranDry)
    out.push(
      `  ${r.broadcast}: the ${num(r.presigned)} pre-signed transfers ran out: applied/s is a lower bound`,
    );
  const refused = Object.entries(r.refused);
  if (refused.length > 0)
    out.push(`  ${r.broadcast}: refused ${refused.map(([code, k]) => `${code} ×${k}`).join(", ")}`);
  if (r.unknownDependencyRetried > 0)
    out.push(
      `  ${r.broadcast}: ${num(r.unknownDependencyRetried)} transfers refused as UNKNOWN_DEPENDENCY after every node reported the dep applied (sent again)`,
    );
  if (r.unappliedAfterDrain > 0)
    out.push(
      `  ${r.broadcast}: ${num(r.unappliedAfterDrain)} transfers submitted in the window never applied everywhere`,
    );
  return out;
}

function table(results: readonly DevnetBenchResult[], extra?: (label: string) => string): string[] {
  const width = Math.max(...ROWS.map(([label]) => label.length));
  const head = `  ${"".padEnd(width)}  ${results.map((r) => r.broadcast.padStart(22)).join("")}${extra ? "   contagion/bracha" : ""}`;
  return [
    head,
    ...ROWS.map(
      ([label, read]) =>
        `  ${label.padEnd(width)}  ${results.map((r) => read(r).padStart(22)).join("")}${extra ? `   ${extra(label)}` : ""}`,
    ),
  ];
}

/** Inside the window: the node's own memory from its first sample to its largest, and the mapped files' range. */
function windowParts(rss: RssSeries): string {
  const { anonymous, file } = rss.window;
  return `; window: own ${anonymous.start} → max ${anonymous.max}, files ${file.min}–${file.max}`;
}

export function formatBench(r: DevnetBenchResult): string {
  const perNode = r.perNode.map(
    (x) =>
      `  ${x.name.padEnd(8)} cpu ${num(x.cpuPercent).padStart(5)} %  ${num(x.cpuMicrosPerTransfer).padStart(7)} µs/transfer  ${num(x.messagesPerTransfer).padStart(6)} msgs  ${num(x.bytesPerTransfer).padStart(7)} B  RSS ${x.rssMB.start} → ${x.rssMB.end} MB (max ${x.rssMB.max}${windowParts(x.rssMB)})${x.heapUsedMB === undefined ? "" : `  heap ${x.heapUsedMB.start} → ${x.heapUsedMB.end} MB`}`,
  );
  return [benchHeader(r), "", ...table([r]), "", ...perNode, ...warnings(r)].join("\n");
}

export function formatComparison(c: BenchComparison): string {
  const byLabel: Record<string, number> = {
    "applied/s (on every node)": c.ratios.appliedPerSec,
    "latency p50 / p90 / p99 ms": c.ratios.latencyP50,
    "node CPU µs / transfer": c.ratios.cpuMicrosPerTransferPerNode,
    "node CPU / transfer in verifies": c.ratios.cpuPerTransferInVerifies,
    "messages / transfer / node": c.ratios.messagesPerTransferPerNode,
  };
  return [
    benchHeader(c.contagion),
    "",
    ...table([c.contagion, c.bracha], (label) => {
      const ratio = byLabel[label];
      if (ratio === undefined) return "";
      return label.startsWith("latency") ? `${ratio}× (p50)` : `${ratio}×`;
    }),
    ...warnings(c.contagion),
    ...warnings(c.bracha),
  ].join("\n");
}
