import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ApplyBook, percentile, windowFigures } from "../../src/bench/applyBook.ts";
import {
  formatRepeated,
  formatRepeatedComparison,
  spreadOf,
  summariseComparisons,
  summariseRuns,
} from "../../src/bench/benchRepeats.ts";
import { compareResults } from "../../src/bench/benchReport.ts";
import type { DevnetBenchResult } from "../../src/bench/devnetBench.ts";
import { gcFiguresBetween, meanGcFigures } from "../../src/bench/gcFigures.ts";
import { gcPausesOf } from "../../src/bench/nodeProbe.ts";
import { clockTicksPerSecond, processRss, RssTracker } from "../../src/bench/procStats.ts";
import { parsePromText, sample } from "../../src/bench/promText.ts";
import { parseThreadStat, threadCpuDelta, threadCpuMicros, threadRole } from "../../src/bench/threadCpu.ts";

test("Prometheus text: labelled and bare samples are read, comments and garbage skipped", () => {
  const text = [
    "# HELP tally_p2p Transport counters since start (frames, messages, bytes, drops)",
    "# TYPE tally_p2p gauge",
    'tally_p2p{counter="messagesOut"} 1234',
    'tally_p2p{counter="bytesOut"} 5.5e+6',
    "tally_ledger_waiting 0",
    'tally_channel_inbound_total{peer="12D3KooW",result="admitted"} 7',
    "not a sample line",
    "tally_broken NaNx",
    "",
  ].join("\n");
  const samples = parsePromText(text);
  assert.equal(sample(samples, "tally_p2p", "counter", "messagesOut"), 1234);
  assert.equal(sample(samples, "tally_p2p", "counter", "bytesOut"), 5_500_000);
  assert.equal(sample(samples, "tally_ledger_waiting"), 0);
  assert.equal(samples.get('tally_channel_inbound_total{peer="12D3KooW",result="admitted"}'), 7);
  assert.equal(sample(samples, "tally_p2p", "counter", "framesOut"), 0, "absent reads as 0");
  assert.equal(samples.has("tally_broken"), false);
});

test("GC pauses by kind: read from prom-client's histogram, a kind not yet run counts 0", () => {
  const text = [
    "# TYPE tally_process_nodejs_gc_duration_seconds histogram",
    'tally_process_nodejs_gc_duration_seconds_bucket{le="0.001",kind="minor"} 3',
    'tally_process_nodejs_gc_duration_seconds_sum{kind="minor"} 0.25',
    'tally_process_nodejs_gc_duration_seconds_count{kind="minor"} 20',
    'tally_process_nodejs_gc_duration_seconds_sum{kind="major"} 0.04',
    'tally_process_nodejs_gc_duration_seconds_count{kind="major"} 2',
  ].join("\n");
  assert.deepEqual(gcPausesOf(parsePromText(text)), {
    minor: { count: 20, seconds: 0.25 },
    major: { count: 2, seconds: 0.04 },
    incremental: { count: 0, seconds: 0 },
    weakcb: { count: 0, seconds: 0 },
  });
  assert.equal(gcPausesOf(parsePromText("tally_ledger_waiting 0")), undefined, "no GC metrics at all");
});

test("GC pauses by kind over a window: rate and mean pause per node, pooled over nodes", () => {
  const at = (minor: [number, number], major: [number, number]) => ({
    minor: { count: minor[0], seconds: minor[1] },
    major: { count: major[0], seconds: major[1] },
    incremental: { count: 0, seconds: 0 },
    weakcb: { count: 0, seconds: 0 },
  });
  // 10 s: 50 scavenges of 12 ms each, one 30 ms mark-compact.
  const a = gcFiguresBetween(at([100, 1], [1, 0.02]), at([150, 1.6], [2, 0.05]), 10);
  assert.deepEqual(a.minor, { perSec: 5, meanMs: 12 });
  assert.deepEqual(a.major, { perSec: 0.1, meanMs: 30 });
  assert.deepEqual(a.incremental, { perSec: 0, meanMs: 0 }, "no pause, no mean");
  // A second node scavenging half as often, 6 ms each: 7.5 pauses a second over two nodes, of 75 ms a second.
  const b = gcFiguresBetween(at([0, 0], [0, 0]), at([25, 0.15], [0, 0]), 10);
  const both = meanGcFigures([a, b]);
  assert.deepEqual(both.minor, { perSec: 3.75, meanMs: 10 });
  assert.deepEqual(both.major, { perSec: 0.05, meanMs: 30 });
});

test("nearest-rank percentiles of sorted latencies", () => {
  const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(sorted, 50), 50);
  assert.equal(percentile(sorted, 90), 90);
  assert.equal(percentile(sorted, 99), 99);
  assert.equal(percentile(sorted, 100), 100);
  assert.equal(percentile(Float64Array.of(7), 99), 7);
  assert.ok(Number.isNaN(percentile(new Float64Array(0), 50)));
});

test("window: throughput counts applications inside it, latency the submissions inside it", () => {
  const nan = Number.NaN;
  // Window [100, 200). t0: submitted before, applied inside → throughput only. t1: inside, applied inside.
  // t2: submitted inside, applied after → latency only. t3: submitted inside, never applied. t4: refused.
  const submitted = Float64Array.of(50, 110, 190, 150, 160);
  const applied = Float64Array.of(120, 140, 260, nan, nan);
  const refused = Uint8Array.of(0, 0, 0, 0, 1);
  const w = windowFigures(submitted, applied, refused, 100, 200);
  assert.equal(w.applied, 2);
  assert.equal(w.submitted, 4);
  assert.equal(w.unapplied, 1);
  assert.deepEqual([...w.latenciesMs], [30, 70]);
  assert.deepEqual([...w.firstNodeLatenciesMs], [], "no first-node times given, none reported");
});

test("a transfer counts as applied when the last node reports it, once per node", () => {
  const book = new ApplyBook(3, 2);
  book.submitted(0, 10);
  book.submitted(0, 99); // a retry keeps the first submission time
  assert.equal(book.resolved(0, 0, "applied", 20), false);
  assert.equal(book.resolved(0, 0, "applied", 25), false, "the same node twice is not two nodes");
  assert.equal(book.resolved(1, 0, "applied", 40), true);
  assert.equal(book.appliedEverywhere, 1);
  book.submitted(1, 10);
  assert.equal(book.resolved(1, 1, "rejected", 30), true, "a rejection settles it");
  assert.equal(book.resolved(0, 1, "rejected", 31), false);
  assert.equal(book.rejections, 1);
  const w = book.window(0, 100);
  assert.deepEqual([...w.latenciesMs], [30]);
  assert.deepEqual([...w.firstNodeLatenciesMs], [10], "the first node's report, not the repeat after it");
  assert.equal(w.unapplied, 0);
});

test("first-node latency is taken over the transfers every node applied, sorted like the latency", () => {
  const book = new ApplyBook(3, 3);
  for (const i of [0, 1, 2]) book.submitted(i, 100);
  // Transfer 0: nodes at 130, 150, 190. Transfer 1: 110, 120, 200. Transfer 2: applied on two nodes only.
  for (const [node, at] of [
    [2, 130],
    [0, 150],
    [1, 190],
  ] as const)
    book.resolved(node, 0, "applied", at);
  for (const [node, at] of [
    [1, 110],
    [2, 120],
    [0, 200],
  ] as const)
    book.resolved(node, 1, "applied", at);
  for (const [node, at] of [
    [0, 105],
    [1, 106],
  ] as const)
    book.resolved(node, 2, "applied", at);
  const w = book.window(0, 1000);
  assert.deepEqual([...w.latenciesMs], [90, 100]);
  assert.deepEqual([...w.firstNodeLatenciesMs], [10, 30]);
  assert.equal(w.unapplied, 1);
});

test("--compare ratios are contagion over bracha", () => {
  const result = (appliedPerSec: number, cpu: number, p50: number, msgs: number, verifies: number) =>
    ({
      appliedPerSec,
      cpuMicrosPerTransferPerNode: cpu,
      cpuPerTransferInVerifies: verifies,
      latencyMs: { p50, p90: p50, p99: p50, max: p50 },
      messagesPerTransferPerNode: msgs,
    }) as DevnetBenchResult;
  const { ratios } = compareResults(result(2000, 300, 50, 3, 6), result(1000, 600, 100, 12, 8));
  assert.deepEqual(ratios, {
    appliedPerSec: 2,
    cpuMicrosPerTransferPerNode: 0.5,
    cpuPerTransferInVerifies: 0.75,
    latencyP50: 0.5,
    messagesPerTransferPerNode: 0.25,
  });
});

/** The fields a run's warnings read, as a run that gave no reason for one has them. */
const QUIET_RUN = {
  broadcast: "contagion",
  applied: 1,
  ranDry: false,
  presigned: 9000,
  refused: {},
  unknownDependencyRetried: 0,
  unappliedAfterDrain: 0,
} as const;

test("--repeat: median of an odd count is the middle value, of an even count the mean of the two middle ones", () => {
  assert.deepEqual(spreadOf([3, 1, 2]), { median: 2, min: 1, max: 3 });
  assert.deepEqual(spreadOf([40, 10, 30, 20]), { median: 25, min: 10, max: 40 });
  assert.deepEqual(spreadOf([7]), { median: 7, min: 7, max: 7 });
  assert.throws(() => spreadOf([]), RangeError);
});

test("--repeat: each headline figure summarised over the runs; one a run could not measure is left out", () => {
  const run = (appliedPerSec: number, cpu: number, p50: number, busy: number | null, ranDry = false) =>
    ({
      ...QUIET_RUN,
      ranDry,
      appliedPerSec,
      cpuMicrosPerTransferPerNode: cpu,
      cpuPerTransferInVerifies: cpu / 50,
      latencyMs: { p50, p90: 2 * p50, p99: 3 * p50, max: 4 * p50 },
      firstNodeLatencyMs: { p50: p50 - 50, p90: 2 * p50 - 50, p99: 3 * p50 - 50 },
      messagesPerTransferPerNode: 0.2,
      rssMB: { max: 500, perNode: [] },
      machineCpuPercent: busy === null ? null : { cores: 2, busy, nodes: busy - 4, bench: 3 },
    }) as unknown as DevnetBenchResult;
  const runs = [run(3000, 150, 250, 99), run(2800, 165, 270, 98, true), run(3200, 140, 240, 99.5)];
  const r = summariseRuns(runs);
  assert.equal(r.repeat, 3);
  assert.deepEqual(r.summary.appliedPerSec, { median: 3000, min: 2800, max: 3200 });
  assert.deepEqual(r.summary.cpuMicrosPerTransferPerNode, { median: 150, min: 140, max: 165 });
  assert.deepEqual(r.summary.latencyP90Ms, { median: 500, min: 480, max: 540 });
  assert.deepEqual(r.summary.firstNodeLatencyP50Ms, { median: 200, min: 190, max: 220 });
  assert.deepEqual(r.summary.machineBusyPercent, { median: 99, min: 98, max: 99.5 });
  // The runs keep their order in the table; the median row comes after them.
  const text = formatRepeated(r, "4 nodes");
  const rows = text.split("\n").filter((l) => /^ {2}(\d|median)/.test(l));
  assert.deepEqual(
    rows.map((l) => l.trim().split(/\s+/).slice(0, 2)),
    [
      ["1", "3,000"],
      ["2", "2,800"],
      ["3", "3,200"],
      ["median", "3,000"],
    ],
  );
  // A run whose figures are suspect says so under the table, with its number.
  assert.match(text, /run 2: {2}contagion: the 9,000 pre-signed transfers ran out/);
  assert.doesNotMatch(text, /run [13]:/);
  const offLinux = summariseRuns([run(3000, 150, 250, null), run(2800, 165, 270, null)]);
  assert.equal(offLinux.summary.machineBusyPercent, undefined);
  assert.match(formatRepeated(offLinux, "4 nodes"), /busy %\s+–/);
});

test("--repeat with --compare: each ratio's median and range over the comparisons", () => {
  const result = (appliedPerSec: number, cpu: number) =>
    ({
      ...QUIET_RUN,
      appliedPerSec,
      cpuMicrosPerTransferPerNode: cpu,
      cpuPerTransferInVerifies: cpu / 50,
      latencyMs: { p50: 100, p90: 100, p99: 100, max: 100 },
      messagesPerTransferPerNode: 1,
    }) as DevnetBenchResult;
  const c = summariseComparisons([
    compareResults(result(900, 200), result(1000, 200)),
    compareResults(result(1100, 150), result(1000, 200)),
    compareResults(result(1000, 220), result(1000, 200)),
  ]);
  assert.deepEqual(c.ratios.appliedPerSec, { median: 1, min: 0.9, max: 1.1 });
  assert.deepEqual(c.ratios.cpuMicrosPerTransferPerNode, { median: 1, min: 0.75, max: 1.1 });
  assert.match(
    formatRepeatedComparison(c, "4 nodes"),
    /appliedPerSec\s+0\.90\s+1\.10\s+1\.00\s+1\.00\s+0\.90 – 1\.10/,
  );
  assert.throws(() => summariseComparisons([]), RangeError);
});

/** A /proc/PID/task/TID/stat line with `utime` and `stime` in fields 14 and 15. */
function statLine(tid: number, name: string, utime: number, stime: number): string {
  const after = ["S", "1", "1", "1", "0", "-1", "4194304", "0", "0", "0", "0", String(utime), String(stime)];
  return `${tid} (${name}) ${after.join(" ")} 0 0 20 0 8 0 100 0 0\n`;
}

test("thread CPU: the process's threads summed by role, names with spaces and parentheses parsed", async () => {
  assert.deepEqual(parseThreadStat(statLine(7, "we(i)rd name)", 12, 3)), {
    name: "we(i)rd name)",
    ticks: 15,
  });
  assert.equal(parseThreadStat("garbage"), undefined);
  assert.equal(threadRole(40, 40, "MainThread"), "main");
  assert.equal(threadRole(40, 41, "V8Worker"), "v8");
  assert.equal(threadRole(40, 45, "libuv-worker"), "libuv");
  assert.equal(threadRole(40, 46, "node"), "other");

  const root = await mkdtemp(join(tmpdir(), "tally-proc-"));
  try {
    const threads: [number, string, number, number][] = [
      [40, "MainThread", 300, 50],
      [41, "V8Worker", 60, 2],
      [42, "V8Worker", 40, 1],
      [45, "libuv-worker", 10, 20],
      [46, "node", 1, 0],
    ];
    for (const [tid, name, u, st] of threads) {
      await mkdir(join(root, "40", "task", String(tid)), { recursive: true });
      await writeFile(join(root, "40", "task", String(tid), "stat"), statLine(tid, name, u, st));
    }
    const tick = 1e6 / clockTicksPerSecond();
    assert.deepEqual(threadCpuMicros(40, root), {
      main: 350 * tick,
      v8: 103 * tick,
      libuv: 30 * tick,
      other: tick,
    });
    assert.equal(threadCpuMicros(41, root), undefined, "no such process");
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  // A role whose thread exited between two readings does not go below zero.
  const before = { main: 100, v8: 50, libuv: 30, other: 5 };
  const after = { main: 180, v8: 90, libuv: 20, other: 5 };
  assert.deepEqual(
    threadCpuDelta(before, after, (x) => x / 2),
    { main: 40, v8: 20, libuv: 0, other: 0 },
  );
});

test("RSS samples: the window's own memory and mapped files are parts of the whole, read from /proc", () => {
  const now = processRss(process.pid);
  assert.ok(now !== undefined);
  // A Node process maps its own binary (tens of MB) and holds a heap: neither part is empty.
  assert.ok(now.anonymous > 1 && now.file > 1, JSON.stringify(now));
  assert.ok(now.anonymous + now.file <= now.total + 0.01, JSON.stringify(now));
  assert.equal(processRss(2 ** 22 + 1), undefined, "no such process");

  const tracker = new RssTracker(process.pid);
  tracker.sample();
  const before = tracker.series();
  assert.deepEqual(before.window.anonymous, { start: 0, min: 0, max: 0 }, "no sample inside the window yet");
  tracker.startWindow();
  const held = Buffer.alloc(32e6, 1); // touched pages: anonymous memory the next sample sees
  tracker.sample();
  const { window } = tracker.series();
  assert.ok(held[held.length - 1] === 1);
  assert.ok(window.anonymous.max >= window.anonymous.start + 25, JSON.stringify(window));
  assert.ok(window.max >= window.start + 25, JSON.stringify(window));
  assert.ok(window.file.min > 0 && window.file.max <= window.max, JSON.stringify(window));
});
