import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { MAIN_TS } from "../support/devnetProcess.ts";

const run = promisify(execFile);

/** The recorded runs (see golden/README.md): seeds, sizes, both protocols, each adversary, two workers. */
const RUNS: readonly (readonly string[])[] = [
  ["--nodes", "100", "--byzantine", "0.1", "--broadcasts", "10", "--seed", "1", "--workers", "1"],
  [
    "--nodes",
    "100",
    "--byzantine",
    "0.2",
    "--adversary",
    "equivocate",
    "--broadcasts",
    "10",
    "--seed",
    "2",
    "--workers",
    "1",
  ],
  [
    "--nodes",
    "60",
    "--byzantine",
    "0.1",
    "--adversary",
    "ready-flood",
    "--broadcasts",
    "6",
    "--seed",
    "3",
    "--workers",
    "1",
  ],
  [
    "--nodes",
    "100",
    "--byzantine",
    "0.1",
    "--protocol",
    "bracha",
    "--broadcasts",
    "6",
    "--seed",
    "4",
    "--workers",
    "1",
  ],
  [
    "--nodes",
    "300",
    "--byzantine",
    "0.1",
    "--broadcasts",
    "5",
    "--seed",
    "5",
    "--workers",
    "2",
    "--latency",
    "wan",
  ],
  [
    "--nodes",
    "50",
    "--byzantine",
    "0.2",
    "--protocol",
    "bracha",
    "--adversary",
    "equivocate",
    "--broadcasts",
    "6",
    "--seed",
    "6",
    "--workers",
    "1",
  ],
];

describe("tally sim --json reports the recorded figures for fixed seeds", () => {
  for (const [index, args] of RUNS.entries()) {
    it(args.join(" "), async () => {
      const { stdout } = await run(process.execPath, [MAIN_TS, "sim", "--json", ...args], {
        timeout: 120_000,
      });
      const actual = JSON.parse(stdout) as Record<string, unknown>;
      delete actual.wallSeconds;
      delete actual.messagesPerSecond;
      const expected = JSON.parse(
        await readFile(new URL(`./golden/${index + 1}.json`, import.meta.url), "utf8"),
      );
      assert.deepEqual(actual, expected);
    });
  }
});
