import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { attachDevnet, type BenchTarget, startOwnDevnet } from "../bench/benchTarget.ts";
import { type DevnetBenchOptions, type DevnetBenchResult, runDevnetBench } from "../bench/devnetBench.ts";
import { type IngestBenchResult, runIngestBench } from "../bench/ingest.ts";
import { type NodeProfiles, writeNodeProfiles } from "../bench/nodeProfiles.ts";
import { PerfRecording, type PerfReport, removePerfMaps, writePerfReport } from "../bench/perfRecord.ts";
import { prewarm } from "../bench/prewarm.ts";
import { UsageError } from "./command.ts";

// What `tally bench` and `tally bench goals` share: one run on a devnet, and the ingest bench.

/** Transfers the ingest bench signs and ingests by default. */
export const DEFAULT_BENCH_TRANSFERS = 20_000;
/** The node's maxEventsPerBatch: one fsynced write per this many delivered transfers. */
export const DEFAULT_BENCH_BATCH = 2_000;

export const DEFAULT_DEVNET_BENCH = {
  nodes: 4,
  durationSec: 20,
  warmupSec: 3,
  // A node's first ~minute is warm-up (src/bench/prewarm.ts): figures for its steady state by default.
  prewarmSec: 30,
  accounts: 1_000,
  batch: 100,
  inFlight: 8,
} as const;
/** A run's whole workload is signed and held in memory before the clock: bound it (≈ 0.5 KB a transfer). */
export const MAX_PRESIGNED = 2_000_000;

export interface DevnetBenchArgs {
  readonly nodes: number;
  readonly broadcast: "bracha" | "contagion";
  readonly membership: "open" | "static" | undefined;
  readonly accounts: number;
  readonly devnet: string | undefined;
  readonly compare: boolean;
  /** Seconds of saturating load before the run, on each devnet (0: none). */
  readonly prewarmSec: number;
  /** Transfers signed in advance for one devnet: the prewarm's and the run's (an attached devnet pays both). */
  readonly presigned: number;
  /** `--profile DIR`: absolute. */
  readonly profile: string | undefined;
  /** `--perf DIR`: absolute. */
  readonly perf: string | undefined;
  /** Runs (or comparisons), each on fresh devnets; 1 unless `--repeat N`. */
  readonly repeat: number;
  readonly load: DevnetBenchOptions;
}

/** Ctrl-C during a run: the run stops, its devnet is brought down and removed, and the command fails. */
export async function withInterrupt<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  process.once("SIGINT", abort);
  process.once("SIGTERM", abort);
  try {
    return await run(controller.signal);
  } finally {
    process.off("SIGINT", abort);
    process.off("SIGTERM", abort);
  }
}

/** A run's result, with its flame graph under `--profile` or its perf summary under `--perf`. */
export type ProfiledResult = DevnetBenchResult & { profile?: NodeProfiles; perf?: PerfReport };

export async function benchOnce(
  a: DevnetBenchArgs,
  broadcast: "bracha" | "contagion",
  signal: AbortSignal,
): Promise<ProfiledResult> {
  const total = a.presigned + 1;
  const profileDir = dirOf(a.profile, a, broadcast);
  const perfDir = dirOf(a.perf, a, broadcast);
  const own = {
    nodes: a.nodes,
    broadcast,
    membership: a.membership,
    accounts: a.accounts,
    cpuProfileDir: profileDir,
    perfMaps: perfDir !== undefined,
  };
  if (perfDir !== undefined) PerfRecording.checkInstalled();
  const target: BenchTarget =
    a.devnet === undefined ? await startOwnDevnet(own) : await attachDevnet(a.devnet, total);
  const pids = target.nodes.map((n) => n.pid);
  let result: DevnetBenchResult | undefined;
  let window: { fromMicros: number; toMicros: number } | undefined;
  let recording: PerfRecording | undefined;
  try {
    if (signal.aborted) throw new UsageError("interrupted");
    const progress = { isTTY: process.stderr.isTTY === true, write: (t: string) => process.stderr.write(t) };
    const warmed = await prewarm(target, a.prewarmSec, { ...a.load, signal, progress });
    if (perfDir !== undefined) recording = PerfRecording.start(pids, perfDir);
    const onWindow = (fromMicros: number, toMicros: number) => {
      window = { fromMicros, toMicros };
    };
    const measured = await runDevnetBench(warmed.target, { ...a.load, signal, progress, onWindow });
    await recording?.stop();
    result = { prewarm: warmed.figures, ...measured };
  } finally {
    recording?.abandon();
    await target.close();
    if (result === undefined && perfDir !== undefined) await removePerfMaps(pids);
  }
  const load = result.mode === "rate" ? `${result.rate} transfers/s` : "saturation";
  const title = `${result.nodes}-node devnet, ${broadcast}, ${load}`;
  if (recording !== undefined && perfDir !== undefined)
    return {
      ...result,
      perf: await writePerfReport(recording, perfDir, `${title}: node CPU (perf)`, pids, window),
    };
  if (profileDir === undefined) return result;
  const profileTitle = `${title}: node CPU (all nodes' main threads)`;
  return { ...result, profile: await writeNodeProfiles(profileDir, profileTitle, window) };
}

/** --compare profiles each broadcast into its own directory. */
export function dirOf(
  option: string | undefined,
  a: DevnetBenchArgs,
  broadcast: "bracha" | "contagion",
): string | undefined {
  return option && (a.compare ? join(option, broadcast) : option);
}

/** The ingest bench on a database in a fresh temporary directory, removed afterwards. */
export async function ingestInTemp(transfers: number, batch: number): Promise<IngestBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), "tally-bench-"));
  try {
    return await runIngestBench({ transfers, batch, dir: join(dir, "db") });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
