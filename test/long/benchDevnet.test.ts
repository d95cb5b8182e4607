import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { RssSeries } from "../../src/bench/procStats.ts";
import { MAIN_TS, startDevnet } from "../support/devnetProcess.ts";

function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd?: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [MAIN_TS, ...args], {
      env: { ...process.env, ...env },
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

test("`tally bench --json` loads a 2-node devnet it starts, measures it, profiles it, and removes it", async () => {
  // The bench's devnet goes under os.tmpdir(): a private TMPDIR shows it is gone afterwards.
  const tmp = await mkdtemp(join(tmpdir(), "tally-bench-test-"));
  const profileDir = await mkdtemp(join(tmpdir(), "tally-bench-profile-"));
  try {
    const { code, stdout, stderr } = await runCli(
      [
        "bench",
        ...["--nodes", "2", "--duration", "3", "--warmup", "1", "--membership", "static"],
        ...["--prewarm", "2", "--accounts", "200", "--profile", profileDir, "--json"],
      ],
      { TMPDIR: tmp },
    );
    assert.equal(code, 0, stderr);
    const r = JSON.parse(stdout) as Record<string, unknown> & {
      latencyMs: Record<string, number>;
      firstNodeLatencyMs: Record<string, number>;
      rssMB: { max: number; perNode: RssSeries[] };
      perNode: { heapUsedMB?: { start: number; end: number }; loopBusyPercent?: number }[];
    };
    for (const field of [
      "nodes",
      "broadcast",
      "membership",
      "durationSec",
      "submitted",
      "appliedPerSec",
      "latencyMs",
      "cpuMicrosPerTransferPerNode",
      "verifyMicros",
      "cpuPerTransferInVerifies",
      "rssMB",
      "messagesPerTransferPerNode",
      "bytesPerTransferPerNode",
      "benchCpuMicrosPerTransfer",
      "machineCpuPercent",
      "perNode",
      "workload",
      "depsPerTransfer",
    ])
      assert.ok(field in r, `missing ${field}`);
    assert.equal(r.nodes, 2);
    assert.equal(r.broadcast, "contagion");
    assert.equal(r.membership, "static");
    assert.ok((r.appliedPerSec as number) > 0);
    assert.ok((r.submitted as number) > 0);
    const { p50, p90, p99 } = r.latencyMs;
    for (const p of [p50, p90, p99]) assert.ok(typeof p === "number" && p > 0, `percentile ${p}`);
    assert.ok(p50! <= p90! && p90! <= p99!);
    // The first node to apply a transfer applies it no later than the last, and not at its submission.
    const first = r.firstNodeLatencyMs;
    assert.ok(first.p50! > 0 && first.p50! <= p50! && first.p99! <= p99!, JSON.stringify(first));
    assert.ok((r.cpuMicrosPerTransferPerNode as number) > 0);
    // The same CPU by thread role: JavaScript on the main thread, GC and compilation on V8's helpers, LevelDB on
    // libuv's pool. Read from each thread's own counters, they add up to the process's (to a clock tick each).
    const threads = r.threadMicrosPerTransferPerNode as Record<"main" | "v8" | "libuv" | "other", number>;
    const threadSum = threads.main + threads.v8 + threads.libuv + threads.other;
    const cpu = r.cpuMicrosPerTransferPerNode as number;
    assert.ok(threads.main > 0 && threads.v8 > 0, `threads ${JSON.stringify(threads)}`);
    assert.ok(Math.abs(threadSum - cpu) <= 0.1 * cpu, `threads sum to ${threadSum}, process ${cpu}`);
    const gcPause = r.gcPauseMicrosPerTransferPerNode as number;
    assert.ok(gcPause > 0 && gcPause < threads.main, `GC pauses ${gcPause} µs of main ${threads.main}`);
    // The same pauses by kind: scavenges happened, and rate × mean pause over the window adds up to the total.
    const gc = r.gcPausesPerNode as Record<
      "minor" | "major" | "incremental" | "weakcb",
      { perSec: number; meanMs: number }
    >;
    assert.ok(gc.minor.perSec > 0 && gc.minor.meanMs > 0, `minor GC ${JSON.stringify(gc.minor)}`);
    const pausedMicros = Object.values(gc).reduce((sum, k) => sum + k.perSec * k.meanMs * 1000, 0);
    const totalMicros = (gcPause * (r.appliedPerSec as number)) as number;
    assert.ok(
      Math.abs(pausedMicros - totalMicros) <= 0.1 * totalMicros + 50,
      `by kind ${pausedMicros} µs/s, in all ${totalMicros} µs/s`,
    );
    // The event loop ran callbacks for part of the window, never for more than all of it.
    const busy = r.loopBusyPercentPerNode as number;
    assert.ok(busy > 0 && busy <= 100, `event loop busy ${busy} %`);
    for (const node of r.perNode) assert.ok(node.loopBusyPercent! > 0 && node.loopBusyPercent! <= 100);
    // The node's CPU in signature checks: its µs over the verify µs timed in the bench on the run's signatures.
    const verify = r.verifyMicros as { before: number; after: number };
    assert.ok(verify.before > 1 && verify.after > 1, `verify ${JSON.stringify(verify)}`);
    const inVerifies = (r.cpuMicrosPerTransferPerNode as number) / ((verify.before + verify.after) / 2);
    assert.ok(Math.abs((r.cpuPerTransferInVerifies as number) - inVerifies) < 0.02 * inVerifies + 0.01);
    // Each transfer's signature checked once per node, whichever way it came (the window's edges move it a
    // little: a transfer checked inside it may be applied after it).
    const checks = r.signatureChecksPerTransferPerNode as number;
    assert.ok(checks > 0.5 && checks < 2, `signature checks per transfer per node ${checks}`);
    assert.ok((r.messagesPerTransferPerNode as number) > 0);
    assert.ok((r.bytesPerTransferPerNode as number) > 0);
    assert.ok((r.benchCpuMicrosPerTransfer as number) > 0);
    // The machine: the nodes and the bench ran on it, so they are part of its busy time, never more of it
    // (each reading rounds to a clock tick per process: 10 ms in a 3-second window of two or more cores).
    const machine = r.machineCpuPercent as { cores: number; busy: number; nodes: number; bench: number };
    assert.ok(machine.cores >= 1 && machine.busy > 0 && machine.busy <= 100, JSON.stringify(machine));
    assert.ok(machine.nodes > 0 && machine.bench > 0, JSON.stringify(machine));
    assert.ok(machine.nodes + machine.bench <= machine.busy + 3, JSON.stringify(machine));
    // Every applied transfer went through some node's fsynced step: steps ran, each holding ≥ 1 on average.
    const steps = r.stepsPerSecPerNode as number;
    const perStep = r.transfersPerStep as number;
    assert.ok(steps > 0 && perStep > 0, `steps/s ${steps}, transfers/step ${perStep}`);
    assert.ok(
      Math.abs(steps * perStep - (r.appliedPerSec as number)) <= 0.05 * (r.appliedPerSec as number) + 1,
    );
    // Where a step's time went: every phase measured, and a step's write (an fsync) takes some of it.
    const stepMs = r.stepMsPerNode as Record<"wait" | "handle" | "write" | "send", number>;
    for (const phase of ["wait", "handle", "write", "send"] as const)
      assert.ok(stepMs[phase] >= 0 && stepMs[phase] < 1_000, `step ${phase} ${stepMs[phase]} ms`);
    assert.ok(stepMs.write > 0 && stepMs.handle > 0, JSON.stringify(stepMs));
    assert.ok(r.rssMB.max > 0);
    assert.equal(r.perNode.length, 2);
    assert.equal(r.rssMB.perNode.length, 2);
    // Inside the window a node's RSS splits into its own memory and its mapped files (the binary at least):
    // each part no larger than the whole was at its largest.
    for (const { window } of r.rssMB.perNode) {
      assert.ok(window.anonymous.min > 0 && window.anonymous.max <= window.max, JSON.stringify(window));
      assert.ok(window.file.min > 0 && window.file.max <= window.max, JSON.stringify(window));
      assert.ok(window.anonymous.min + window.file.min <= window.max + 0.2, JSON.stringify(window));
    }
    assert.deepEqual(r.refused, {}, "no transfer refused (an early dep would be UNKNOWN_DEPENDENCY)");
    assert.equal(r.unknownDependencyRetried, 0);
    assert.equal(r.rejected, 0);
    assert.equal(r.unappliedAfterDrain, 0);
    // The prewarm ran first, and the run signed on from where it left each account: had it signed from seq 1
    // again, the nodes would have refused every account's first transfers (refused would not be empty).
    const prewarm = r.prewarm as { sec: number; applied: number; appliedPerSec: number };
    assert.equal(prewarm.sec, 2);
    assert.ok(prewarm.applied > 0 && prewarm.appliedPerSec > 0, JSON.stringify(prewarm));
    // Wallet-like: every transfer after an account's first references the payment it received last.
    assert.equal(r.workload, "ring-with-deps");
    assert.ok((r.depsPerTransfer as number) > 0.8, `depsPerTransfer ${r.depsPerTransfer}`);
    for (const node of r.perNode) assert.ok(node.heapUsedMB !== undefined && node.heapUsedMB.end > 0);
    assert.deepEqual(await readdir(tmp), [], "the bench's devnet directory is removed");

    // --profile: each node's CPU profile, cut to the measured window and summed into one flame graph.
    const profile = (r as { profile?: NodeProfilesJson }).profile;
    assert.ok(profile !== undefined, "a profile section");
    assert.equal(profile.profiles, 2);
    assert.ok(profile.busySamples > 100, `busy samples ${profile.busySamples}`);
    assert.equal(profile.flameGraph, join(profileDir, "flamegraph.svg"));
    const svg = await readFile(profile.flameGraph, "utf8");
    assert.ok(svg.startsWith("<svg") && svg.trimEnd().endsWith("</svg>"));
    assert.deepEqual((await readdir(profileDir)).sort(), [
      "flamegraph.svg",
      "node-0",
      "node-1",
      "self-time.md",
    ]);
    const frames = profile.top.map((f) => f.frame);
    // Each node checks every transfer's signature: the check is among the frames most often on the CPU.
    assert.ok(
      frames.some((f) => f.startsWith("exports.crypto_sign_verify_detached")),
      frames.join(", "),
    );
    // Within the window: loading the node's modules (its first second) is not in it.
    assert.ok(!frames.some((f) => f.startsWith("compileSourceTextModule")), frames.join(", "));
    assert.ok(profile.top.every((f) => f.share > 0 && f.share < 1));
    // The same directory again: refused before any node starts, or both runs' profiles would be summed.
    const again = await runCli(["bench", "--nodes", "2", "--profile", profileDir, "--json"]);
    assert.equal(again.code, 1);
    assert.equal((JSON.parse(again.stderr) as { code: string }).code, "INVALID_CONFIG");
    // --compare's second directory is checked before the first run starts, not after it.
    await mkdir(join(profileDir, "compare", "bracha", "node-0"), { recursive: true });
    const compare = await runCli(["bench", "--compare", "bracha", "--profile", join(profileDir, "compare")]);
    assert.equal(compare.code, 1);
    assert.match(compare.stderr, /compare\/bracha is not empty/);
  } finally {
    await rm(tmp, { recursive: true, force: true });
    await rm(profileDir, { recursive: true, force: true });
  }
});

/** Linux perf, and the right to sample other processes with it (root, or kernel.perf_event_paranoid ≤ 1). */
function perfUsable(): boolean {
  const probe = spawnSync("perf", ["record", "-o", "/dev/null", "-q", "--", "true"], { stdio: "ignore" });
  return probe.status === 0;
}

test("`tally bench --perf DIR` samples the nodes on the CPU with perf and sums the window by thread and category", {
  skip: perfUsable()
    ? false
    : "Linux perf is not usable here (not installed, or perf_event_paranoid forbids it)",
}, async () => {
  const perfDir = await mkdtemp(join(tmpdir(), "tally-bench-perf-"));
  const workDir = await mkdtemp(join(tmpdir(), "tally-bench-perf-cwd-"));
  try {
    const { code, stdout, stderr } = await runCli(
      [
        "bench",
        ...["--nodes", "2", "--duration", "3", "--warmup", "1", "--prewarm", "0", "--membership", "static"],
        ...["--accounts", "200", "--perf", perfDir, "--json"],
      ],
      {},
      workDir,
    );
    assert.equal(code, 0, stderr);
    const r = JSON.parse(stdout) as {
      perNode: { pid: number }[];
      perf?: {
        data: string;
        summary: string;
        samples: number;
        threads: Record<string, number>;
        main: { name: string; share: number }[];
        inclusive: { name: string; share: number }[];
      };
    };
    const perf = r.perf;
    assert.ok(perf !== undefined, "a perf section");
    assert.equal(perf.data, join(perfDir, "perf.data"));
    assert.ok(perf.samples > 100, `samples ${perf.samples}`);
    // Most of a node's CPU is its event loop; the shares of the threads and of the main thread's categories sum to 1.
    assert.ok(perf.threads.main! > 0.5, JSON.stringify(perf.threads));
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum(Object.values(perf.threads)) - 1) < 0.01);
    assert.ok(Math.abs(sum(perf.main.map((c) => c.share)) - 1) < 0.01);
    // Every transfer's signature is checked on every node: libsodium is where some samples land.
    assert.ok((perf.main.find((c) => c.name === "libsodium")?.share ?? 0) > 0, JSON.stringify(perf.main));
    // Named JIT frames: the nodes wrote symbol maps, which the bench removes once perf script has read them.
    assert.ok((perf.main.find((c) => c.name === "JavaScript (JIT)")?.share ?? 0) > 0);
    // With call chains, the processing step is among the functions most often on the main thread's stack.
    const step = perf.inclusive.find((f) => f.name.startsWith("step src/node/processingLoop.ts"));
    assert.ok((step?.share ?? 0) > 0.05, JSON.stringify(perf.inclusive));
    for (const { pid } of r.perNode)
      await assert.rejects(access(`/tmp/perf-${pid}.map`), `node ${pid}'s symbol map is left behind`);
    // Nor does V8's event log, which it opens along with the symbol map, land in the directory the bench ran in.
    assert.deepEqual(await readdir(workDir), []);
    assert.match(
      await readFile(perf.summary, "utf8"),
      /^# 2-node devnet, contagion, saturation: node CPU \(perf\)/,
    );
    // The same directory again: refused before any node starts.
    const again = await runCli(["bench", "--nodes", "2", "--perf", perfDir, "--json"]);
    assert.equal(again.code, 1);
    assert.equal((JSON.parse(again.stderr) as { code: string }).code, "INVALID_CONFIG");
  } finally {
    await rm(perfDir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  }
});

interface NodeProfilesJson {
  profiles: number;
  busySamples: number;
  flameGraph: string;
  top: { frame: string; share: number }[];
}

test("`tally bench --repeat 2` runs twice on fresh devnets and prints each run and the medians", async () => {
  const tmp = await mkdtemp(join(tmpdir(), "tally-bench-repeat-"));
  try {
    const args = [
      "bench",
      ...["--nodes", "2", "--duration", "2", "--warmup", "1", "--membership", "static"],
      ...["--prewarm", "1", "--accounts", "100", "--repeat", "2"],
    ];
    const { code, stdout, stderr } = await runCli([...args, "--json"], { TMPDIR: tmp });
    assert.equal(code, 0, stderr);
    const r = JSON.parse(stdout) as {
      repeat: number;
      runs: { appliedPerSec: number; cpuMicrosPerTransferPerNode: number }[];
      summary: Record<string, { median: number; min: number; max: number }>;
    };
    assert.equal(r.repeat, 2);
    assert.equal(r.runs.length, 2);
    for (const run of r.runs) assert.ok(run.appliedPerSec > 0 && run.cpuMicrosPerTransferPerNode > 0);
    const applied = r.runs.map((run) => run.appliedPerSec);
    // Two runs: the median is their mean, the range their extremes.
    assert.deepEqual(r.summary.appliedPerSec, {
      median: (applied[0]! + applied[1]!) / 2,
      min: Math.min(...applied),
      max: Math.max(...applied),
    });
    for (const figure of [
      "cpuMicrosPerTransferPerNode",
      "latencyP50Ms",
      "rssMaxMB",
      "messagesPerTransferPerNode",
    ])
      assert.ok(r.summary[figure]!.min <= r.summary[figure]!.median, figure);
    // Each run brought its own devnet down and removed it.
    assert.deepEqual(await readdir(tmp), []);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test("`tally bench goals` measures every goal in one command and holds each figure against its threshold", async () => {
  const tmp = await mkdtemp(join(tmpdir(), "tally-bench-goals-"));
  try {
    const args = [
      ...["bench", "goals", "--nodes", "2", "--accounts", "100", "--duration", "2", "--warmup", "1"],
      ...["--ingest-runs", "2"],
      ...["--prewarm", "1", "--saturation-runs", "1", "--half-runs", "2", "--rss", "--rss-duration", "3"],
    ];
    const began = Date.now();
    const { code, stdout, stderr } = await runCli([...args, "--json"], { TMPDIR: tmp });
    const ended = Date.now();
    assert.equal(code, 0, stderr);
    const r = JSON.parse(stdout) as {
      window: { startedAt: string; finishedAt: string };
      goals: { goal: string; comparison: string; threshold: number; measured: number | null; met: boolean }[];
      met: number;
      measured: number;
      halfRate: number;
      saturation: { runs: { appliedPerSec: number; rate: number | null }[] };
      half: { runs: { rate: number | null }[]; summary: { latencyP50Ms: { median: number } } };
      rss: {
        ran: boolean;
        durationSec: number;
        result: { warmupSec: number; durationSec: number; rate: number };
      };
      hour: { rawVerifyPerSec: number; benchVerifyMicros: { median: number } };
      ingest: { ratio: number }[];
    };
    // The half rate is half the saturation median, and the half-rate and memory runs ran at it.
    assert.equal(r.halfRate, Math.round(r.saturation.runs[0]!.appliedPerSec / 2));
    assert.equal(r.saturation.runs[0]!.rate, null);
    assert.deepEqual(
      r.half.runs.map((run) => run.rate),
      [r.halfRate, r.halfRate],
    );
    assert.equal(r.rss.ran, true);
    // The memory run ran at the half rate for the 3 s asked. Its measured window is the wall time between two
    // clock reads around a 3-s sleep: never shorter, and on a busy machine 3.01 s (once in CI).
    assert.deepEqual([r.rss.result.rate, r.rss.durationSec, r.rss.result.warmupSec], [r.halfRate, 3, 2]);
    assert.ok(r.rss.result.durationSec >= 3 && r.rss.result.durationSec < 4, `${r.rss.result.durationSec} s`);
    // Every goal was measured, and each verdict is its figure against its threshold.
    assert.equal(r.goals.length, 5);
    assert.equal(r.measured, 5);
    for (const g of r.goals) {
      assert.ok(g.measured !== null && Number.isFinite(g.measured), g.goal);
      assert.equal(
        g.met,
        g.comparison === "≥" ? g.measured >= g.threshold : g.measured <= g.threshold,
        g.goal,
      );
    }
    assert.equal(r.goals[3]!.measured, r.half.summary.latencyP50Ms.median);
    const ratios = r.ingest.map((run) => run.ratio);
    assert.equal(ratios.length, 2);
    assert.equal(r.goals[0]!.measured, (ratios[0]! + ratios[1]!) / 2, "the median of two runs is their mean");
    assert.equal(r.met, r.goals.filter((g) => g.met).length);
    assert.ok(r.hour.rawVerifyPerSec > 0 && r.hour.benchVerifyMicros.median > 0);
    // When it was measured: inside the command's run, in UTC.
    const [from, to] = [Date.parse(r.window.startedAt), Date.parse(r.window.finishedAt)];
    assert.ok(began <= from && from < to && to <= ended, JSON.stringify(r.window));
    assert.match(r.window.startedAt, /Z$/);
    // Every devnet was brought down and removed.
    assert.deepEqual(await readdir(tmp), []);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test("bad bench options are usage errors; `bench ingest` still routes to the ingest bench", async () => {
  for (const args of [
    ["bench", "--batch", "1001"],
    ["bench", "--compare", "contagion"],
    ["bench", "--broadcast", "bracha", "--membership", "open", "--compare", "bracha"],
    ["bench", "--nodes", "4", "--accounts", "3"],
    ["bench", "--devnet", "x.json", "--nodes", "3"],
    ["bench", "--devnet", "x.json", "--profile", "prof"],
    ["bench", "--devnet", "x.json", "--perf", "prof"],
    ["bench", "--profile", "a", "--perf", "b"],
    ["bench", "extra"],
    ["bench", "--prewarm", "-1"],
    ["bench", "--prewarm", "400"],
    ["bench", "--repeat", "0"],
    ["bench", "--repeat", "51"],
    ["bench", "--devnet", "x.json", "--repeat", "2"],
    ["bench", "--repeat", "2", "--profile", "prof"],
    ["bench", "--repeat", "2", "--perf", "prof"],
    ["bench", "goals", "--saturation-runs", "0"],
    ["bench", "goals", "--half-runs", "51"],
    ["bench", "goals", "--ingest-runs", "0"],
    ["bench", "goals", "--rss-duration", "60"],
    ["bench", "goals", "--nodes", "4", "--accounts", "3"],
    ["bench", "goals", "--prewarm", "400"],
    ["bench", "goals", "extra"],
  ]) {
    const { code, stderr } = await runCli([...args, "--json"]);
    assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
    assert.equal((JSON.parse(stderr) as { code: string }).code, "USAGE");
  }
  const ingest = await runCli(["bench", "ingest", "--transfers", "200", "--batch", "100", "--json"]);
  assert.equal(ingest.code, 0, ingest.stderr);
  assert.equal((JSON.parse(ingest.stdout) as { transfers: number }).transfers, 200);
});

test("`tally bench --devnet FILE` drives a devnet `tally devnet up` started, and refuses one wallet clearly", async () => {
  const devnet = await startDevnet(["--nodes", "2", "--wallets", "3", "--membership", "static"]);
  try {
    const devnetJson = join(devnet.dir, "devnet.json");
    const run = await runCli(
      ["bench", "--devnet", devnetJson, "--rate", "100", "--warmup", "1", "--prewarm", "1"].concat([
        "--duration",
        "2",
        "--json",
      ]),
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as {
      nodes: number;
      accounts: number;
      applied: number;
      rejected: number;
      refused: Record<string, number>;
      prewarm: { applied: number };
    };
    assert.equal(report.nodes, 2);
    assert.equal(report.accounts, 3, "it signs for the devnet's wallets");
    assert.ok(report.applied > 0);
    assert.equal(report.rejected, 0);
    // After the prewarm the wallets' next seqs come from the nodes again, so nothing was refused.
    assert.deepEqual(report.refused, {});
    assert.ok(report.prewarm.applied > 0, JSON.stringify(report.prewarm));

    // The same devnet described with one wallet: a ring of one would pay itself.
    const file = JSON.parse(await readFile(devnetJson, "utf8")) as { wallets: unknown[] };
    const oneWallet = join(devnet.dir, "one-wallet.json");
    await writeFile(oneWallet, JSON.stringify({ ...file, wallets: file.wallets.slice(0, 1) }));
    const refused = await runCli(["bench", "--devnet", oneWallet, "--duration", "2", "--json"]);
    assert.equal(refused.code, 1, refused.stderr);
    const error = JSON.parse(refused.stderr) as { code: string; message: string };
    assert.equal(error.code, "INVALID_CONFIG");
    assert.match(error.message, /at least 2 wallets.*--wallets/);
  } finally {
    await devnet.stop();
  }
});
