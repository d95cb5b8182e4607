import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chooseParams } from "../../src/analysis/chooseParams.ts";
import { runSharded } from "../../src/sim/shardedRun.ts";
import { createSimulation, type SimSpec } from "../../src/sim/simSpec.ts";
import type { SimulationResult } from "../../src/sim/simulation.ts";
import { mergeTotals, summarize } from "../../src/sim/simulationTotals.ts";

const spec: SimSpec = {
  nodes: 80,
  byzantine: 0.1,
  adversary: "silent",
  protocol: { contagion: chooseParams({ nodes: 80, byzantine: 0.1, epsilon: 1e-6 }) },
  broadcasts: 5,
  seed: 7,
  latency: "uniform",
  meanLatencyMs: 50,
  intervalMs: 500,
};

function withoutClock(r: SimulationResult) {
  return { ...r, wallSeconds: 0, messagesPerSecond: 0 };
}

describe("a run split over worker threads", () => {
  it("equals its shards simulated one after the other and merged", async () => {
    const sharded = await runSharded(spec, { workers: 2 });
    const shards = [0, 1].map((index) => createSimulation(spec, { shard: { index, count: 2 } }).runTotals());
    assert.deepEqual(withoutClock(sharded), withoutClock(summarize(shards.reduce(mergeTotals), 1)));
  });

  it("simulates every broadcast once and counts the shared subscriptions once", async () => {
    const single = await runSharded(spec, { workers: 1 });
    const sharded = await runSharded(spec, { workers: 2 });
    for (const r of [single, sharded]) {
      assert.equal(r.broadcasts, 5);
      assert.deepEqual(r.violations, { validity: 0, consistency: 0, totality: 0 });
      assert.equal(r.deliveredFraction, 1);
    }
    // Same network: the same subscriptions; each shard's schedule differs, the cost per broadcast barely.
    assert.equal(sharded.setupMessagesPerNode, single.setupMessagesPerNode);
    const ratio = sharded.messagesPerNodePerBroadcast.mean / single.messagesPerNodePerBroadcast.mean;
    assert.ok(ratio > 0.9 && ratio < 1.1, `messages per node per broadcast: ${ratio}`);
    const setupTotal = single.setupMessagesPerNode * 72;
    assert.ok(
      Math.abs(sharded.simulatedMessages - single.simulatedMessages) <
        0.1 * (single.simulatedMessages - setupTotal),
      "subscriptions are not counted once per shard",
    );
  });

  it("refuses to merge shards of different networks", () => {
    const a = createSimulation(spec, { shard: { index: 0, count: 2 } }).runTotals();
    const b = createSimulation({ ...spec, seed: 8 }, { shard: { index: 1, count: 2 } }).runTotals();
    assert.throws(() => mergeTotals(a, b), /seed differs/);
  });
});
