import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chaosOptionsFromEnv, runChaos, summarize } from "./runChaos.ts";

/**
 * `npm run test:chaos`: the long chaos run. TALLY_CHAOS_SECONDS (default 120), TALLY_CHAOS_NODES (4),
 * TALLY_CHAOS_WALLETS (24), TALLY_CHAOS_NEMESIS_MS (mean pause between faults, 6000), TALLY_CHAOS_BROADCAST
 * (contagion|bracha), TALLY_CHAOS_SPARES (funded accounts per equivocating wallet, 4), TALLY_CHAOS_SEED (printed
 * by every run; replays the same fault and payment schedule), TALLY_CHAOS_FIRST_FAULTS (kinds forced first, in
 * order, e.g. "partitionKill,partitionKill"), TALLY_CHAOS_PIPELINERS (wallets sending bursts of 12 seqs at once,
 * later seqs first, 3), TALLY_CHAOS_OVERSPEND_EVERY (every Nth burst carries a seq spending more than its wallet
 * holds, 3; 0 for none).
 */

const options = chaosOptionsFromEnv({
  nodes: 4,
  wallets: 24,
  broadcast: "contagion",
  durationMs: 120_000,
  nemesisIntervalMs: 6_000,
  downMs: [1_000, 5_000],
  doubleSpendRate: 0.2,
  sparesPerEquivocator: 4,
  quietTimeoutMs: 60_000,
  pipeliners: 3,
  overspendEvery: 3,
});

describe("chaos", { timeout: options.durationMs + 600_000 }, () => {
  it(`${options.nodes} nodes, ${options.durationMs / 1000} s of faults and payments: no violation`, async (t) => {
    const report = await runChaos(options, (line) => t.diagnostic(line));
    t.diagnostic(summarize(report));
    for (const e of report.events) t.diagnostic(`event ${JSON.stringify(e)}`);
    for (const [node, tail] of Object.entries(report.logTails)) t.diagnostic(`${node} log tail:\n${tail}`);
    assert.deepEqual(report.violations, [], `seed ${options.seed}`);
  });
});
