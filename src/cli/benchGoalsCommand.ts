import {
  formatGoals,
  type GoalsReport,
  halfRateOf,
  judgeGoals,
  RSS_RUN_DEFAULT_SEC,
  type RssRun,
} from "../bench/benchGoals.ts";
import { MAX_REPEAT, summariseRuns } from "../bench/benchRepeats.ts";
import { type DevnetBenchResult, presignCount } from "../bench/devnetBench.ts";
import type { IngestBenchResult } from "../bench/ingest.ts";
import {
  benchOnce,
  DEFAULT_BENCH_BATCH,
  DEFAULT_BENCH_TRANSFERS,
  DEFAULT_DEVNET_BENCH,
  type DevnetBenchArgs,
  ingestInTemp,
  MAX_PRESIGNED,
  withInterrupt,
} from "./benchRuns.ts";
import { type Command, optionalInteger, type ParsedArgs, UsageError } from "./command.ts";

/**
 * The standard sets (docs/benchmarks.md): nine runs at saturation, five at half their median. The ingest
 * bench is a 5-second run whose ratio moves with what else the disk and cores are doing: three, and their median.
 */
const DEFAULT_SATURATION_RUNS = 9;
const DEFAULT_HALF_RUNS = 5;
const DEFAULT_INGEST_RUNS = 3;

interface GoalsArgs {
  readonly nodes: number;
  readonly accounts: number;
  readonly durationSec: number;
  readonly warmupSec: number;
  readonly prewarmSec: number;
  readonly ingestRuns: number;
  readonly saturationRuns: number;
  readonly halfRuns: number;
  /** The long memory run's measured seconds; 0 to skip it. */
  readonly rssSec: number;
}

function goalsArgs(args: ParsedArgs): GoalsArgs {
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  const runs = (name: string, fallback: number) => {
    const n = optionalInteger(args, name, 1) ?? fallback;
    if (n > MAX_REPEAT) throw new UsageError(`--${name} must be at most ${MAX_REPEAT}`);
    return n;
  };
  const nodes = optionalInteger(args, "nodes", 1) ?? DEFAULT_DEVNET_BENCH.nodes;
  const accounts = optionalInteger(args, "accounts", 1) ?? DEFAULT_DEVNET_BENCH.accounts;
  if (accounts < nodes)
    throw new UsageError("--accounts must be at least --nodes (each node gets its own accounts)");
  const prewarmSec = optionalInteger(args, "prewarm", 0) ?? DEFAULT_DEVNET_BENCH.prewarmSec;
  if (presignCount(undefined, 0, prewarmSec) > MAX_PRESIGNED)
    throw new UsageError(`--prewarm ${prewarmSec}: more than ${MAX_PRESIGNED} transfers to sign in advance`);
  const durationSec = optionalInteger(args, "duration", 1) ?? DEFAULT_DEVNET_BENCH.durationSec;
  const warmupSec = optionalInteger(args, "warmup", 0) ?? DEFAULT_DEVNET_BENCH.warmupSec;
  if (presignCount(undefined, warmupSec, durationSec) > MAX_PRESIGNED)
    throw new UsageError(`--warmup + --duration: more than ${MAX_PRESIGNED} transfers to sign in advance`);
  const rss = args.values.rss === true;
  const rssSeconds = optionalInteger(args, "rss-duration", 1);
  if (rssSeconds !== undefined && !rss) throw new UsageError("--rss-duration needs --rss");
  return {
    nodes,
    accounts,
    durationSec,
    warmupSec,
    prewarmSec,
    ingestRuns: runs("ingest-runs", DEFAULT_INGEST_RUNS),
    saturationRuns: runs("saturation-runs", DEFAULT_SATURATION_RUNS),
    halfRuns: runs("half-runs", DEFAULT_HALF_RUNS),
    rssSec: rss ? (rssSeconds ?? RSS_RUN_DEFAULT_SEC) : 0,
  };
}

/** One devnet run of the goals' load: saturation when `rate` is undefined. */
function runArgs(
  g: GoalsArgs,
  rate: number | undefined,
  warmupSec: number,
  durationSec: number,
): DevnetBenchArgs {
  return {
    nodes: g.nodes,
    broadcast: "contagion",
    membership: undefined,
    accounts: g.accounts,
    devnet: undefined,
    compare: false,
    prewarmSec: g.prewarmSec,
    presigned: presignCount(rate, warmupSec, durationSec) + presignCount(undefined, 0, g.prewarmSec),
    profile: undefined,
    perf: undefined,
    repeat: 1,
    load: {
      durationSec,
      warmupSec,
      rate,
      batch: DEFAULT_DEVNET_BENCH.batch,
      inFlight: DEFAULT_DEVNET_BENCH.inFlight,
      withDeps: true,
      submit: "binary",
    },
  };
}

const say = (text: string) => process.stderr.write(`goals: ${text}\n`);

async function measureGoals(g: GoalsArgs, signal: AbortSignal): Promise<GoalsReport> {
  const startedAt = new Date().toISOString();
  const ingest: IngestBenchResult[] = [];
  for (let i = 1; i <= g.ingestRuns; i++) {
    say(`ingest against raw verify, run ${i} of ${g.ingestRuns}`);
    ingest.push(await ingestInTemp(DEFAULT_BENCH_TRANSFERS, DEFAULT_BENCH_BATCH));
  }
  const repeated = async (label: string, count: number, rate: number | undefined) => {
    const runs: DevnetBenchResult[] = [];
    for (let i = 1; i <= count; i++) {
      say(`${label}, run ${i} of ${count}`);
      runs.push(await benchOnce(runArgs(g, rate, g.warmupSec, g.durationSec), "contagion", signal));
    }
    return summariseRuns(runs);
  };
  const saturation = await repeated("saturation", g.saturationRuns, undefined);
  const halfRate = halfRateOf(saturation);
  const half = await repeated(`half rate (${halfRate}/s)`, g.halfRuns, halfRate);
  const rss = await memoryRun(g, halfRate, signal);
  const window = { startedAt, finishedAt: new Date().toISOString() };
  return judgeGoals({ ingest, saturation, halfRate, half, rss, window });
}

/** The long run at the half rate, after half its length of warm-up; skipped if it would sign too much. */
async function memoryRun(g: GoalsArgs, rate: number, signal: AbortSignal): Promise<RssRun> {
  if (g.rssSec === 0)
    return { ran: false, reason: "add --rss (10 minutes at half rate, after 5 of warm-up)" };
  const warmupSec = Math.ceil(g.rssSec / 2);
  const a = runArgs(g, rate, warmupSec, g.rssSec);
  if (a.presigned > MAX_PRESIGNED)
    return { ran: false, reason: `${a.presigned} transfers to sign in advance, at most ${MAX_PRESIGNED}` };
  say(`memory, ${g.rssSec} s at ${rate}/s after ${warmupSec} s of warm-up`);
  return { ran: true, durationSec: g.rssSec, result: await benchOnce(a, "contagion", signal) };
}

export const benchGoals: Command = {
  path: ["bench", "goals"],
  summary:
    "every performance goal in one command: ingest (median of K runs), saturation (median of N devnet runs), p50 at half that rate, optionally RSS over 10 minutes",
  usage:
    "[--ingest-runs K (3)] [--saturation-runs N (9)] [--half-runs M (5)] [--rss [--rss-duration S (600)]] [--nodes N] [--accounts A] [--duration S] [--warmup S] [--prewarm S]",
  options: {
    "ingest-runs": { type: "string" },
    "saturation-runs": { type: "string" },
    "half-runs": { type: "string" },
    rss: { type: "boolean" },
    "rss-duration": { type: "string" },
    nodes: { type: "string" },
    accounts: { type: "string" },
    duration: { type: "string" },
    warmup: { type: "string" },
    prewarm: { type: "string" },
  },
  async run(args) {
    const g = goalsArgs(args);
    return withInterrupt((signal) => measureGoals(g, signal));
  },
  human: (result) => formatGoals(result as GoalsReport),
};
