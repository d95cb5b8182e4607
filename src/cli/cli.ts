import { parseArgs } from "node:util";
import { isTallyError } from "../core/errors.ts";
import { NodeRequestError } from "../wallet/nodeClient.ts";
import { benchCommands } from "./benchCommand.ts";
import { benchGoals } from "./benchGoalsCommand.ts";
import { type Command, UsageError } from "./command.ts";
import { devnetCommands } from "./devnetCommands.ts";
import { genesisCommands } from "./genesisCommands.ts";
import { nodeCommands } from "./nodeCommands.ts";
import { paramsCommands } from "./paramsCommand.ts";
import { sharedCommands } from "./sharedCommands.ts";
import { simCommands } from "./simCommand.ts";
import { walletCommands } from "./walletCommands.ts";

const VERSION = "0.1.0";

const commands: readonly Command[] = [
  ...nodeCommands,
  ...genesisCommands,
  ...devnetCommands,
  ...walletCommands,
  ...sharedCommands,
  ...simCommands,
  ...paramsCommands,
  ...benchCommands,
  benchGoals,
];

function helpText(): string {
  const width = Math.max(...commands.map((c) => `${c.path.join(" ")} ${c.usage}`.length));
  const lines = commands.map(
    (c) => `  tally ${`${c.path.join(" ")} ${c.usage}`.padEnd(width)}  ${c.summary}`,
  );
  return [
    `tally ${VERSION} — a node and wallet for a consensusless asset-transfer network`,
    "",
    "Commands:",
    ...lines,
    "",
    "Every command takes --json for machine-readable output and exits non-zero with a one-line error on failure.",
    "Run `tally COMMAND --help` for a command's options.",
  ].join("\n");
}

function commandHelp(c: Command): string {
  const opts = Object.entries(c.options).map(
    ([name, o]) => `  --${name}${o.type === "string" ? " VALUE" : ""}${o.multiple ? " (repeatable)" : ""}`,
  );
  return [`tally ${c.path.join(" ")} ${c.usage}`, "", c.summary, "", "Options:", ...opts, "  --json"].join(
    "\n",
  );
}

function findCommand(argv: readonly string[]): { command: Command; rest: string[] } | undefined {
  for (const command of [...commands].sort((a, b) => b.path.length - a.path.length)) {
    if (command.path.every((word, i) => argv[i] === word))
      return { command, rest: argv.slice(command.path.length) };
  }
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    process.stdout.write(`${helpText()}\n`);
    return 0;
  }
  if (argv[0] === "--version") {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const found = findCommand(argv);
  try {
    if (found === undefined)
      throw new UsageError(
        `unknown command "${argv
          .filter((a) => !a.startsWith("-"))
          .slice(0, 2)
          .join(" ")}"`,
      );
    const { command, rest } = found;
    if (rest.includes("--help") || rest.includes("-h")) {
      process.stdout.write(`${commandHelp(command)}\n`);
      return 0;
    }
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({
        args: rest,
        options: { ...command.options, json: { type: "boolean" } },
        allowPositionals: true,
        strict: true,
      });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const result = await command.run({
      values: parsed.values as Record<string, string | boolean | string[] | undefined>,
      positionals: parsed.positionals,
      json,
    });
    if (result !== undefined) {
      const text =
        json || command.human === undefined
          ? JSON.stringify(result, jsonReplacer, json ? 0 : 2)
          : command.human(result);
      process.stdout.write(`${text}\n`);
    }
    return 0;
  } catch (e) {
    return reportError(e, json);
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

function reportError(e: unknown, json: boolean): number {
  const code =
    isTallyError(e) || e instanceof NodeRequestError
      ? e.code
      : e instanceof UsageError
        ? "USAGE"
        : "INTERNAL";
  const message = (e as Error)?.message ?? String(e);
  if (json) process.stderr.write(`${JSON.stringify({ code, message })}\n`);
  else process.stderr.write(`tally: ${message}${e instanceof UsageError ? " (see tally --help)" : ""}\n`);
  if (code === "INTERNAL" && process.env.TALLY_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
  return e instanceof UsageError ? 2 : 1;
}

process.exitCode = await main(process.argv.slice(2));
