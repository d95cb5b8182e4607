import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OPEN_RESETS_PER_ROUND, OPEN_VIEW_SIZE } from "../../src/membership/openParams.ts";
import { runSamplerSimulation } from "../../src/sim/sampler/samplerRun.ts";

describe("sampler simulation (Basalt alone, exchange-only, N = 200, f = 0.1)", () => {
  for (const attack of ["push", "sybil"] as const) {
    it(`keeps the Byzantine share of correct nodes' views within f + 0.05 under ${attack}`, () => {
      const report = runSamplerSimulation({
        nodes: 200,
        byzantine: 0.1,
        attack,
        rounds: 40,
        viewSize: 30,
        resetsPerRound: 1,
        seed: 4,
        broadcasts: 0,
        dissemination: "exchange",
      });
      const last = report.history.slice(-10);
      const share = last.reduce((sum, s) => sum + s.viewByzantineMean, 0) / last.length;
      assert.ok(share <= 0.15, `byzantine share of views ${share.toFixed(3)} after convergence`);
      if (attack === "sybil") assert.equal(report.identities, 200 + 10 * 20);
    });
  }

  it("without the prefix hierarchy the sybils take over the views (what the hierarchy buys)", () => {
    const report = runSamplerSimulation({
      nodes: 200,
      byzantine: 0.1,
      attack: "sybil",
      rounds: 30,
      viewSize: 30,
      resetsPerRound: 1,
      seed: 4,
      broadcasts: 0,
      dissemination: "exchange",
      flatRanks: true,
    });
    assert.ok(report.final!.viewByzantineMean > 0.3, `flat ranks: ${report.final!.viewByzantineMean}`);
  });

  it("runs the contagion broadcast over the converged views without violations", () => {
    const report = runSamplerSimulation({
      nodes: 200,
      byzantine: 0.1,
      attack: "push",
      rounds: 20,
      // The view must be large enough that no node's Byzantine share strays past the parameters' margin:
      // with v = 30 a few nodes' views hold 25 % silent peers and their quorums stall.
      viewSize: 100,
      resetsPerRound: 1,
      seed: 5,
      broadcasts: 3,
      dissemination: "exchange",
    });
    assert.deepEqual(report.broadcast?.violations, { validity: 0, consistency: 0, totality: 0 });
    assert.equal(report.broadcast?.broadcasts, 3);
  });
});

describe("sampler simulation with record flooding (the node's design and parameters), N = 500, f = 0.1", () => {
  for (const attack of ["push", "sybil"] as const) {
    it(`keeps the mean Byzantine share of correct nodes' views within f + 0.05 after convergence under ${attack}`, () => {
      const report = runSamplerSimulation({
        nodes: 500,
        byzantine: 0.1,
        attack,
        rounds: 20,
        viewSize: OPEN_VIEW_SIZE,
        resetsPerRound: OPEN_RESETS_PER_ROUND,
        seed: 6,
        broadcasts: 0,
        dissemination: "flood",
      });
      // Every record is in every book after H rounds; by then each reset slot holds a min-rank identity of all.
      assert.equal(report.floodHops, 4, "H = ⌈log₂ 500 / 3⌉ + 1");
      const converged = report.history.slice(10);
      for (const s of converged) {
        assert.ok(
          s.viewByzantineMean <= 0.15,
          `round ${s.round}: byzantine share of views ${s.viewByzantineMean.toFixed(3)}`,
        );
      }
      const samples = converged.reduce((sum, s) => sum + s.sampleByzantine, 0) / converged.length;
      assert.ok(samples <= 0.15, `byzantine share of samples ${samples.toFixed(3)}`);
    });
  }
});
