import { chooseParams } from "../analysis/chooseParams.ts";
import type { ContagionParams } from "../broadcast/contagion/contagionParams.ts";
import { OPEN_RESETS_PER_ROUND, OPEN_VIEW_SIZE } from "../membership/openParams.ts";
import { formatKsharedReport, type KsharedSimReport } from "../sim/kshared/ksharedReport.ts";
import {
  KSHARED_FAULTS,
  KSHARED_INBOXES,
  KSHARED_SIM_DEFAULTS,
  ksharedSpecProblem,
} from "../sim/kshared/ksharedSimSpec.ts";
import { runKsharedComparison } from "../sim/kshared/ksharedSimulation.ts";
import { LATENCY_MODELS, type LatencyModelName } from "../sim/latency.ts";
import { DISSEMINATIONS } from "../sim/sampler/recordFlood.ts";
import { SAMPLER_ATTACKS } from "../sim/sampler/samplerPopulation.ts";
import {
  formatSamplerReport,
  runSamplerSimulation,
  type SamplerRunReport,
} from "../sim/sampler/samplerRun.ts";
import { defaultSimWorkers, runSharded } from "../sim/shardedRun.ts";
import {
  type Adversary,
  type AttackReport,
  SIM_ADVERSARIES,
  type SimulationResult,
} from "../sim/simulation.ts";
import { type Command, optionalInteger, optionalString, type ParsedArgs, UsageError } from "./command.ts";

function fraction(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^(0|0?\.[0-9]+|[1-9][0-9]*(\.[0-9]+)?)$/.test(value) || !(n >= 0 && n < 0.5)) {
    throw new UsageError(`--${name} must be a fraction in [0, 0.5)`);
  }
  return n;
}

/** `--params G,E,Ehat,R,Rhat,D,Dhat` overrides the calculator (calibration runs use small samples). */
function paramsFromArgs(args: ParsedArgs): ContagionParams | undefined {
  const raw = optionalString(args, "params");
  if (raw === undefined) return undefined;
  const values = raw.split(",").map(Number);
  if (values.length !== 7 || values.some((v) => !Number.isSafeInteger(v) || v < 1)) {
    throw new UsageError("--params takes seven positive integers: G,E,Ehat,R,Rhat,D,Dhat");
  }
  const [G, E, Ehat, R, Rhat, D, Dhat] = values as [number, number, number, number, number, number, number];
  return { G, E, Ehat, R, Rhat, D, Dhat };
}

function oneOf<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  name: string,
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`--${name} must be one of ${allowed.join(", ")}`);
  return value as T;
}

const simCommand: Command = {
  path: ["sim"],
  summary: "simulate the broadcast at scale with the real state machines, seeded, with an adversary",
  usage:
    "[--nodes N] [--byzantine F] [--protocol contagion|bracha] [--adversary silent|equivocate|ready-flood|subscribe-first] [--broadcasts B] [--seed S] [--latency constant|uniform|wan] [--latency-ms MS] [--interval-ms MS] [--epsilon E | --params G,E,Ehat,R,Rhat,D,Dhat] [--workers W]\n  or: --sampler basalt --attack push|sybil [--dissemination flood|exchange] [--nodes N] [--byzantine F] [--rounds R] [--view V] [--resets K] [--broadcasts B] [--seed S] [--flat-ranks]\n  or: --kshared [--accounts M] [--nodes H] [--k K] [--bad B] [--fault equivocate|silent|flood] [--seconds S] [--seed N] [--inbox fair|fifo]",
  options: {
    nodes: { type: "string" },
    byzantine: { type: "string" },
    protocol: { type: "string" },
    adversary: { type: "string" },
    broadcasts: { type: "string" },
    seed: { type: "string" },
    latency: { type: "string" },
    "latency-ms": { type: "string" },
    "interval-ms": { type: "string" },
    epsilon: { type: "string" },
    params: { type: "string" },
    workers: { type: "string" },
    sampler: { type: "string" },
    attack: { type: "string" },
    rounds: { type: "string" },
    view: { type: "string" },
    resets: { type: "string" },
    "flat-ranks": { type: "boolean" },
    dissemination: { type: "string" },
    kshared: { type: "boolean" },
    accounts: { type: "string" },
    k: { type: "string" },
    bad: { type: "string" },
    fault: { type: "string" },
    seconds: { type: "string" },
    inbox: { type: "string" },
  },
  async run(args) {
    if (optionalString(args, "sampler") !== undefined) return runSampler(args);
    if (args.values.kshared === true) return runKshared(args);
    const nodes = optionalInteger(args, "nodes", 4) ?? 100;
    const protocolName = oneOf(
      optionalString(args, "protocol"),
      ["contagion", "bracha"] as const,
      "protocol",
      "contagion",
    );
    const adversary: Adversary = oneOf(
      optionalString(args, "adversary"),
      SIM_ADVERSARIES,
      "adversary",
      "silent",
    );
    const latencyName: LatencyModelName = oneOf(
      optionalString(args, "latency"),
      LATENCY_MODELS,
      "latency",
      "uniform",
    );
    const meanLatencyMs = optionalInteger(args, "latency-ms", 1) ?? 50;
    const byzantine = fraction(optionalString(args, "byzantine"), "byzantine", 0.1);
    const epsilon = Number(optionalString(args, "epsilon") ?? "1e-9");
    if (!(epsilon > 0 && epsilon < 1)) throw new UsageError("--epsilon must be in (0, 1)");
    const showProgress = !args.json && process.stderr.isTTY === true;
    const broadcasts = optionalInteger(args, "broadcasts", 1) ?? 10;
    // Broadcasts split over worker threads, each rebuilding the same network (src/sim/shardedRun.ts).
    const workers = Math.min(optionalInteger(args, "workers", 1) ?? defaultSimWorkers(), broadcasts);
    const result = await runSharded(
      {
        nodes,
        byzantine,
        adversary,
        protocol:
          protocolName === "bracha"
            ? "bracha"
            : {
                contagion:
                  paramsFromArgs(args) ??
                  chooseParams({ nodes, byzantine: Math.max(byzantine, 0.01), epsilon }),
              },
        broadcasts,
        seed: optionalInteger(args, "seed", 0) ?? 1,
        latency: latencyName,
        meanLatencyMs,
        intervalMs: optionalInteger(args, "interval-ms", 1) ?? meanLatencyMs * 10,
      },
      {
        workers,
        onProgress: showProgress
          ? (fraction) => process.stderr.write(`\rsimulating… ${Math.min(99, Math.floor(100 * fraction))}%`)
          : undefined,
      },
    );
    if (showProgress) process.stderr.write("\r\x1b[K");
    return { ...result, workers };
  },
  human: (r) => {
    if ((r as { mode?: unknown }).mode === "kshared") return formatKsharedReport(r as KsharedSimReport);
    return (r as { sampler?: unknown }).sampler === "basalt"
      ? formatSamplerReport(r as SamplerRunReport)
      : formatResult(r as SimulationResult & { readonly workers: number });
  },
};

/** `--kshared`: many shared accounts on shared nodes, the correct ones with and without the bad ones. */
function runKshared(args: ParsedArgs): KsharedSimReport {
  const d = KSHARED_SIM_DEFAULTS;
  const spec = {
    ...d,
    accounts: optionalInteger(args, "accounts", 1) ?? d.accounts,
    nodes: optionalInteger(args, "nodes", 1) ?? d.nodes,
    k: optionalInteger(args, "k", 1) ?? d.k,
    bad: optionalInteger(args, "bad", 0) ?? d.bad,
    fault: oneOf(optionalString(args, "fault"), KSHARED_FAULTS, "fault", d.fault),
    seconds: optionalInteger(args, "seconds", 1) ?? d.seconds,
    seed: optionalInteger(args, "seed", 0) ?? d.seed,
    inbox: oneOf(optionalString(args, "inbox"), KSHARED_INBOXES, "inbox", d.inbox),
  };
  const problem = ksharedSpecProblem(spec);
  if (problem !== undefined) throw new UsageError(`--kshared: ${problem}`);
  return runKsharedComparison(spec);
}

/** `--sampler basalt`: the peer-sampler simulation (src/sim/sampler), optionally a broadcast over its views. */
function runSampler(args: ParsedArgs): SamplerRunReport {
  oneOf(optionalString(args, "sampler"), ["basalt"] as const, "sampler", "basalt");
  const dissemination = oneOf(
    optionalString(args, "dissemination"),
    DISSEMINATIONS,
    "dissemination",
    "flood",
  );
  // Flood is the node: its view and resets (src/node/membershipSetup.ts). Exchange keeps the earlier study's.
  const viewSize = optionalInteger(args, "view", 1) ?? (dissemination === "flood" ? OPEN_VIEW_SIZE : 100);
  const resetsPerRound =
    optionalInteger(args, "resets", 0) ?? (dissemination === "flood" ? OPEN_RESETS_PER_ROUND : 1);
  if (resetsPerRound > viewSize) throw new UsageError("--resets must not exceed --view");
  const showProgress = !args.json && process.stderr.isTTY === true;
  const rounds = optionalInteger(args, "rounds", 1) ?? 60;
  const report = runSamplerSimulation({
    nodes: optionalInteger(args, "nodes", 4) ?? 1000,
    byzantine: fraction(optionalString(args, "byzantine"), "byzantine", 0.1),
    attack: oneOf(optionalString(args, "attack"), SAMPLER_ATTACKS, "attack", "push"),
    rounds,
    viewSize,
    resetsPerRound,
    seed: optionalInteger(args, "seed", 0) ?? 1,
    broadcasts: optionalInteger(args, "broadcasts", 0) ?? 0,
    flatRanks: args.values["flat-ranks"] === true,
    dissemination,
    ...(showProgress ? { onRound: (s) => process.stderr.write(`\rround ${s.round}/${rounds}`) } : {}),
  });
  if (showProgress) process.stderr.write("\r\x1b[K");
  return report;
}

function formatResult(r: SimulationResult & { readonly workers: number }): string {
  const n = (x: number, digits = 1) => x.toLocaleString("en-US", { maximumFractionDigits: digits });
  return [
    `${r.protocol}, ${r.nodes} nodes, ${n(r.byzantine * 100)}% byzantine (${r.adversary}), ${r.broadcasts} broadcasts, seed ${r.seed}`,
    `messages per node per broadcast  mean ${n(r.messagesPerNodePerBroadcast.mean)}  max ${n(r.messagesPerNodePerBroadcast.max)}`,
    `setup (sample subscriptions)     ${n(r.setupMessagesPerNode)} messages per node, once${r.subscriptionsRefused > 0 ? `; ${n(r.subscriptionsRefused, 0)} refused (subscriber sets full)` : ""}`,
    `with setup, over ${r.amortised.overBroadcasts} broadcast${r.amortised.overBroadcasts === 1 ? "" : "s"}       ${n(r.amortised.messagesPerNodePerBroadcast)} per node per broadcast; Bracha ${n(r.amortised.brachaMessagesPerNodePerBroadcast)}, ratio ${n(r.amortised.ratioToBracha, 3)}`,
    `bytes per node per broadcast     mean ${n(r.bytesPerNodePerBroadcast.mean, 0)}  max ${n(r.bytesPerNodePerBroadcast.max, 0)}`,
    `delivery latency                 p50 ${n(r.latencyMs.p50)} ms (${n(r.latencyHops.p50)} hops)  p99 ${n(r.latencyMs.p99)} ms (${n(r.latencyHops.p99)} hops)`,
    `violations                       validity ${r.violations.validity}  consistency ${r.violations.consistency}  totality ${r.violations.totality}  double deliveries ${r.doubleDeliveries}`,
    ...attackLines(r.attack, n),
    `simulated ${n(r.simulatedMessages, 0)} messages in ${n(r.wallSeconds, 2)} s (${n(r.messagesPerSecond, 0)} messages/s, ${r.workers} worker${r.workers === 1 ? "" : "s"})`,
  ].join("\n");
}

/** What the adversary did, so a run shows its attack happened (nothing for silent Byzantine nodes). */
function attackLines(attack: AttackReport, n: (x: number, digits?: number) => string): string[] {
  const sent = Object.entries(attack.byzantineMessages).map(([kind, count]) => `${n(count, 0)} ${kind}`);
  if (sent.length === 0) return [];
  const lines = [`byzantine nodes sent             ${sent.join(", ")}`];
  if (attack.subscriptionsHeld > 0) {
    lines.push(
      `held back                        ${n(attack.subscriptionsHeld, 0)} correct subscriptions, until every Byzantine one had landed`,
    );
  }
  if (attack.equivocations > 0) {
    lines.push(
      `equivocations                    ${attack.equivocations}; switched to m′ in ${attack.switches}, once m reached ${n(attack.fedBeforeSwitch)} correct nodes (mean)`,
      `held back                        ${n(attack.relaysWithheld, 0)} gossip relays (for good), ${n(attack.readiesDelayed, 0)} READYs across sides (delayed)`,
    );
  }
  return lines;
}

export const simCommands: readonly Command[] = [simCommand];
