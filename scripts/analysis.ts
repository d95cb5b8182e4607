/**
 * Regenerates everything docs/analysis.md §6 shows: docs/analysis-results.json, docs/plots/*.svg, and a
 * markdown summary on stdout (progress goes to stderr).
 *
 *   node scripts/analysis.ts [--quick] [--max-nodes N] [--workers W] [--calibration-runs R] [--seed S]
 *                            [--latency-max-messages M] [--out DIR] [--no-write] [--plan]
 *
 * `--plan` prints the runs and their estimated cost without simulating; `--no-write` prints the summary only.
 *
 * Four parts, all simulated with the real state machines (src/sim) and compared with src/analysis:
 *   1. messages per node per broadcast against N, contagion (ε = 1e-9 parameters for f = 0.1) and Bracha,
 *      next to the estimates of messages.ts (plot messages-vs-n.svg);
 *   2. the ε = 1e-9 parameters under each adversary: 0 violations expected;
 *   3. delivery latency (p50/p99, ms and hops) for the §1 table rows small enough to simulate, per latency
 *      model;
 *   4. calibration: a family of deliberately small samples (bounds ≈ 1e-3 … 1e-1) over thousands of
 *      independent runs per adversary, observed violation rates against the bounds with 95 % Clopper–Pearson
 *      intervals (plots violations-vs-sample.svg, bound-vs-observed.svg).
 *
 * All jobs go into one pool of worker threads, largest first. `--quick` (CI, ≲ 2 minutes on two cores)
 * shrinks every part; the full run takes ~15–20 minutes on two cores.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  type CalibrationRow,
  type CalibrationSetting,
  calibrationJobs,
  calibrationSettings,
  observedAboveBound,
  summariseCalibration,
} from "../src/analysis/calibration.ts";
import { chooseParams } from "../src/analysis/chooseParams.ts";
import {
  brachaMessagesPerNode,
  contagionCrossover,
  contagionMessagesPerNode,
} from "../src/analysis/messages.ts";
import { runJobs, type SimJob, type SimOutcome } from "../src/analysis/monteCarlo.ts";
import {
  boundVsObservedSpec,
  type MessagesPoint,
  messagesVsNSpec,
  type RatePoint,
  renderSpec,
  violationsVsSampleSpec,
} from "../src/analysis/plots.ts";
import { checkOutcomes, PROPERTIES, type PropertyChecks, runSeed } from "../src/analysis/verify.ts";
import type { ContagionParams } from "../src/broadcast/contagion/contagionParams.ts";
import { LATENCY_MODELS, type LatencyModelName } from "../src/sim/latency.ts";
import { defaultSimWorkers } from "../src/sim/shardedRun.ts";
import { ADVERSARIES } from "../src/sim/simulation.ts";

const EPSILON = 1e-9;
const MEAN_LATENCY_MS = 50;
const INTERVAL_MS = 10 * MEAN_LATENCY_MS;
/** The network sizes of the §1 table. */
const TABLE_NODES = [100, 1_000, 10_000, 100_000];
const TABLE_FRACTIONS = [0.1, 0.2];
/** Sizes the estimates are drawn at, beyond what is simulated. */
const ESTIMATE_NODES = [100, 300, 1_000, 3_000, 10_000, 30_000, 100_000];
/** Calibration runs at this N: small enough for thousands of runs, large enough for three layers of samples. */
const CALIBRATION_NODES = 100;
/** Lowest rate the log-scale plots show (0 has no place on a log axis). */
const PLOT_FLOOR = 1e-4;

interface Config {
  readonly mode: "quick" | "full";
  /** N → broadcasts, per protocol, for the messages-vs-N runs (everyone correct, as messages.ts counts). */
  readonly contagionSizes: Readonly<Record<number, number>>;
  readonly brachaSizes: Readonly<Record<number, number>>;
  /** ε = 1e-9 runs: (N, f) → broadcasts per adversary, over `epsilonSeeds` runs. */
  readonly epsilonRuns: readonly { nodes: number; byzantine: number; broadcasts: number }[];
  readonly epsilonSeeds: number;
  /** Latency runs: N → broadcasts, for each f of the table and each latency model. */
  readonly latencySizes: Readonly<Record<number, number>>;
  /** Latency runs estimated to simulate more messages than this are left out (and listed as such). */
  readonly latencyMaxMessages: number;
  readonly calibrationFamilies: readonly { byzantine: number; echoSizes: readonly number[] }[];
  readonly calibrationRuns: number;
  readonly maxNodes: number;
}

const FULL: Config = {
  mode: "full",
  contagionSizes: { 100: 20, 300: 10, 1000: 5, 3000: 3, 10000: 2 },
  brachaSizes: { 100: 20, 300: 10, 1000: 3 },
  epsilonRuns: [
    { nodes: 300, byzantine: 0.1, broadcasts: 60 },
    { nodes: 300, byzantine: 0.2, broadcasts: 20 },
    { nodes: 1_000, byzantine: 0.1, broadcasts: 12 },
  ],
  epsilonSeeds: 4,
  latencySizes: { 100: 10, 1000: 3, 10000: 1 },
  latencyMaxMessages: 80e6,
  calibrationFamilies: [
    { byzantine: 0.1, echoSizes: [20, 30, 40, 50, 60, 70, 80, 100] },
    { byzantine: 0.2, echoSizes: [100, 150, 200, 250, 300, 350] },
  ],
  calibrationRuns: 240,
  maxNodes: 10_000,
};

const QUICK: Config = {
  mode: "quick",
  contagionSizes: { 100: 5, 300: 3, 1000: 2 },
  brachaSizes: { 100: 5, 300: 3, 1000: 1 },
  epsilonRuns: [{ nodes: 300, byzantine: 0.1, broadcasts: 8 }],
  epsilonSeeds: 2,
  latencySizes: { 100: 5 },
  latencyMaxMessages: 3e6,
  calibrationFamilies: [
    { byzantine: 0.1, echoSizes: [30, 50, 70, 100] },
    { byzantine: 0.2, echoSizes: [150, 250, 350] },
  ],
  calibrationRuns: 30,
  maxNodes: 1_000,
};

type Section = "messages" | "epsilon" | "latency" | "calibration";
interface TaggedJob {
  readonly section: Section;
  readonly job: SimJob;
}

function paramsOf(nodes: number, byzantine: number): ContagionParams {
  const { G, E, Ehat, R, Rhat, D, Dhat } = chooseParams({ nodes, byzantine, epsilon: EPSILON });
  return { G, E, Ehat, R, Rhat, D, Dhat };
}

/**
 * messages.ts's count with repeated peers merged: a node sends one ECHO per distinct echo subscriber (a node
 * that drew it at least once among its E entries: (N−1)·(1 − (1 − 1/(N−1))^E) of them in expectation), one
 * READY per distinct ready-or-delivery subscriber (the same with R + D), and relays gossip to its picks and
 * pickers but the peer it got the payload from (≈ 2G − G²/(N−1) − 1). What the simulator measures; it meets
 * 2G + E + R + D once the samples are a small part of N.
 */
function distinctPeerEstimate(params: ContagionParams, nodes: number): number {
  const others = nodes - 1;
  const distinct = (draws: number) => others * (1 - (1 - 1 / others) ** draws);
  const gossip = Math.max(0, 2 * params.G - (params.G * params.G) / others - 1);
  return gossip + distinct(params.E) + distinct(params.R + params.D);
}

/** Messages a job will simulate, roughly: setup plus its broadcasts, each ~N × the per-node estimate. */
function estimatedMessages(job: SimJob): number {
  if (job.protocol === "bracha") return job.nodes * brachaMessagesPerNode(job.nodes).total * job.broadcasts;
  // Setup (one subscription per distinct sampled peer) costs about one broadcast.
  return job.nodes * distinctPeerEstimate(job.protocol.contagion, job.nodes) * (job.broadcasts + 1);
}

function sizes(table: Readonly<Record<number, number>>, maxNodes: number): [number, number][] {
  return Object.entries(table)
    .map(([n, b]) => [Number(n), b] as [number, number])
    .filter(([n]) => n <= maxNodes)
    .sort((a, b) => a[0] - b[0]);
}

function job(
  fields: Omit<SimJob, "latency" | "meanLatencyMs" | "intervalMs"> & { latency?: LatencyModelName },
) {
  return {
    latency: "uniform" as LatencyModelName,
    meanLatencyMs: MEAN_LATENCY_MS,
    intervalMs: INTERVAL_MS,
    ...fields,
  } satisfies SimJob;
}

interface Plan {
  readonly jobs: TaggedJob[];
  readonly settings: CalibrationSetting[];
  readonly skippedLatency: {
    nodes: number;
    byzantine: number;
    latency: LatencyModelName;
    messages: number;
  }[];
}

function plan(config: Config, seed: number): Plan {
  const jobs: TaggedJob[] = [];
  let stream = 1_000;
  for (const [nodes, broadcasts] of sizes(config.contagionSizes, config.maxNodes)) {
    const protocol = { contagion: paramsOf(nodes, 0.1) };
    const s = runSeed(seed, stream++, 0);
    jobs.push({
      section: "messages",
      job: job({ nodes, byzantine: 0, adversary: "silent", protocol, broadcasts, seed: s }),
    });
  }
  for (const [nodes, broadcasts] of sizes(config.brachaSizes, config.maxNodes)) {
    const s = runSeed(seed, stream++, 0);
    jobs.push({
      section: "messages",
      job: job({ nodes, byzantine: 0, adversary: "silent", protocol: "bracha", broadcasts, seed: s }),
    });
  }
  for (const run of config.epsilonRuns.filter((r) => r.nodes <= config.maxNodes)) {
    const protocol = { contagion: paramsOf(run.nodes, run.byzantine) };
    for (const adversary of ADVERSARIES) {
      const st = stream++;
      for (let i = 0; i < config.epsilonSeeds; i++) {
        const broadcasts =
          Math.floor(run.broadcasts / config.epsilonSeeds) +
          (i < run.broadcasts % config.epsilonSeeds ? 1 : 0);
        if (broadcasts === 0) continue;
        const s = runSeed(seed, st, i);
        jobs.push({
          section: "epsilon",
          job: job({ nodes: run.nodes, byzantine: run.byzantine, adversary, protocol, broadcasts, seed: s }),
        });
      }
    }
  }
  const skippedLatency: Plan["skippedLatency"] = [];
  for (const [nodes, broadcasts] of sizes(config.latencySizes, config.maxNodes)) {
    for (const byzantine of TABLE_FRACTIONS) {
      const protocol = { contagion: paramsOf(nodes, byzantine) };
      for (const latency of LATENCY_MODELS) {
        const j = job({
          nodes,
          byzantine,
          adversary: "silent",
          protocol,
          broadcasts,
          seed: runSeed(seed, stream++, 0),
          latency,
        });
        const messages = estimatedMessages(j);
        if (messages > config.latencyMaxMessages)
          skippedLatency.push({ nodes, byzantine, latency, messages });
        else jobs.push({ section: "latency", job: j });
      }
    }
  }
  const settings = calibrationSettings(CALIBRATION_NODES, config.calibrationFamilies);
  for (const j of calibrationJobs(settings, { runs: config.calibrationRuns, broadcastsPerRun: 1, seed })) {
    jobs.push({ section: "calibration", job: j });
  }
  return { jobs, settings, skippedLatency };
}

// ── the report ─────────────────────────────────────────────────────────────────────────────────────────

interface MessagesRow {
  readonly nodes: number;
  readonly protocol: "contagion" | "bracha";
  readonly simulated?: {
    mean: number;
    max: number;
    broadcasts: number;
    setupPerNode: number;
    wallSeconds: number;
  };
  readonly estimate: number;
  /** Contagion: the estimate with repeated peers merged (distinctPeerEstimate). */
  readonly distinctPeers?: number;
  readonly params?: ContagionParams;
}

interface EpsilonRow {
  readonly nodes: number;
  readonly byzantine: number;
  readonly params: ContagionParams;
  readonly bounds: { validity: number; consistency: number; totality: number };
  readonly byAdversary: Readonly<
    Record<string, { broadcasts: number; runs: number; checks: PropertyChecks }>
  >;
}

interface LatencyRow {
  readonly nodes: number;
  readonly byzantine: number;
  readonly latency: LatencyModelName;
  readonly broadcasts: number;
  readonly latencyMs: { p50: number; p99: number };
  readonly latencyHops: { p50: number; p99: number };
  readonly messagesPerNodePerBroadcast: number;
  readonly deliveredFraction: number;
  readonly violations: SimOutcome["violations"];
}

const fmt = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits });
const prob = (p: number | null) => (p === null ? "–" : p === 0 ? "0" : p.toExponential(1));
const sameParams = (a: ContagionParams, b: ContagionParams) => JSON.stringify(a) === JSON.stringify(b);

function messagesRows(outcomes: readonly SimOutcome[], config: Config): MessagesRow[] {
  const rows: MessagesRow[] = [];
  const simulated = (o: SimOutcome | undefined) =>
    o && {
      mean: o.messagesPerNodePerBroadcast.mean,
      max: o.messagesPerNodePerBroadcast.max,
      broadcasts: o.broadcasts,
      setupPerNode: o.setupMessagesPerNode,
      wallSeconds: o.wallSeconds,
    };
  const allNodes = [...new Set([...ESTIMATE_NODES, ...Object.keys(config.contagionSizes).map(Number)])].sort(
    (a, b) => a - b,
  );
  for (const nodes of allNodes) {
    const params = paramsOf(nodes, 0.1);
    const c = outcomes.find((o) => o.job.nodes === nodes && o.job.protocol !== "bracha");
    const b = outcomes.find((o) => o.job.nodes === nodes && o.job.protocol === "bracha");
    rows.push({
      nodes,
      protocol: "contagion",
      simulated: simulated(c),
      estimate: contagionMessagesPerNode(params).total,
      distinctPeers: distinctPeerEstimate(params, nodes),
      params,
    });
    rows.push({
      nodes,
      protocol: "bracha",
      simulated: simulated(b),
      estimate: brachaMessagesPerNode(nodes).total,
    });
  }
  return rows;
}

function epsilonRows(outcomes: readonly SimOutcome[], config: Config): EpsilonRow[] {
  return config.epsilonRuns
    .filter((r) => r.nodes <= config.maxNodes)
    .map((run) => {
      const params = paramsOf(run.nodes, run.byzantine);
      const chosen = chooseParams({ nodes: run.nodes, byzantine: run.byzantine, epsilon: EPSILON });
      const mine = outcomes.filter(
        (o) =>
          o.job.nodes === run.nodes &&
          o.job.byzantine === run.byzantine &&
          o.job.protocol !== "bracha" &&
          sameParams(o.job.protocol.contagion, params),
      );
      const byAdversary: Record<string, { broadcasts: number; runs: number; checks: PropertyChecks }> = {};
      for (const adversary of ADVERSARIES) {
        const runs = mine.filter((o) => o.job.adversary === adversary);
        byAdversary[adversary] = {
          broadcasts: runs.reduce((t, o) => t + o.broadcasts, 0),
          runs: runs.length,
          checks: checkOutcomes(runs, chosen.bounds),
        };
      }
      return { nodes: run.nodes, byzantine: run.byzantine, params, bounds: chosen.bounds, byAdversary };
    });
}

function latencyRows(outcomes: readonly SimOutcome[]): LatencyRow[] {
  return outcomes
    .map((o) => ({
      nodes: o.job.nodes,
      byzantine: o.job.byzantine,
      latency: o.job.latency,
      broadcasts: o.broadcasts,
      latencyMs: o.latencyMs,
      latencyHops: o.latencyHops,
      messagesPerNodePerBroadcast: o.messagesPerNodePerBroadcast.mean,
      deliveredFraction: o.deliveredFraction,
      violations: o.violations,
    }))
    .sort(
      (a, b) =>
        a.byzantine - b.byzantine ||
        a.nodes - b.nodes ||
        LATENCY_MODELS.indexOf(a.latency) - LATENCY_MODELS.indexOf(b.latency),
    );
}

function ratePoints(rows: readonly CalibrationRow[]): RatePoint[] {
  return rows.flatMap((row) =>
    PROPERTIES.map((property) => {
      const c = row.pooled[property];
      return {
        sampleSize: row.params.E,
        byzantine: row.byzantine,
        property,
        bound: c.bound,
        observed: c.rate === null || c.rate === 0 ? null : c.rate,
        upper95: c.upper95 ?? 1,
      };
    }),
  );
}

function markdown(
  config: Config,
  messages: readonly MessagesRow[],
  epsilon: readonly EpsilonRow[],
  latency: readonly LatencyRow[],
  skipped: Plan["skippedLatency"],
  calibration: readonly CalibrationRow[],
  totals: { broadcasts: number; messages: number; wallSeconds: number; workers: number },
): string {
  const out: string[] = [];
  out.push(
    `## Analysis results (${config.mode} run: ${fmt(totals.broadcasts)} simulated broadcasts, ` +
      `${fmt(totals.messages / 1e6, 1)} M simulated messages, ${fmt(totals.wallSeconds)} s on ${totals.workers} worker threads)`,
    "",
    "### Messages per node per broadcast (ε = 1e-9 parameters for f = 0.1; every node correct)",
    "",
    "| N | contagion simulated (max) | contagion 2G+E+R+D | same, distinct peers | Bracha simulated | Bracha 2(N−1)+(N−1)/N | contagion ÷ Bracha (simulated, else 2G+E+R+D) |",
    "|---|---|---|---|---|---|---|",
  );
  for (const nodes of [...new Set(messages.map((m) => m.nodes))]) {
    const c = messages.find((m) => m.nodes === nodes && m.protocol === "contagion")!;
    const b = messages.find((m) => m.nodes === nodes && m.protocol === "bracha")!;
    const cs = c.simulated ? `${fmt(c.simulated.mean)} (${fmt(c.simulated.max)})` : "–";
    const bs = b.simulated ? fmt(b.simulated.mean) : "–";
    const cost = c.simulated?.mean ?? c.estimate;
    const bcost = b.simulated?.mean ?? b.estimate;
    const ratio = cost / bcost;
    out.push(
      `| ${fmt(nodes)} | ${cs} | ${fmt(c.estimate)} | ${fmt(c.distinctPeers ?? 0)} | ${bs} | ${fmt(b.estimate)} | ${ratio >= 1 ? `${fmt(ratio, 1)}×` : `1/${fmt(1 / ratio, 1)}`} |`,
    );
  }
  out.push("", "### ε = 1e-9 parameters under each adversary", "");
  out.push(
    "| N | f | params G, E/Ê, R/R̂, D/D̂ | adversary | broadcasts (runs) | violations V · C · T | bounds V · C · T |",
  );
  out.push("|---|---|---|---|---|---|---|");
  for (const row of epsilon) {
    const p = row.params;
    for (const [adversary, a] of Object.entries(row.byAdversary)) {
      const v = a.checks;
      out.push(
        `| ${fmt(row.nodes)} | ${row.byzantine} | ${p.G}, ${p.E}/${p.Ehat}, ${p.R}/${p.Rhat}, ${p.D}/${p.Dhat} | ${adversary} | ` +
          `${a.broadcasts} (${a.runs}) | ${v.validity.trials === 0 ? "–" : v.validity.violations} · ${v.consistency.violations} · ${v.totality.violations} | ` +
          `${prob(row.bounds.validity)} · ${prob(row.bounds.consistency)} · ${prob(row.bounds.totality)} |`,
      );
    }
  }
  out.push(
    "",
    "### Delivery latency (ε = 1e-9 parameters, Byzantine nodes silent, mean one-way delay 50 ms)",
    "",
  );
  out.push(
    "| N | f | latency model | broadcasts | p50 ms | p99 ms | p50 hops | p99 hops | messages/node/broadcast | violations |",
  );
  out.push("|---|---|---|---|---|---|---|---|---|---|");
  for (const r of latency) {
    const v = r.violations.validity + r.violations.consistency + r.violations.totality;
    out.push(
      `| ${fmt(r.nodes)} | ${r.byzantine} | ${r.latency} | ${r.broadcasts} | ${fmt(r.latencyMs.p50)} | ${fmt(r.latencyMs.p99)} | ` +
        `${fmt(r.latencyHops.p50, 2)} | ${fmt(r.latencyHops.p99, 2)} | ${fmt(r.messagesPerNodePerBroadcast)} | ${v} |`,
    );
  }
  for (const s of skipped) {
    out.push(
      `| ${fmt(s.nodes)} | ${s.byzantine} | ${s.latency} | not simulated (~${fmt(s.messages / 1e6)} M messages > --latency-max-messages) | | | | | | |`,
    );
  }
  out.push(
    "",
    `### Calibration (N = ${CALIBRATION_NODES}, one broadcast per independent run, ${config.calibrationRuns} runs per adversary and setting)`,
    "",
    "Observed violations / broadcasts [95% Clopper–Pearson upper end] against the bound; validity over the",
    "correct-source broadcasts (silent, ready-flood), consistency and totality over all three adversaries.",
    "",
    "| f | G, E/Ê, R/R̂, D/D̂ | validity: observed · bound | consistency: observed · bound | totality: observed · bound | flag |",
    "|---|---|---|---|---|---|",
  );
  for (const row of calibration) {
    const p = row.params;
    const cell = (property: (typeof PROPERTIES)[number]) => {
      const c = row.pooled[property];
      return `${c.violations}/${c.trials} [≤ ${prob(c.upper95)}] · ${prob(c.bound)}`;
    };
    out.push(
      `| ${row.byzantine} | ${p.G}, ${p.E}/${p.Ehat}, ${p.R}/${p.Rhat}, ${p.D}/${p.Dhat} | ${cell("validity")} | ${cell("consistency")} | ${cell("totality")} | ${row.flagged ? "**exceeds**" : "ok"} |`,
    );
  }
  const byAdversaryLines = calibration.flatMap((row) =>
    Object.entries(row.byAdversary).map(
      ([adversary, checks]) =>
        `f=${row.byzantine} E=${row.params.E} ${adversary}: ` +
        PROPERTIES.map((p) => `${p[0]}=${checks![p].violations}/${checks![p].trials}`).join(" "),
    ),
  );
  const flagged = calibration.filter((r) => r.flagged).length;
  out.push(
    "",
    `Calibration: ${fmt(calibration.reduce((t, r) => t + r.broadcasts, 0))} broadcasts; ` +
      `${observedAboveBound(calibration)} (setting, property) pairs with the observed rate above the bound; ` +
      `${flagged} settings where even the lower 95% end exceeds the bound.`,
    "",
    "<details><summary>per adversary</summary>",
    "",
    "```",
    ...byAdversaryLines,
    "```",
    "</details>",
  );
  return out.join("\n");
}

// ── main ───────────────────────────────────────────────────────────────────────────────────────────────

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^[0-9]+(e[0-9]+)?$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    process.stderr.write(`analysis: --${name} must be a positive integer, got "${value}"\n`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean" },
      "max-nodes": { type: "string" },
      workers: { type: "string" },
      "calibration-runs": { type: "string" },
      "latency-max-messages": { type: "string" },
      seed: { type: "string" },
      out: { type: "string" },
      "no-write": { type: "boolean" },
      plan: { type: "boolean" },
    },
  });
  const base = values.quick ? QUICK : FULL;
  const config: Config = {
    ...base,
    maxNodes: intOption(values["max-nodes"], "max-nodes") ?? base.maxNodes,
    calibrationRuns: intOption(values["calibration-runs"], "calibration-runs") ?? base.calibrationRuns,
    latencyMaxMessages:
      intOption(values["latency-max-messages"], "latency-max-messages") ?? base.latencyMaxMessages,
  };
  const workers = intOption(values.workers, "workers") ?? defaultSimWorkers();
  const seed = intOption(values.seed, "seed") ?? 1;
  const outDir = values.out ?? "docs";
  const started = performance.now();
  const log = (line: string) =>
    process.stderr.write(`[${fmt((performance.now() - started) / 1000)} s] ${line}\n`);

  const { jobs, settings, skippedLatency } = plan(config, seed);
  // Largest first, so the long runs overlap with many short ones instead of finishing last.
  const order = jobs
    .map((tagged, index) => ({ index, cost: estimatedMessages(tagged.job) }))
    .sort((a, b) => b.cost - a.cost);
  const totalCost = order.reduce((t, o) => t + o.cost, 0);
  log(
    `${config.mode} run: ${jobs.length} simulations, ~${fmt(totalCost / 1e6)} M messages, ${workers} worker threads` +
      (skippedLatency.length > 0
        ? `; ${skippedLatency.length} latency runs over the message cap left out`
        : ""),
  );
  if (values.plan) {
    for (const section of ["messages", "epsilon", "latency", "calibration"] as const) {
      const mine = jobs.filter((j) => j.section === section);
      const cost = mine.reduce((t, j) => t + estimatedMessages(j.job), 0);
      const broadcasts = mine.reduce((t, j) => t + j.job.broadcasts, 0);
      log(`  ${section}: ${mine.length} runs, ${broadcasts} broadcasts, ~${fmt(cost / 1e6, 1)} M messages`);
    }
    return;
  }
  let doneCost = 0;
  let lastReport = 0;
  const jobProgress = new Map<SimJob, number>();
  const outcomesInOrder = await runJobs(
    order.map((o) => jobs[o.index]!.job),
    {
      workers,
      onDone: (outcome, done, total) => {
        doneCost += estimatedMessages(outcome.job);
        jobProgress.delete(outcome.job);
        const big = outcome.job.nodes >= 1_000;
        const now = performance.now();
        if (big || now - lastReport > 10_000 || done === total) {
          lastReport = now;
          const what =
            outcome.job.protocol === "bracha" ? "bracha" : `contagion E=${outcome.job.protocol.contagion.E}`;
          log(
            `${done}/${total} runs (~${fmt((100 * doneCost) / totalCost)}% of the work); last: ${what}, ` +
              `N=${outcome.job.nodes}, f=${outcome.job.byzantine}, ${outcome.job.adversary}, ` +
              `${outcome.broadcasts} broadcasts, ${fmt(outcome.wallSeconds, 1)} s`,
          );
        }
      },
      onJobProgress: (j, fraction) => {
        const previous = jobProgress.get(j) ?? 0;
        if (j.nodes >= 3_000 && fraction - previous >= 0.2) {
          jobProgress.set(j, fraction);
          log(`  N=${j.nodes} ${j.protocol === "bracha" ? "bracha" : "contagion"}: ~${fmt(100 * fraction)}%`);
        }
      },
    },
  );
  const outcomes: SimOutcome[] = new Array(jobs.length);
  for (const [i, o] of order.entries()) outcomes[o.index] = outcomesInOrder[i]!;
  const of = (section: Section) => outcomes.filter((_, i) => jobs[i]!.section === section);

  const messages = messagesRows(of("messages"), config);
  const epsilon = epsilonRows(of("epsilon"), config);
  const latency = latencyRows(of("latency"));
  const calibration = summariseCalibration(settings, of("calibration"));
  const wallSeconds = (performance.now() - started) / 1000;
  const totals = {
    broadcasts: outcomes.reduce((t, o) => t + o.broadcasts, 0),
    messages: outcomes.reduce((t, o) => t + o.simulatedMessages, 0),
    wallSeconds,
    workers,
  };
  const crossover = TABLE_FRACTIONS.map((byzantine) => ({
    byzantine,
    ...contagionCrossover(byzantine, EPSILON),
  }));
  const table = TABLE_NODES.flatMap((nodes) =>
    TABLE_FRACTIONS.map((byzantine) => {
      const params = paramsOf(nodes, byzantine);
      return {
        nodes,
        byzantine,
        params,
        contagion: contagionMessagesPerNode(params).total,
        bracha: brachaMessagesPerNode(nodes).total,
      };
    }),
  );

  const summary = markdown(config, messages, epsilon, latency, skippedLatency, calibration, totals);
  process.stdout.write(`${summary}\n`);
  if (values["no-write"]) return;

  const messagePoints: MessagesPoint[] = messages.flatMap((m) => {
    const protocol = m.protocol === "bracha" ? ("Bracha" as const) : ("contagion" as const);
    const points: MessagesPoint[] = [{ nodes: m.nodes, messages: m.estimate, protocol, source: "estimate" }];
    if (m.distinctPeers !== undefined) {
      points.push({
        nodes: m.nodes,
        messages: m.distinctPeers,
        protocol,
        source: "estimate, distinct peers",
      });
    }
    if (m.simulated)
      points.push({ nodes: m.nodes, messages: m.simulated.mean, protocol, source: "simulated" });
    return points;
  });
  const rates = ratePoints(calibration);
  const plotsDir = join(outDir, "plots");
  mkdirSync(plotsDir, { recursive: true });
  const plots: [string, string][] = [
    [
      "messages-vs-n.svg",
      await renderSpec(
        messagesVsNSpec(messagePoints, "Messages per node per broadcast (ε = 1e-9 parameters for f = 0.1)"),
      ),
    ],
    [
      "violations-vs-sample.svg",
      await renderSpec(
        violationsVsSampleSpec(
          rates,
          `Observed violation rate (dots; rules up to the 95% upper end) vs bound (dashed), N = ${CALIBRATION_NODES}`,
          PLOT_FLOOR,
        ),
      ),
    ],
    [
      "bound-vs-observed.svg",
      await renderSpec(
        boundVsObservedSpec(rates, "Observed violation rate vs bound (calibration)", PLOT_FLOOR),
      ),
    ],
  ];
  for (const [name, svg] of plots) writeFileSync(join(plotsDir, name), svg);
  const results = {
    generatedBy: `node scripts/analysis.ts${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
    mode: config.mode,
    config,
    seed,
    node: process.version,
    cpus: availableParallelism(),
    totals,
    epsilon: EPSILON,
    table,
    crossover,
    messages,
    epsilonRuns: epsilon,
    latency,
    skippedLatency,
    calibration: { nodes: CALIBRATION_NODES, runsPerAdversary: config.calibrationRuns, rows: calibration },
  };
  writeFileSync(join(outDir, "analysis-results.json"), `${JSON.stringify(results, null, 2)}\n`);
  log(
    `wrote ${join(outDir, "analysis-results.json")} and ${plots.map(([n]) => join(plotsDir, n)).join(", ")}`,
  );
}

await main();
