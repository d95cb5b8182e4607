import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runIngestBench } from "../../src/bench/ingest.ts";
import { ringWorkload } from "../../src/bench/ringWorkload.ts";
import { benchCommands } from "../../src/cli/benchCommand.ts";
import { openDatabase } from "../../src/storage/database.ts";
import { LevelLedgerStore } from "../../src/storage/levelLedgerStore.ts";

const N = 500;

test("`tally bench ingest --json` prints the issue's shape with positive rates", async () => {
  const command = benchCommands.find((c) => c.path.join(" ") === "bench ingest")!;
  const result = (await command.run({
    values: { transfers: String(N), batch: "100" },
    positionals: [],
    json: true,
  })) as Record<string, unknown>;
  assert.deepEqual(Object.keys(result).sort(), [
    "batch",
    "ingestPerSec",
    "persisted",
    "ratio",
    "rawVerifyPerSec",
    "transfers",
  ]);
  assert.equal(result.transfers, N);
  assert.equal(result.batch, 100);
  assert.equal(result.persisted, true);
  for (const rate of [result.rawVerifyPerSec, result.ingestPerSec, result.ratio]) {
    assert.ok(typeof rate === "number" && Number.isFinite(rate) && rate > 0);
  }
  assert.ok(
    Math.abs(
      (result.ratio as number) - (result.ingestPerSec as number) / (result.rawVerifyPerSec as number),
    ) < 1e-9,
  );
});

test("every benchmarked transfer is applied and durable: a reopened store holds each account's last seq", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "tally-bench-test-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // A batch size that does not divide N: the last, partial batch must be written too.
  await runIngestBench({ transfers: N, batch: 128, dir: join(dir, "db") });
  const workload = ringWorkload(N);
  const db = await openDatabase(join(dir, "db"));
  try {
    const store = await LevelLedgerStore.open(db);
    const last = workload.transfers.at(-1)!;
    assert.equal(store.getStatus(last.id)?.status, "applied");
    assert.equal(store.getAccount(last.transfer.source)?.seq, last.transfer.seq);
    const applied = workload.transfers.filter((w) => store.getStatus(w.id)?.status === "applied").length;
    assert.equal(applied, N);
  } finally {
    await db.close();
  }
});
