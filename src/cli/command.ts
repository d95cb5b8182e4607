import type { ParseArgsConfig } from "node:util";

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

export interface ParsedArgs {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
  readonly json: boolean;
}

/** A CLI command: its words (`wallet new`), its options, and a run that returns what to print. */
export interface Command {
  readonly path: readonly string[];
  readonly summary: string;
  /** Shown after the command words in `--help`, e.g. "TO AMOUNT --keystore FILE". */
  readonly usage: string;
  readonly options: OptionSpec;
  /** Returns the result: printed as JSON with --json, otherwise through `human`. */
  run(args: ParsedArgs): Promise<unknown>;
  human?(result: unknown): string;
}

/** Wrong invocation: exit code 2 and a hint to --help. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function requireString(args: ParsedArgs, name: string): string {
  const value = args.values[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

export function optionalString(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

export function optionalInteger(args: ParsedArgs, name: string, min = 0): number | undefined {
  const value = optionalString(args, name);
  if (value === undefined) return undefined;
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min) {
    throw new UsageError(`--${name} must be an integer ≥ ${min}`);
  }
  return Number(value);
}
