import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type IngestBenchResult, runIngestBench } from "../bench/ingest.ts";
import { type Command, optionalInteger } from "./command.ts";

export const DEFAULT_BENCH_TRANSFERS = 20_000;
/** The node's maxEventsPerBatch: one fsynced write per this many delivered transfers. */
export const DEFAULT_BENCH_BATCH = 2_000;

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
    const dir = await mkdtemp(join(tmpdir(), "tally-bench-"));
    try {
      return await runIngestBench({ transfers, batch, dir: join(dir, "db") });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
  human: (result) => formatIngestBench(result as IngestBenchResult),
};

export const benchCommands: readonly Command[] = [benchIngest];
