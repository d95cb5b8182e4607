import assert from "node:assert/strict";
import { test } from "node:test";
import {
  formatGoals,
  type GoalsMeasurements,
  halfRateOf,
  judgeGoals,
  PERFORMANCE_GOALS,
  rssDeparturePercent,
} from "../../src/bench/benchGoals.ts";
import { summariseRuns } from "../../src/bench/benchRepeats.ts";
import type { DevnetBenchResult } from "../../src/bench/devnetBench.ts";
import type { IngestBenchResult } from "../../src/bench/ingest.ts";
import type { RssSeries } from "../../src/bench/procStats.ts";

const rssNode = (start: number, min: number, max: number): RssSeries => {
  const range = { start, min, max };
  return { start, end: start, max, window: { ...range, anonymous: range, file: range } };
};

/** The figures a goal reads from a run; the rest of a result does not enter a verdict. */
function run(appliedPerSec: number, cpu: number, p50: number, verify = [50, 52]): DevnetBenchResult {
  return {
    nodes: 4,
    broadcast: "contagion",
    accounts: 1000,
    warmupSec: 3,
    appliedPerSec,
    cpuMicrosPerTransferPerNode: cpu,
    cpuPerTransferInVerifies: cpu / 50,
    latencyMs: { p50, p90: p50, p99: p50, max: p50 },
    firstNodeLatencyMs: { p50, p90: p50, p99: p50 },
    messagesPerTransferPerNode: 0.2,
    verifyMicros: { before: verify[0]!, after: verify[1]! },
    rssMB: { max: 440, perNode: [rssNode(400, 395, 430), rssNode(410, 400, 420)] },
    machineCpuPercent: { cores: 2, busy: 99, nodes: 93, bench: 3 },
  } as unknown as DevnetBenchResult;
}

const ingest = (ratio: number): IngestBenchResult => ({
  transfers: 20_000,
  rawVerifyPerSec: 20_000,
  ingestPerSec: 20_000 * ratio,
  ratio,
  batch: 2_000,
  persisted: true,
});

function measurements(over: Partial<GoalsMeasurements> = {}): GoalsMeasurements {
  const saturation = summariseRuns([run(3_100, 140, 250), run(2_900, 160, 260), run(3_300, 145, 240)]);
  return {
    ingest: [ingest(0.6)],
    saturation,
    halfRate: halfRateOf(saturation),
    half: summariseRuns([run(1_550, 260, 40), run(1_550, 270, 55), run(1_550, 250, 45)]),
    rss: { ran: false, reason: "add --rss" },
    window: { startedAt: "2026-12-06T18:38:50.120Z", finishedAt: "2026-12-06T19:12:31.004Z" },
    ...over,
  };
}

test("goals: each figure held against its threshold, the median of the runs where there are several", () => {
  const r = judgeGoals(measurements());
  assert.equal(r.halfRate, 1_550, "half of the saturation median, 3,100");
  assert.deepEqual(
    r.goals.map((g) => [g.measured, g.met]),
    [
      [0.6, true],
      [3_100, true],
      [145, true],
      [45, true],
      [null, null],
    ],
  );
  assert.equal(r.met, 4);
  assert.equal(r.measured, 4, "the memory run did not run: not counted as measured");
  assert.match(r.goals[1]!.detail, /median of 3 runs \(2,900–3,300\)/);
  assert.match(r.goals[3]!.detail, /median of 3 runs at 1,550\/s \(40\.0–55\.0\)/);
  assert.match(r.goals[4]!.detail, /not run: add --rss/);
});

test("goals: a figure on the wrong side of its threshold is not met; one on the threshold is", () => {
  const saturation = summariseRuns([run(2_999, 150, 250)]);
  const r = judgeGoals(
    measurements({
      ingest: [ingest(PERFORMANCE_GOALS.ingestRatio)],
      saturation,
      halfRate: halfRateOf(saturation),
      half: summariseRuns([run(1_500, 300, 50.1)]),
    }),
  );
  assert.deepEqual(
    r.goals.slice(0, 4).map((g) => g.met),
    [true, false, true, false],
  );
  assert.equal(r.halfRate, 1_500, "2,999 / 2 rounds to 1,500");
  assert.equal(r.goals[1]!.detail, "one run", "one run has no range");
  assert.equal(r.met, 2);
});

test("goals: RSS is the largest departure of any node from its first sample, above or below", () => {
  assert.equal(rssDeparturePercent([rssNode(400, 395, 430)]), 7.5);
  assert.equal(rssDeparturePercent([rssNode(400, 395, 430), rssNode(200, 170, 205)]), 15);
  assert.ok(Number.isNaN(rssDeparturePercent([])), "no node, no figure");
  assert.ok(Number.isNaN(rssDeparturePercent([rssNode(0, 0, 0)])), "a node without samples, no figure");
  const long = { ...run(1_550, 300, 45), warmupSec: 300 } as DevnetBenchResult;
  const r = judgeGoals(measurements({ rss: { ran: true, durationSec: 600, result: long } }));
  assert.deepEqual([r.goals[4]!.measured, r.goals[4]!.met], [7.5, true]);
  assert.match(r.goals[4]!.detail, /over 600 s at 1,550\/s, after 300 s of warm-up/);
  assert.equal(r.measured, 5);
  const unsampled = {
    ...long,
    rssMB: { max: 0, perNode: [rssNode(0, 0, 0)] },
  } as unknown as DevnetBenchResult;
  const none = judgeGoals(measurements({ rss: { ran: true, durationSec: 600, result: unsampled } }));
  assert.deepEqual([none.goals[4]!.measured, none.goals[4]!.met], [null, null]);
});

test("goals: the ingest goal holds the median ratio of the ingest runs, and the hour their median raw verify", () => {
  const runs = [ingest(0.45), ingest(0.62), ingest(0.59)].map((r, i) => ({
    ...r,
    rawVerifyPerSec: 18_000 + i * 1_000,
  }));
  const r = judgeGoals(measurements({ ingest: runs }));
  assert.deepEqual([r.goals[0]!.measured, r.goals[0]!.met], [0.59, true], "one slow run does not decide it");
  assert.equal(r.goals[0]!.detail, "median of 3 runs (0.45–0.62)");
  assert.equal(r.hour.rawVerifyPerSec, 19_000);
  const none = judgeGoals(measurements({ ingest: [] }));
  assert.deepEqual([none.goals[0]!.measured, none.goals[0]!.met], [null, null]);
});

test("goals: the hour's figures come from every run's verify timing and the ingest's raw verify", () => {
  const saturation = summariseRuns([run(3_000, 150, 250, [48, 60]), run(3_000, 150, 250, [44, 50])]);
  const r = judgeGoals(measurements({ saturation, half: summariseRuns([run(1_500, 300, 40, [52, 70])]) }));
  assert.deepEqual(r.hour.benchVerifyMicros, { median: 51, min: 44, max: 70 });
  assert.equal(r.hour.rawVerifyPerSec, 20_000);
  assert.equal(r.hour.saturationBusyPercent?.median, 99);
  const text = formatGoals(r);
  assert.match(
    text,
    /^performance goals, 4-node devnet, contagion, 1,000 accounts: 4 of 4 measured goals met/,
  );
  const row = text.split("\n").find((l) => l.includes("applied/s at saturation"));
  assert.match(row ?? "", /≥ 3,000\s+3,000\s+yes\s+median of 2 runs/);
  assert.match(text, /the bench's verify 51\.0 µs \(44\.0–70\.0\)/);
  assert.match(text, /not the code\): 2026-12-06 18:38–19:12 UTC$/m);
  const overnight = { startedAt: "2026-12-06T23:40:00.000Z", finishedAt: "2026-12-07T00:14:00.000Z" };
  assert.match(
    formatGoals(judgeGoals(measurements({ window: overnight }))),
    /2026-12-06 23:40–2026-12-07 00:14 UTC/,
  );
  assert.doesNotMatch(text, /the goals are for/);
  const twoNodes = { ...run(3_000, 150, 250), nodes: 2 } as DevnetBenchResult;
  const small = formatGoals(judgeGoals(measurements({ saturation: summariseRuns([twoNodes]) })));
  assert.match(small, /^performance goals, 2-node devnet, .* \(the goals are for 4 nodes\):/);
  assert.throws(() => halfRateOf(summariseRuns([])), RangeError);
});
