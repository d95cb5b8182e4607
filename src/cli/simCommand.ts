import { chooseParams } from "../analysis/chooseParams.ts";
import type { ContagionParams } from "../ledger/genesis.ts";
import { LATENCY_MODELS, type LatencyModelName, latencyModel } from "../sim/latency.ts";
import { brachaFactory, contagionFactory } from "../sim/protocols.ts";
import { ADVERSARIES, type Adversary, Simulation, type SimulationResult } from "../sim/simulation.ts";
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
    "[--nodes N] [--byzantine F] [--protocol contagion|bracha] [--adversary silent|equivocate|ready-flood] [--broadcasts B] [--seed S] [--latency constant|uniform|wan] [--latency-ms MS] [--interval-ms MS] [--epsilon E | --params G,E,Ehat,R,Rhat,D,Dhat]",
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
  },
  async run(args) {
    const nodes = optionalInteger(args, "nodes", 4) ?? 100;
    const protocolName = oneOf(
      optionalString(args, "protocol"),
      ["contagion", "bracha"] as const,
      "protocol",
      "contagion",
    );
    const adversary: Adversary = oneOf(optionalString(args, "adversary"), ADVERSARIES, "adversary", "silent");
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
    const simulation = new Simulation({
      nodes,
      byzantine,
      adversary,
      protocol:
        protocolName === "bracha"
          ? brachaFactory()
          : contagionFactory(
              paramsFromArgs(args) ?? chooseParams({ nodes, byzantine: Math.max(byzantine, 0.01), epsilon }),
            ),
      broadcasts: optionalInteger(args, "broadcasts", 1) ?? 10,
      seed: optionalInteger(args, "seed", 0) ?? 1,
      latency: latencyModel(latencyName, meanLatencyMs),
      meanLatencyMs,
      intervalMs: optionalInteger(args, "interval-ms", 1) ?? meanLatencyMs * 10,
      onProgress: showProgress
        ? (done, total) =>
            process.stderr.write(`\rsimulating… ${Math.min(99, Math.floor((100 * done) / total))}%`)
        : undefined,
    });
    const result = simulation.run();
    if (showProgress) process.stderr.write("\r\x1b[K");
    return result;
  },
  human: (r) => formatResult(r as SimulationResult),
};

function formatResult(r: SimulationResult): string {
  const n = (x: number, digits = 1) => x.toLocaleString("en-US", { maximumFractionDigits: digits });
  return [
    `${r.protocol}, ${r.nodes} nodes, ${n(r.byzantine * 100)}% byzantine (${r.adversary}), ${r.broadcasts} broadcasts, seed ${r.seed}`,
    `messages per node per broadcast  mean ${n(r.messagesPerNodePerBroadcast.mean)}  max ${n(r.messagesPerNodePerBroadcast.max)}`,
    `setup (sample subscriptions)     ${n(r.setupMessagesPerNode)} messages per node, once`,
    `bytes per node per broadcast     mean ${n(r.bytesPerNodePerBroadcast.mean, 0)}  max ${n(r.bytesPerNodePerBroadcast.max, 0)}`,
    `delivery latency                 p50 ${n(r.latencyMs.p50)} ms (${n(r.latencyHops.p50)} hops)  p99 ${n(r.latencyMs.p99)} ms (${n(r.latencyHops.p99)} hops)`,
    `violations                       validity ${r.violations.validity}  consistency ${r.violations.consistency}  totality ${r.violations.totality}`,
    `simulated ${n(r.simulatedMessages, 0)} messages in ${n(r.wallSeconds, 2)} s (${n(r.messagesPerSecond, 0)} messages/s)`,
  ].join("\n");
}

export const simCommands: readonly Command[] = [simCommand];
