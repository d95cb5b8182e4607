import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { boundsFor } from "../../src/analysis/bounds.ts";
import {
  calibrationJobs,
  calibrationSettings,
  scaledParams,
  summariseCalibration,
} from "../../src/analysis/calibration.ts";
import { chooseParams } from "../../src/analysis/chooseParams.ts";
import { runJob, type SimJob, simulatorFraction } from "../../src/analysis/monteCarlo.ts";
import { checkProperty, PROPERTIES, runSeed, verifyParams } from "../../src/analysis/verify.ts";
import type { ContagionParams } from "../../src/broadcast/contagion/contagionParams.ts";
import { UsageError } from "../../src/cli/command.ts";
import { type ParamsJson, paramsCommands } from "../../src/cli/paramsCommand.ts";

/** Small samples on 30 nodes: a broadcast costs a few thousand simulated messages. */
const SMALL: ContagionParams = { G: 6, E: 20, Ehat: 15, R: 22, Rhat: 6, D: 21, Dhat: 16 };

function job(overrides: Partial<SimJob> = {}): SimJob {
  return {
    nodes: 30,
    byzantine: 0.1,
    adversary: "silent",
    protocol: { contagion: SMALL },
    broadcasts: 2,
    seed: 5,
    latency: "uniform",
    meanLatencyMs: 50,
    intervalMs: 500,
    ...overrides,
  };
}

describe("Monte-Carlo verification", () => {
  test("a tiny verify run reports every adversary and property against the bounds at the simulated N", async () => {
    const report = await verifyParams({
      params: SMALL,
      nodes: 30,
      byzantine: 0.1,
      broadcasts: 4,
      seeds: 2,
      workers: 1,
    });
    assert.deepEqual(
      report.adversaries.map((a) => a.adversary),
      ["silent", "equivocate", "ready-flood"],
    );
    const expected = boundsFor(SMALL, 30, 0.1);
    assert.deepEqual(report.bounds, {
      validity: expected.validity,
      consistency: expected.consistency,
      totality: expected.totality,
    });
    assert.equal(report.seeds.length, 2);
    for (const a of report.adversaries) {
      assert.equal(a.broadcasts, 4);
      assert.equal(a.runs, 2);
      for (const property of ["validity", "consistency", "totality"] as const) {
        const c = a.properties[property];
        assert.ok(c.violations <= c.trials);
        assert.equal(c.bound, report.bounds[property]);
        if (c.trials > 0) assert.ok(c.lower95! <= c.rate! && c.rate! <= c.upper95!);
      }
      // Validity is about correct sources: none under equivocation, where every source is Byzantine.
      assert.equal(a.properties.validity.trials, a.adversary === "equivocate" ? 0 : 4);
      assert.equal(a.properties.consistency.trials, 4);
      assert.ok(a.messagesPerNodePerBroadcast > 0);
    }
    assert.equal(report.pooled.validity.trials, 8);
    assert.equal(report.pooled.totality.trials, 12);
    assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
  });

  test("a property is flagged only when even the lower confidence end exceeds the bound", () => {
    assert.equal(checkProperty(2, 100, 0.05).exceedsBound, false);
    assert.equal(checkProperty(9, 100, 0.05).exceedsBound, false); // 9 % observed, but within noise
    assert.equal(checkProperty(20, 100, 0.05).exceedsBound, true);
    const none = checkProperty(0, 0, 0.1);
    assert.equal(none.rate, null);
    assert.equal(none.exceedsBound, false);
  });

  test("the simulator gets exactly the bounds' ⌊f·N⌋ Byzantine nodes", () => {
    assert.equal(Math.floor(simulatorFraction(10, 0.3) * 10), 3); // 0.3 × 10 = 2.999… in floating point
    assert.equal(simulatorFraction(100, 0.1), 0.1);
  });

  test("run seeds are distinct across streams and runs", () => {
    const seeds = new Set<number>();
    for (let stream = 0; stream < 20; stream++) for (let i = 0; i < 50; i++) seeds.add(runSeed(1, stream, i));
    assert.equal(seeds.size, 1000);
  });

  test("the equivocating source reaches contagion nodes, which then deliver every attacked instance", () => {
    // Samples the Byzantine votes alone cannot move (ε = 1e-3 at N = 30): a delivery needs correct nodes
    // that hold a payload, which they only get if the adversary feeds them gossip (src/sim/equivocation.ts).
    const { G, E, Ehat, R, Rhat, D, Dhat } = chooseParams({ nodes: 30, byzantine: 0.1, epsilon: 1e-3 });
    const outcome = runJob(
      job({ adversary: "equivocate", protocol: { contagion: { G, E, Ehat, R, Rhat, D, Dhat } } }),
    );
    assert.equal(outcome.correctSourceBroadcasts, 0);
    assert.equal(outcome.deliveredFraction, 1);
  });
});

describe("observed violation rates against the bounds", () => {
  // ε = 0.1 at N = 30 gives bounds of a few percent: a few hundred broadcasts can see such rates, unlike ε = 1e-9.
  const NODES = 30;
  const BYZANTINE = 0.1;
  const BROADCASTS = 300;
  const { G, E, Ehat, R, Rhat, D, Dhat } = chooseParams({ nodes: NODES, byzantine: BYZANTINE, epsilon: 0.1 });
  const chosen: ContagionParams = { G, E, Ehat, R, Rhat, D, Dhat };
  const bounds = boundsFor(chosen, NODES, BYZANTINE);
  // One broadcast per run: a run reuses its samples, so only separate runs give independent trials.
  const verify = (params: ContagionParams, adversaries?: ("silent" | "equivocate" | "ready-flood")[]) =>
    verifyParams({
      params,
      nodes: NODES,
      byzantine: BYZANTINE,
      broadcasts: BROADCASTS,
      seeds: BROADCASTS,
      adversaries,
      workers: 1,
    });

  test("every adversary's violation rate is within sampling noise of its bound (Clopper–Pearson 95 %)", async () => {
    for (const property of PROPERTIES)
      assert.ok(bounds[property] < 0.2, `${property}: a bound that can be tested`);
    const report = await verify(chosen);
    for (const a of report.adversaries) {
      assert.equal(a.properties.consistency.trials, BROADCASTS);
      assert.equal(a.properties.validity.trials, a.adversary === "equivocate" ? 0 : BROADCASTS);
      for (const property of PROPERTIES) {
        const c = a.properties[property];
        assert.ok(
          !c.exceedsBound,
          `${a.adversary} ${property}: ${c.violations}/${c.trials} observed, 95 % interval from ${c.lower95} is above the bound ${c.bound}`,
        );
      }
    }
    for (const property of PROPERTIES) assert.ok(!report.pooled[property].exceedsBound, `pooled ${property}`);
    assert.equal(report.consistentWithBounds, true);
  });

  test("the same check flags a protocol that breaks them (planted liveness and safety bugs)", async () => {
    // Liveness: delivery waits for every sampled entry, so one silent liar in a sample stalls it.
    const stalls = await verify({ ...chosen, Dhat: D }, ["silent"]);
    const validity = stalls.adversaries[0]!.properties.validity;
    assert.equal(
      checkProperty(validity.violations, validity.trials, bounds.validity).exceedsBound,
      true,
      `validity ${validity.violations}/${validity.trials} against ${bounds.validity}`,
    );
    // Safety: thresholds a few equivocating liars can meet on both sides of a split.
    const splits = await verify({ ...chosen, Ehat: 6, Rhat: 2, Dhat: 6 }, ["equivocate"]);
    const consistency = splits.adversaries[0]!.properties.consistency;
    assert.equal(
      checkProperty(consistency.violations, consistency.trials, bounds.consistency).exceedsBound,
      true,
      `consistency ${consistency.violations}/${consistency.trials} against ${bounds.consistency}`,
    );
  });
});

describe("calibration", () => {
  test("scaling keeps each threshold's fraction of its sample and G", () => {
    const base = { G: 15, E: 253, Ehat: 195, R: 285, Rhat: 70, D: 266, Dhat: 200 };
    assert.deepEqual(scaledParams(base, 50), { G: 15, E: 50, Ehat: 39, R: 56, Rhat: 14, D: 53, Dhat: 40 });
    assert.deepEqual(scaledParams(base, 253), base);
    const tiny = scaledParams(base, 1);
    assert.ok(tiny.Ehat >= 1 && tiny.Ehat <= tiny.E && tiny.Rhat >= 1 && tiny.Dhat <= tiny.D);
  });

  test("larger samples give smaller bounds, and jobs summarise back to their settings", () => {
    const settings = calibrationSettings(100, [{ byzantine: 0.1, echoSizes: [50, 100] }]);
    assert.ok(settings[1]!.bounds.totality < settings[0]!.bounds.totality);
    const jobs = calibrationJobs(settings, { runs: 2, broadcastsPerRun: 1, adversaries: ["silent"] });
    assert.equal(jobs.length, 4);
    assert.equal(new Set(jobs.map((j) => j.seed)).size, 4);
    const outcomes = jobs.map((j) => ({
      job: j,
      broadcasts: 1,
      correctSourceBroadcasts: 1,
      violations: { validity: j.seed % 2, consistency: 0, totality: j.seed % 2 },
      messagesPerNodePerBroadcast: { mean: 1, max: 1 },
      setupMessagesPerNode: 1,
      latencyMs: { p50: 0, p99: 0 },
      latencyHops: { p50: 0, p99: 0 },
      deliveredFraction: 1,
      simulatedMessages: 1,
      wallSeconds: 0,
    }));
    const rows = summariseCalibration(settings, outcomes);
    assert.equal(rows.length, 2);
    for (const [i, row] of rows.entries()) {
      assert.equal(row.broadcasts, 2);
      const mine = jobs.slice(2 * i, 2 * i + 2);
      assert.equal(
        row.pooled.validity.violations,
        mine.reduce((t, j) => t + (j.seed % 2), 0),
      );
      assert.ok(row.byAdversary.silent !== undefined && row.byAdversary.equivocate === undefined);
    }
  });
});

describe("tally params --verify", () => {
  const command = paramsCommands.find((c) => c.path.join(" ") === "params")!;
  const run = (values: Record<string, string | boolean>, json: boolean) =>
    command.run({ values, positionals: [], json });
  const base = { nodes: "30", byzantine: "0.1", epsilon: "1e-3" };

  test("--json adds a verify object next to the parameters and bounds", async () => {
    const out = (await run(
      { ...base, verify: true, "verify-broadcasts": "2", "verify-seeds": "1" },
      true,
    )) as ParamsJson;
    assert.ok(out.verify !== undefined);
    assert.equal(out.verify.nodes, 30);
    assert.equal(out.verify.adversaries.length, 3);
    assert.deepEqual(out.verify.bounds, out.bounds);
    assert.equal(out.verify.consistentWithBounds, true);
  });

  test("refuses N beyond what runs in-process unless --verify-nodes picks a smaller network", async () => {
    await assert.rejects(
      run({ nodes: "5000", byzantine: "0.1", epsilon: "1e-3", verify: true }, true),
      (e) => {
        assert.ok(e instanceof UsageError);
        assert.match(e.message, /--verify-nodes/);
        return true;
      },
    );
    await assert.rejects(run({ ...base, "verify-nodes": "20" }, true), UsageError);
    await assert.rejects(run({ ...base, verify: true, "verify-nodes": "40" }, true), UsageError);
  });
});
