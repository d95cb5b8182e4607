/**
 * Draws a flame graph of one or more V8 CPU profiles (`node --cpu-prof`), summed: e.g. the four processes of
 * a devnet under load give one picture of where the node spends its CPU.
 *
 *   node scripts/flamegraph.ts --out FILE.svg [--title TEXT] [--subtitle TEXT] [--top N] [--keep-idle]
 *                              PROFILE.cpuprofile [MORE.cpuprofile…]
 *
 * Writes the SVG; prints busy samples, the profile duration and the top-N self-time frames as a markdown
 * table on stdout. Wrong arguments or input: one line on stderr, exit code 2.
 */

import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { type CpuProfile, CpuProfileError, parseCpuProfile } from "../src/analysis/flameGraph.ts";
import { flameGraphReport, seconds, selfTimeTable } from "../src/analysis/flameGraphReport.ts";

const PROJECT_ROOT = resolve(import.meta.dirname, "..");
const DEFAULT_TOP = 15;
const USAGE =
  "usage: node scripts/flamegraph.ts --out FILE.svg [--title TEXT] [--subtitle TEXT] [--top N] [--keep-idle] " +
  "PROFILE.cpuprofile [MORE.cpuprofile…]";

/** Wrong invocation: one line with the usage, exit code 2. */
class UsageError extends Error {
  override readonly name = "UsageError";
}

/** A profile that cannot be read or is not a CPU profile, or an output that cannot be written: exit code 2. */
class InputError extends Error {
  override readonly name = "InputError";
}

interface Invocation {
  readonly out: string;
  readonly title: string;
  readonly subtitle: string | undefined;
  readonly top: number;
  readonly dropIdle: boolean;
  readonly profiles: readonly string[];
}

function readInvocation(argv: readonly string[]): Invocation {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.out === undefined || values.out === "") throw new UsageError("--out FILE.svg is required");
  if (positionals.length === 0) throw new UsageError("no .cpuprofile file given");
  const top = Number(values.top ?? DEFAULT_TOP);
  if (!Number.isInteger(top) || top < 0)
    throw new UsageError(`--top must be a whole number, not ${values.top}`);
  return {
    out: values.out,
    title: values.title ?? "CPU flame graph",
    subtitle: values.subtitle,
    top,
    dropIdle: values["keep-idle"] !== true,
    profiles: positionals,
  };
}

function parseCommandLine(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      out: { type: "string" },
      title: { type: "string" },
      subtitle: { type: "string" },
      top: { type: "string" },
      "keep-idle": { type: "boolean" },
    },
  });
}

function readProfile(file: string): CpuProfile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new InputError(`cannot read ${file}: ${errorCode(error)}`);
  }
  try {
    return parseCpuProfile(text);
  } catch (error) {
    if (error instanceof CpuProfileError) throw new InputError(`${file}: ${error.message}`);
    throw error;
  }
}

const errorCode = (error: unknown): string =>
  error instanceof Error && "code" in error ? String(error.code) : String(error);

function main(argv: readonly string[]): void {
  const invocation = readInvocation(argv);
  const report = flameGraphReport(invocation.profiles.map(readProfile), {
    title: invocation.title,
    subtitle: invocation.subtitle,
    top: invocation.top,
    dropIdle: invocation.dropIdle,
    projectRoot: PROJECT_ROOT,
  });
  try {
    writeFileSync(invocation.out, report.svg);
  } catch (error) {
    throw new InputError(`cannot write ${invocation.out}: ${errorCode(error)}`);
  }
  const count = report.profiles === 1 ? "" : ` (longest of ${report.profiles} profiles)`;
  const lines = [
    `wrote ${invocation.out}`,
    `busy samples: ${report.busySamples} of ${report.allSamples} (${report.idleSamples} idle` +
      `${invocation.dropIdle ? ", left out" : ""}), one every ${report.sampleIntervalMs.toFixed(2)} ms on average`,
    `duration: ${seconds(report.longestMs)}${count}`,
    "",
    ...selfTimeTable(report.top),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

try {
  main(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError || error instanceof InputError)) throw error;
  // One line whatever the cause: JSON.parse quotes the input, which may hold newlines.
  const message = error.message.replace(/\s+/g, " ");
  process.stderr.write(`flamegraph: ${message}${error instanceof UsageError ? `; ${USAGE}` : ""}\n`);
  process.exitCode = 2;
}
