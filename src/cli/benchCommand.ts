import { mkdir, readdir } from "node:fs/promises";
import { resolve } from "node:path";
import { MAX_BATCH_TRANSFERS } from "../api/batchRoute.ts";
import {
  formatRepeated,
  formatRepeatedComparison,
  MAX_REPEAT,
  type RepeatedBench,
  type RepeatedComparison,
  summariseComparisons,
  summariseRuns,
} from "../bench/benchRepeats.ts";
import {
  type BenchComparison,
  benchHeader,
  compareResults,
  formatBench,
  formatComparison,
} from "../bench/benchReport.ts";
import { type DevnetBenchResult, presignCount } from "../bench/devnetBench.ts";
import type { IngestBenchResult } from "../bench/ingest.ts";
import type { NodeProfiles } from "../bench/nodeProfiles.ts";
import type { PerfReport } from "../bench/perfRecord.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import {
  benchOnce,
  DEFAULT_BENCH_BATCH,
  DEFAULT_BENCH_TRANSFERS,
  DEFAULT_DEVNET_BENCH,
  type DevnetBenchArgs,
  dirOf,
  ingestInTemp,
  MAX_PRESIGNED,
  type ProfiledResult,
  withInterrupt,
} from "./benchRuns.ts";
import { type Command, optionalInteger, optionalString, type ParsedArgs, UsageError } from "./command.ts";

const count = (n: number) => Math.round(n).toLocaleString("en-US");

export function formatIngestBench(r: IngestBenchResult): string {
  return [
    `${count(r.transfers)} distinct signed transfers, one fsynced LevelDB batch per ${count(r.batch)}, node ${process.version}`,
    "",
    `  ${"raw libsodium verify".padEnd(44)} ${count(r.rawVerifyPerSec).padStart(8)} /s`,
    `  ${"ingest (decode, verify, validate, persist)".padEnd(44)} ${count(r.ingestPerSec).padStart(8)} /s   ${r.ratio.toFixed(2)}× raw verify`,
    "",
    `  every transfer applied and on disk after reopening: ${r.persisted ? "yes" : "no"}`,
  ].join("\n");
}

const benchIngest: Command = {
  path: ["bench", "ingest"],
  summary: "one node's ingest rate (decode → verify → validate → persist) against raw libsodium verify",
  usage: "[--transfers N] [--batch B]",
  options: { transfers: { type: "string" }, batch: { type: "string" } },
  async run(args) {
    const transfers = optionalInteger(args, "transfers", 1) ?? DEFAULT_BENCH_TRANSFERS;
    const batch = optionalInteger(args, "batch", 1) ?? DEFAULT_BENCH_BATCH;
    return ingestInTemp(transfers, batch);
  },
  human: (result) => formatIngestBench(result as IngestBenchResult),
};

function devnetBenchArgs(args: ParsedArgs): DevnetBenchArgs {
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  const broadcast = optionalString(args, "broadcast") ?? "contagion";
  if (broadcast !== "bracha" && broadcast !== "contagion")
    throw new UsageError("--broadcast must be bracha or contagion");
  const membership = optionalString(args, "membership");
  if (membership !== undefined && membership !== "open" && membership !== "static")
    throw new UsageError("--membership must be open or static");
  const compare = optionalString(args, "compare");
  if (compare !== undefined && compare !== "bracha") throw new UsageError("--compare takes only bracha");
  const devnet = optionalString(args, "devnet");
  if (compare !== undefined && devnet !== undefined)
    throw new UsageError("--compare starts its own devnets: it cannot take --devnet");
  if (compare !== undefined && membership === "open")
    throw new UsageError("--compare bracha needs --membership static (Bracha needs a member list)");
  if (devnet !== undefined)
    for (const name of ["nodes", "broadcast", "membership", "accounts"])
      if (args.values[name] !== undefined)
        throw new UsageError(`--${name} describes a devnet the bench starts: not with --devnet`);
  const profile = optionalString(args, "profile");
  if (profile !== undefined && devnet !== undefined)
    throw new UsageError("--profile needs the nodes the bench starts: not with --devnet");
  const perf = optionalString(args, "perf");
  if (perf !== undefined && devnet !== undefined)
    throw new UsageError("--perf needs the nodes the bench starts: not with --devnet");
  if (perf !== undefined && profile !== undefined)
    throw new UsageError("--perf and --profile each slow the nodes: one profiler per run");
  const repeat = optionalInteger(args, "repeat", 1) ?? 1;
  if (repeat > MAX_REPEAT) throw new UsageError(`--repeat must be at most ${MAX_REPEAT}`);
  if (repeat > 1 && devnet !== undefined)
    throw new UsageError("--repeat starts a fresh devnet for every run: not with --devnet");
  if (repeat > 1 && (profile !== undefined || perf !== undefined))
    throw new UsageError("--profile and --perf write one run's profiles: not with --repeat");
  const submit = optionalString(args, "submit") ?? "binary";
  if (submit !== "binary" && submit !== "json") throw new UsageError("--submit must be binary or json");
  const batch = optionalInteger(args, "batch", 1) ?? DEFAULT_DEVNET_BENCH.batch;
  if (batch > MAX_BATCH_TRANSFERS) throw new UsageError(`--batch must be at most ${MAX_BATCH_TRANSFERS}`);
  const nodes = optionalInteger(args, "nodes", 1) ?? DEFAULT_DEVNET_BENCH.nodes;
  const accounts = optionalInteger(args, "accounts", 1) ?? DEFAULT_DEVNET_BENCH.accounts;
  if (devnet === undefined && accounts < nodes)
    throw new UsageError("--accounts must be at least --nodes (each node gets its own accounts)");
  const durationSec = optionalInteger(args, "duration", 1) ?? DEFAULT_DEVNET_BENCH.durationSec;
  const warmupSec = optionalInteger(args, "warmup", 0) ?? DEFAULT_DEVNET_BENCH.warmupSec;
  const rate = optionalInteger(args, "rate", 1);
  const presigned = presignCount(rate, warmupSec, durationSec);
  if (presigned > MAX_PRESIGNED)
    throw new UsageError(
      `rate × (warmup + duration) = ${presigned} transfers to sign in advance; at most ${MAX_PRESIGNED}`,
    );
  const prewarmSec = optionalInteger(args, "prewarm", 0) ?? DEFAULT_DEVNET_BENCH.prewarmSec;
  const prewarmPresigned = presignCount(undefined, 0, prewarmSec);
  if (prewarmPresigned > MAX_PRESIGNED)
    throw new UsageError(
      `--prewarm ${prewarmSec}: ${prewarmPresigned} transfers to sign in advance; at most ${MAX_PRESIGNED}`,
    );
  return {
    nodes,
    broadcast: compare === undefined ? broadcast : "contagion",
    membership: compare === undefined ? membership : "static",
    accounts,
    devnet,
    compare: compare !== undefined,
    prewarmSec,
    presigned: presigned + prewarmPresigned,
    profile: profile === undefined ? undefined : resolve(profile),
    perf: perf === undefined ? undefined : resolve(perf),
    repeat,
    load: {
      durationSec,
      warmupSec,
      rate,
      batch,
      inFlight: optionalInteger(args, "in-flight", 1) ?? DEFAULT_DEVNET_BENCH.inFlight,
      withDeps: args.values["no-deps"] !== true,
      submit,
    },
  };
}

/**
 * Both broadcasts on the same load, each on a fresh devnet. The i-th of several comparisons runs Bracha first
 * when i is odd, so the machine's drift over a run does not favour the broadcast that always goes first.
 */
async function compareOnce(a: DevnetBenchArgs, signal: AbortSignal, i: number): Promise<BenchComparison> {
  if (i % 2 === 0) {
    const contagion = await benchOnce(a, "contagion", signal);
    return compareResults(contagion, await benchOnce(a, "bracha", signal));
  }
  const bracha = await benchOnce(a, "bracha", signal);
  return compareResults(await benchOnce(a, "contagion", signal), bracha);
}

/** Before any node starts: an earlier run's profiles in the directory would be summed with this one's. */
async function prepareProfileDirs(a: DevnetBenchArgs): Promise<void> {
  const broadcasts = a.compare ? (["contagion", "bracha"] as const) : [a.broadcast];
  for (const [name, option] of [
    ["--profile", a.profile],
    ["--perf", a.perf],
  ] as const) {
    for (const broadcast of broadcasts) {
      const dir = dirOf(option, a, broadcast);
      if (dir === undefined) continue;
      await mkdir(dir, { recursive: true });
      if ((await readdir(dir)).length > 0)
        throw new TallyError(ErrorCode.InvalidConfig, `${name}: ${dir} is not empty`);
    }
  }
}

const benchDevnet: Command = {
  path: ["bench"],
  summary:
    "load a multi-process devnet with pre-signed transfers: applied/s, latency to every node, CPU, RSS, messages and bytes per transfer",
  usage:
    "[--nodes N] [--duration S] [--rate R] [--in-flight K] [--broadcast contagion|bracha] [--membership open|static] [--accounts A] [--batch B] [--submit binary|json] [--prewarm S] [--warmup S] [--devnet FILE] [--compare bracha] [--repeat N] [--no-deps] [--profile DIR] [--perf DIR]",
  options: {
    nodes: { type: "string" },
    duration: { type: "string" },
    rate: { type: "string" },
    "in-flight": { type: "string" },
    broadcast: { type: "string" },
    membership: { type: "string" },
    accounts: { type: "string" },
    batch: { type: "string" },
    submit: { type: "string" },
    warmup: { type: "string" },
    prewarm: { type: "string" },
    devnet: { type: "string" },
    compare: { type: "string" },
    repeat: { type: "string" },
    "no-deps": { type: "boolean" },
    profile: { type: "string" },
    perf: { type: "string" },
  },
  async run(args) {
    const a = devnetBenchArgs(args);
    await prepareProfileDirs(a);
    return withInterrupt(async (signal) => {
      if (a.repeat === 1) return a.compare ? compareOnce(a, signal, 0) : benchOnce(a, a.broadcast, signal);
      if (a.compare) {
        const comparisons: BenchComparison[] = [];
        for (let i = 0; i < a.repeat; i++) comparisons.push(await compareOnce(a, signal, i));
        return summariseComparisons(comparisons);
      }
      const runs: DevnetBenchResult[] = [];
      for (let i = 0; i < a.repeat; i++) runs.push(await benchOnce(a, a.broadcast, signal));
      return summariseRuns(runs);
    });
  },
  human: (result) => {
    if ("repeat" in (result as object)) {
      if ("ratios" in (result as object)) {
        const c = result as RepeatedComparison;
        return formatRepeatedComparison(c, benchHeader(c.runs[0]!.contagion, false));
      }
      const r = result as RepeatedBench;
      return formatRepeated(r, benchHeader(r.runs[0]!, false));
    }
    if (!("ratios" in (result as object))) {
      const single = result as ProfiledResult;
      return formatBench(single) + profileLines(single.profile) + perfLines(single.perf);
    }
    const c = result as BenchComparison & { [K in "contagion" | "bracha"]: ProfiledResult };
    return (
      formatComparison(c) +
      profileLines(c.contagion.profile) +
      profileLines(c.bracha.profile) +
      perfLines(c.contagion.perf) +
      perfLines(c.bracha.perf)
    );
  },
};

function profileLines(profile: NodeProfiles | undefined): string {
  if (profile === undefined) return "";
  const top = profile.top
    .slice(0, 10)
    .map((f) => `  ${(f.share * 100).toFixed(1).padStart(5)} %  ${f.frame}`);
  return `\n\nflame graph of ${profile.profiles} nodes: ${profile.flameGraph}\nself time:\n${top.join("\n")}`;
}

function perfLines(perf: PerfReport | undefined): string {
  if (perf === undefined) return "";
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)} %`;
  const threads = Object.entries(perf.threads).map(([role, share]) => `${role} ${pct(share).trim()}`);
  const main = perf.main.slice(0, 8).map((c) => `  ${pct(c.share)}  ${c.name}`);
  return `\n\nperf, ${perf.samples} samples on the CPU: ${perf.summary}\nthreads: ${threads.join(", ")}\nmain thread:\n${main.join("\n")}`;
}

export const benchCommands: readonly Command[] = [benchIngest, benchDevnet];
