import type { FailureBounds } from "../analysis/bounds.ts";
import { type ChooseParamsInput, type ChosenParams, chooseParams } from "../analysis/chooseParams.ts";
import { type MessageEstimate, messagesPerNodePerBroadcast } from "../analysis/messages.ts";
import { MAX_NODES, MIN_NODES, population } from "../analysis/population.ts";
import {
  DEFAULT_VERIFY_BROADCASTS,
  DEFAULT_VERIFY_SEEDS,
  formatVerifyReport,
  MAX_VERIFY_NODES,
  type VerifyReport,
  verifyParams,
} from "../analysis/verify.ts";
import type { ContagionParams } from "../broadcast/contagion/contagionParams.ts";
import { type Command, optionalInteger, type ParsedArgs, requireString, UsageError } from "./command.ts";

/** Everything `tally params` works out; `--json` prints only `paramsJson(report)`. */
export interface ParamsReport {
  readonly input: ChooseParamsInput;
  readonly chosen: ChosenParams;
  readonly messages: MessageEstimate;
  /** With `--verify`: the Monte-Carlo check, and a note when it ran at a smaller N than asked for. */
  readonly verify?: VerifyReport;
  readonly verifyNote?: string;
}

/** The `--json` output, the shape the issue fixes: the genesis parameters and their three bounds. */
export interface ParamsJson extends ContagionParams {
  readonly bounds: FailureBounds;
  readonly verify?: VerifyReport;
}

const DECIMAL = /^\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

function decimalOption(args: ParsedArgs, name: string): number {
  const text = requireString(args, name);
  const value = DECIMAL.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(value)) throw new UsageError(`--${name} must be a number, got "${text}"`);
  return value;
}

/** Validates `--nodes N --byzantine F --epsilon E` into the calculator's input (shared with a later --verify). */
export function parseParamsArgs(args: ParsedArgs): ChooseParamsInput {
  const nodesText = requireString(args, "nodes");
  const nodes = /^[0-9]+$/.test(nodesText) ? Number(nodesText) : Number.NaN;
  if (!Number.isSafeInteger(nodes) || nodes < MIN_NODES || nodes > MAX_NODES) {
    throw new UsageError(`--nodes must be an integer in [${MIN_NODES}, ${MAX_NODES}], got "${nodesText}"`);
  }
  const byzantine = decimalOption(args, "byzantine");
  if (!(byzantine >= 0 && byzantine < 1 / 3)) {
    throw new UsageError(`--byzantine is the Byzantine fraction f and must be in [0, 1/3), got ${byzantine}`);
  }
  const epsilon = decimalOption(args, "epsilon");
  if (!(epsilon > 0 && epsilon < 1)) throw new UsageError(`--epsilon must be in (0, 1), got ${epsilon}`);
  return { nodes, byzantine, epsilon };
}

export function paramsReport(input: ChooseParamsInput): ParamsReport {
  const chosen = chooseParams(input);
  return { input, chosen, messages: messagesPerNodePerBroadcast(chosen, input.nodes) };
}

export function paramsJson(report: ParamsReport): ParamsJson {
  const { G, E, Ehat, R, Rhat, D, Dhat, bounds } = report.chosen;
  const json = { G, E, Ehat, R, Rhat, D, Dhat, bounds };
  return report.verify === undefined ? json : { ...json, verify: report.verify };
}

export interface VerifyArgs {
  /** N the simulator runs at: --verify-nodes, else --nodes. */
  readonly nodes: number;
  readonly broadcasts: number;
  readonly seeds: number;
}

/** `--verify [--verify-nodes N] [--verify-broadcasts B] [--verify-seeds S]`, or undefined without --verify. */
export function parseVerifyArgs(args: ParsedArgs, input: ChooseParamsInput): VerifyArgs | undefined {
  const extras = ["verify-nodes", "verify-broadcasts", "verify-seeds"].filter(
    (n) => args.values[n] !== undefined,
  );
  if (args.values.verify !== true) {
    if (extras.length > 0) throw new UsageError(`--${extras[0]} needs --verify`);
    return undefined;
  }
  const nodes = optionalInteger(args, "verify-nodes", MIN_NODES) ?? input.nodes;
  if (nodes > MAX_VERIFY_NODES) {
    throw new UsageError(
      `--verify simulates every node in this process, which takes minutes per broadcast beyond ` +
        `${MAX_VERIFY_NODES.toLocaleString("en-US")} nodes; add --verify-nodes N (N ≤ ` +
        `${MAX_VERIFY_NODES.toLocaleString("en-US")}) to check the same parameters on a smaller network`,
    );
  }
  if (nodes > input.nodes) throw new UsageError("--verify-nodes must not exceed --nodes");
  const byzantineNodes = population({ nodes, byzantine: input.byzantine }).byzantineNodes;
  if (nodes < 3 * byzantineNodes + 3) {
    throw new UsageError(`--verify-nodes ${nodes} leaves no critical fraction at f = ${input.byzantine}`);
  }
  const broadcasts = optionalInteger(args, "verify-broadcasts", 1) ?? DEFAULT_VERIFY_BROADCASTS;
  const seeds = optionalInteger(args, "verify-seeds", 1) ?? DEFAULT_VERIFY_SEEDS;
  return { nodes, broadcasts, seeds };
}

const count = (n: number) => Math.round(n).toLocaleString("en-US");
/** Pads by displayed width: "R̂" is two code points (R + combining circumflex) but one column. */
const displayWidth = (text: string) => text.replace(/\p{M}/gu, "").length;
const padEnd = (text: string, width: number) => text + " ".repeat(Math.max(0, width - displayWidth(text)));
const prob = (p: number) => (p === 0 ? "0" : p.toExponential(1));

export function formatParamsReport(report: ParamsReport): string {
  const { input, chosen: p, messages } = report;
  const pop = population(input);
  const { contagion, bracha } = messages;
  const ratio = bracha.total / contagion.total;
  const row = (name: string, symbols: string, size: number, threshold: string, note = "") =>
    `  ${padEnd(name, 10)} ${padEnd(symbols, 6)} ${count(size).padStart(7)}  ${threshold.padStart(9)}${note}`;
  const bound = (name: keyof FailureBounds) =>
    `  ${name.padEnd(12)} ${prob(p.bounds[name]).padStart(8)}  ${p.bounds[name] <= input.epsilon ? "≤ ε" : "> ε"}`;
  return [
    `N = ${count(input.nodes)} nodes, f = ${input.byzantine} (${count(pop.byzantineNodes)} Byzantine), ε = ${input.epsilon}`,
    "",
    "  sample     param     size  threshold",
    row("gossip", "G", p.G, "–", "   (expected size, Poisson)"),
    row("echo", "E, Ê", p.E, count(p.Ehat)),
    row("ready", "R, R̂", p.R, count(p.Rhat)),
    row("delivery", "D, D̂", p.D, count(p.Dhat)),
    "",
    "  property     bound",
    bound("validity"),
    bound("consistency"),
    bound("totality"),
    "",
    `  messages per node per broadcast: contagion ≈ ${count(contagion.total)} (gossip ${count(contagion.gossip)}, ` +
      `echo ${count(contagion.echo)}, ready ${count(contagion.ready)}), Bracha ≈ ${count(bracha.total)}` +
      (ratio >= 1
        ? `: contagion sends ${ratio.toFixed(1)}× fewer`
        : `: contagion sends ${(1 / ratio).toFixed(1)}× more`),
    `  critical fraction x = ${p.terms.criticalFraction.toFixed(3)}; a correct node misses a correct ` +
      `sender's echo quorum with p ≤ ${prob(p.terms.echoMissPerNode)}`,
    "  (bounds and assumptions: docs/analysis.md)",
    ...(report.verify === undefined ? [] : ["", formatVerifyReport(report.verify, report.verifyNote)]),
  ].join("\n");
}

const params: Command = {
  path: ["params"],
  summary: "contagion broadcast parameters (G, E, Ê, R, R̂, D, D̂) whose failure bounds are each ≤ ε",
  usage:
    "--nodes N --byzantine F --epsilon E [--verify [--verify-nodes N] [--verify-broadcasts B] [--verify-seeds S]]",
  options: {
    nodes: { type: "string" },
    byzantine: { type: "string" },
    epsilon: { type: "string" },
    verify: { type: "boolean" },
    "verify-nodes": { type: "string" },
    "verify-broadcasts": { type: "string" },
    "verify-seeds": { type: "string" },
  },
  async run(args) {
    const input = parseParamsArgs(args);
    const verifyArgs = parseVerifyArgs(args, input);
    let report = paramsReport(input);
    if (verifyArgs !== undefined) {
      const showProgress = !args.json && process.stderr.isTTY === true;
      const { G, E, Ehat, R, Rhat, D, Dhat } = report.chosen;
      const verify = await verifyParams({
        params: { G, E, Ehat, R, Rhat, D, Dhat },
        nodes: verifyArgs.nodes,
        byzantine: input.byzantine,
        broadcasts: verifyArgs.broadcasts,
        seeds: verifyArgs.seeds,
        onProgress: showProgress
          ? (done, total) => process.stderr.write(`\rverifying… ${done}/${total} runs`)
          : undefined,
      });
      if (showProgress) process.stderr.write("\r\x1b[K");
      const verifyNote =
        verifyArgs.nodes === input.nodes
          ? undefined
          : `the parameters chosen for N = ${count(input.nodes)}, simulated at N = ${count(verifyArgs.nodes)} ` +
            "(--verify-nodes); the bounds shown are those of these parameters at the simulated N";
      report = { ...report, verify, ...(verifyNote === undefined ? {} : { verifyNote }) };
    }
    return args.json ? paramsJson(report) : report;
  },
  human: (result) => formatParamsReport(result as ParamsReport),
};

export const paramsCommands: readonly Command[] = [params];
