import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chaosOptionsFromEnv, runChaos, summarize } from "../chaos/runChaos.ts";

/**
 * The short seeded chaos run with a shared account (about 90 s): a 4-node devnet whose nodes 1..3 host the
 * three owners of a shared account (k = 3: every owner is needed, so any fault on an owner's node stalls the
 * committee until it heals). The owners pay the wallets through the committee while the wallets pay each
 * other and the shared account (two of them in pipelined bursts of 12 seqs), and the nemesis kills, pauses and partitions nodes (the first event kills
 * node-1, an owner's host; a lost database only ever hits node-0, see `NemesisOptions.keepDisks`). Then the
 * bank's checks, and the shared account's: every acknowledged intent paid on every node, none twice, none
 * refused and paid, every owner's proposal applied or superseded. TALLY_CHAOS_SEED replays a seed; the long
 * form is `TALLY_CHAOS_SHARED=3 npm run test:chaos`.
 */

const options = chaosOptionsFromEnv({
  nodes: 4,
  wallets: 8,
  broadcast: "contagion",
  durationMs: 35_000,
  nemesisIntervalMs: 4_000,
  downMs: [1_000, 3_000],
  doubleSpendRate: 0.2,
  quietTimeoutMs: 30_000,
  firstFaults: ["kill", "partition"],
  firstVictims: ["node-1"],
  faultKinds: ["kill", "pause", "wipe", "partition"],
  shared: 3,
  pipeliners: 2,
  overspendEvery: 3,
});

describe("chaos with a shared account (short)", { timeout: 300_000 }, () => {
  it("owners pay through their committee while nodes die, pause and lose their links: each intent paid once", async (t) => {
    const report = await runChaos(options, (line) => t.diagnostic(line));
    t.diagnostic(summarize(report));
    for (const [node, tail] of Object.entries(report.logTails)) t.diagnostic(`${node} log tail:\n${tail}`);
    assert.deepEqual(report.violations, [], `seed ${options.seed}`);
    const shared = report.shared;
    assert.ok(shared !== undefined, "the run had a shared account");
    // What the run must have exercised, or passing says nothing: an owner's node killed and restarted while
    // intents were in flight, and the committee deciding through it.
    const ownerKill = report.events.find((e) => e.kind === "kill" && e.nodes.includes("node-1"));
    assert.ok(
      ownerKill?.catchUpMs !== undefined,
      "node-1, an owner's host, was killed, restarted and caught up",
    );
    assert.ok(shared.stats.acknowledged >= 10, `owners' nodes took ${shared.stats.acknowledged} intents`);
    assert.ok(shared.paid >= 10, `${shared.paid} intents paid`);
    assert.ok(report.bank.applied >= 50, "the bank moved money");
  });
});
