import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chaosOptionsFromEnv, runChaos, summarize } from "../chaos/runChaos.ts";

/**
 * The short seeded chaos run (about 70–100 s): a 4-node devnet, 12 wallets paying each other and now and then
 * double-spending, a fault every ~4 s (kill -9 + restart, SIGSTOP/SIGCONT, lost database, partition, a kill -9
 * inside a partition), then the checker. The first two faults are always a partition and a partition with a
 * node killed and restarted inside it, so every run has both. The long form is `npm run test:chaos`
 * (test/chaos/chaos.test.ts). TALLY_CHAOS_SEED replays a seed.
 */

const options = chaosOptionsFromEnv({
  nodes: 4,
  wallets: 12,
  broadcast: "contagion",
  durationMs: 45_000,
  nemesisIntervalMs: 4_000,
  downMs: [1_000, 3_000],
  doubleSpendRate: 0.2,
  quietTimeoutMs: 30_000,
  firstFaults: ["partition", "partitionKill"],
});

describe("chaos (short)", { timeout: 240_000 }, () => {
  it("kill -9, pause, disk loss, a partition and a kill -9 inside one under a bank workload: balances agree, supply holds, no slot twice", async (t) => {
    const report = await runChaos(options, (line) => t.diagnostic(line));
    t.diagnostic(summarize(report));
    for (const [node, tail] of Object.entries(report.logTails)) t.diagnostic(`${node} log tail:\n${tail}`);
    assert.deepEqual(report.violations, [], `seed ${options.seed}`);
    assert.ok(report.events.length >= 3, "the nemesis struck at least three times");
    assert.ok(report.bank.applied >= 100, "the bank moved money");
    const partitions = report.events.filter((e) => e.kind === "partition");
    assert.ok(partitions.length >= 1, "the nemesis partitioned the network at least once");
    for (const p of partitions) {
      assert.equal(p.cutSeen, true, `the minority ${p.nodes.join("+")} lost its connections across the cut`);
      assert.notEqual(p.catchUpMs, undefined, `the minority ${p.nodes.join("+")} caught up after the heal`);
    }
    const killedInside = report.events.filter((e) => e.kind === "partitionKill");
    assert.ok(killedInside.length >= 1, "the nemesis killed a node inside a partition at least once");
    for (const p of killedInside) {
      assert.equal(
        p.cutSeen,
        true,
        `the minority lost its connections across the cut (${p.nodes.join("+")})`,
      );
      assert.equal(
        p.restartInCut,
        "stayedCut",
        `${p.restarted} came back on its side of the cut and stayed there`,
      );
      assert.notEqual(p.catchUpMs, undefined, `${p.nodes.join("+")} caught up after the heal`);
    }
  });
});
