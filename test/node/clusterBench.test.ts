import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);

test("the cluster bench runs four node cores to the end and reports CPU in units of one verify", async () => {
  // 1,500 transfers over 150 accounts: ten rounds, each after the first spending the previous round's payment.
  const { stdout } = await run(
    process.execPath,
    ["bench/cluster.bench.ts", "--transfers", "1500", "--accounts", "150", "--json"],
    { timeout: 120_000 },
  );
  const report = JSON.parse(stdout) as Record<string, number | string>;
  assert.equal(report.nodes, 4);
  assert.equal(report.broadcast, "contagion");
  assert.equal(report.transfers, 1200, "the clock covers what follows the 20 % warm-up");
  const cpu = report.cpuMicrosPerTransferPerNode as number;
  const main = report.mainThreadMicrosPerTransferPerNode as number;
  const verify = report.verifyMicros as number;
  // Each node checks each transfer's signature once, so a node can never spend less than one verify on it.
  assert.ok(verify > 0 && cpu > verify, `cpu ${cpu} µs, verify ${verify} µs`);
  assert.ok(main > 0 && main <= cpu, `main thread ${main} of ${cpu} µs`);
  assert.ok(Math.abs((report.verifiesPerTransferPerNode as number) - cpu / verify) < 0.05);
});

test("a seeded cluster run replays: the same messages, in the same order, every time", async () => {
  const seeded = async (seed: number) => {
    const { stdout } = await run(
      process.execPath,
      ["bench/cluster.bench.ts", "--transfers", "600", "--accounts", "100", "--seed", String(seed), "--json"],
      { timeout: 120_000 },
    );
    return JSON.parse(stdout) as {
      transfers: number;
      replay: { steps: number; messages: number; bytes: number };
    };
  };
  // Run at once, so the two compete for the cores differently: a wall clock or an unseeded draw would show.
  const [first, second] = await Promise.all([seeded(5), seeded(5)]);
  assert.ok(
    first.replay.steps > 0 && first.replay.messages > 0 && first.replay.bytes > 0,
    JSON.stringify(first),
  );
  assert.deepEqual(second.replay, first.replay, "two runs with one seed did the same work");
  assert.equal(second.transfers, first.transfers);
});
