import { performance } from "node:perf_hooks";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { ApplyBook, percentile } from "./applyBook.ts";
import type { BenchTarget } from "./benchTarget.ts";
import { type SubmitFormat, signWorkload, type WorkloadKind, workloadKind } from "./benchWorkload.ts";
import { type GcFigures, gcFiguresBetween, meanGcFigures } from "./gcFigures.ts";
import { LoadDriver, type LoadOptions } from "./loadDriver.ts";
import { busyPercentBetween, type MachineCpu, readMachineCpu } from "./machineCpu.ts";
import { NodeProbe, type NodeSnapshot, STEP_PHASES, type StepPhase, type StepSeconds } from "./nodeProbe.ts";
import { clockTicksPerSecond, type RssSeries, RssTracker, round1, round2 } from "./procStats.ts";
import { ProgressLine, type ProgressSink } from "./progressLine.ts";
import { SseTracker } from "./sseTracker.ts";
import { byRole, type ThreadCpu, threadCpuDelta } from "./threadCpu.ts";
import { verifyMicros, verifySample } from "./verifyCost.ts";

export interface DevnetBenchOptions extends LoadOptions {
  readonly durationSec: number;
  readonly warmupSec: number;
  /**
   * false: the old workload, no transfer references what its account received. An upper bound without dep
   * bookkeeping, but every node's set of unreferenced payments grows by one per transfer. Default true.
   */
  readonly withDeps?: boolean | undefined;
  /** How transfers are submitted: binary batch bodies (default) or JSON ones. */
  readonly submit?: SubmitFormat | undefined;
  /** Stops the run early (Ctrl-C): it then fails with BenchFailed after tearing down. */
  readonly signal?: AbortSignal | undefined;
  readonly progress?: ProgressSink | undefined;
  /** The measured window on the machine's monotonic clock, in µs (what V8's CPU profiles are stamped with). */
  readonly onWindow?: ((fromMicros: number, toMicros: number) => void) | undefined;
  /**
   * Return only once every transfer a node took is settled, or fail: a run that comes after this one signs
   * from the accounts' next seqs as the nodes report them, which must not be held by a transfer in flight.
   */
  readonly settleAll?: boolean | undefined;
}

/**
 * Saturation signs for this many transfers/s over warmup + duration: above what 2 shared cores can apply
 * whatever the node count (every node verifies and applies every transfer). A run that gets through them
 * all says so (`ranDry`) and its rate is then a lower bound.
 */
export const SATURATION_CEILING_PER_SEC = 6_000;
/** 10 % over rate × (warmup + duration): the window ends a little after `duration` (snapshots). */
const PRESIGN_MARGIN = 1.1;
/** The machine's monotonic clock in µs: what V8 stamps its CPU profiles with. */
const monotonicMicros = (): number => Number(process.hrtime.bigint() / 1000n);

/**
 * How many transfers a run signs before its clock: `rate` (saturation's ceiling when none) over warmup +
 * duration, plus the margin. The CLI bounds it, the bench signs it and an attached devnet's wallets must pay it.
 */
export function presignCount(rate: number | undefined, warmupSec: number, durationSec: number): number {
  return Math.ceil((rate ?? SATURATION_CEILING_PER_SEC) * (warmupSec + durationSec) * PRESIGN_MARGIN);
}

/** After the window, how long the run waits for the transfers it submitted inside it to apply everywhere. */
const DRAIN_TIMEOUT_MS = 15_000;

export interface NodeFigures {
  readonly name: string;
  readonly pid: number;
  readonly cpuMicrosPerTransfer: number;
  /** The same CPU by thread role (threadCpu.ts): main thread, V8 helpers, libuv pool, other. */
  readonly threadMicrosPerTransfer: ThreadCpu;
  /** Main-thread garbage-collection pauses per applied transfer (µs, wall clock), when /metrics has them. */
  readonly gcPauseMicrosPerTransfer?: number;
  /** The same pauses by V8's kind of collection: how many a second, how long each, when /metrics has them. */
  readonly gcPauses?: GcFigures;
  /** CPU time over wall time in the window, in % of one core. */
  readonly cpuPercent: number;
  /** Share of the window the node's event loop ran callbacks (%), what its group commit follows, when /metrics has it. */
  readonly loopBusyPercent?: number;
  readonly messagesPerTransfer: number;
  readonly bytesPerTransfer: number;
  readonly framesPerTransfer: number;
  /** LevelDB writes (puts and deletes) per applied transfer, from `tally_storage_writes_total`. */
  readonly storageWritesPerTransfer: number;
  /** Transfer signatures the node checked per applied transfer (`tally_signature_checks`), when exposed. */
  readonly signatureChecksPerTransfer?: number;
  /** Processing steps that wrote (`tally_storage_batches_total`) per second of the window. */
  readonly stepsPerSec: number;
  /** Mean wall time of a step in the window by phase (ms), when /metrics has it. */
  readonly stepMs?: StepMs;
  readonly rssMB: RssSeries;
  /** V8 heap in use at the window's start and end (MB, 10^6 bytes), when the node's /metrics has it. */
  readonly heapUsedMB?: { readonly start: number; readonly end: number };
}

/** Where a processing step's wall time went, ms per step: group-commit wait, handling, fsynced write, sending. */
export type StepMs = Readonly<Record<StepPhase, number>>;

/** `--prewarm S`: the saturating load the nodes ran before this run's warm-up (`prewarm.ts`). */
export interface PrewarmFigures {
  readonly sec: number;
  /** Transfers applied on every node during it, and per second of it; 0 when there was none. */
  readonly applied: number;
  readonly appliedPerSec: number;
}

export interface DevnetBenchResult {
  /** Set by the command that ran a prewarm before this run (always, by `tally bench`). */
  readonly prewarm?: PrewarmFigures;
  readonly nodes: number;
  readonly broadcast: "bracha" | "contagion";
  readonly membership: "open" | "static";
  readonly mode: "saturation" | "rate";
  readonly rate: number | null;
  readonly inFlight: number;
  readonly batch: number;
  /** The batch bodies' format. */
  readonly submit: SubmitFormat;
  readonly accounts: number;
  readonly workload: WorkloadKind;
  /** Deps per transfer submitted over the run (warmup included): ≈ 1 with deps, 0 without. */
  readonly depsPerTransfer: number;
  readonly warmupSec: number;
  readonly durationSec: number;
  readonly presigned: number;
  readonly signPerSec: number;
  readonly submitted: number;
  readonly applied: number;
  readonly appliedPerSec: number;
  readonly unappliedAfterDrain: number;
  readonly refused: Readonly<Record<string, number>>;
  readonly retried: number;
  /** Refused as UNKNOWN_DEPENDENCY although every node had reported the dep applied, and sent again. */
  readonly unknownDependencyRetried: number;
  readonly rejected: number;
  readonly ranDry: boolean;
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
  /**
   * Submit → applied on the first node to apply it, over the same transfers as `latencyMs`: the
   * broadcast's own delay. What `latencyMs` adds to it is the wait for the slowest node.
   */
  readonly firstNodeLatencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
  };
  readonly cpuMicrosPerTransferPerNode: number;
  /**
   * cpuMicrosPerTransferPerNode by thread role: the main thread (all JavaScript, and the GC pauses in it),
   * V8's helper threads (concurrent and parallel GC, background compilation), libuv's pool (LevelDB), other.
   */
  readonly threadMicrosPerTransferPerNode: ThreadCpu;
  /** Of the main thread's share, its garbage-collection pauses (wall clock), when the nodes report them. */
  readonly gcPauseMicrosPerTransferPerNode: number | null;
  /**
   * Those pauses by V8's kind of collection (scavenges are `minor`, full mark-compacts `major`): pauses per
   * second per node and the mean pause, when the nodes report them.
   */
  readonly gcPausesPerNode: GcFigures | null;
  /** Mean share of the window the nodes' event loops ran callbacks (%), when they all report it. */
  readonly loopBusyPercentPerNode: number | null;
  /** CPU µs of one libsodium verify in the bench process, on the run's own signatures, before and after the load. */
  readonly verifyMicros: { readonly before: number; readonly after: number };
  /** cpuMicrosPerTransferPerNode in signature checks (over the mean of verifyMicros): steadier than µs. */
  readonly cpuPerTransferInVerifies: number;
  readonly rssMB: { readonly max: number; readonly perNode: readonly NodeFigures["rssMB"][] };
  readonly messagesPerTransferPerNode: number;
  readonly bytesPerTransferPerNode: number;
  /** Frames sent per applied transfer per node: how well messages were batched into stream writes. */
  readonly framesPerTransferPerNode: number;
  /** LevelDB writes (puts and deletes) per applied transfer per node, in fsynced steps. */
  readonly storageWritesPerTransferPerNode: number;
  /**
   * Signature checks per applied transfer per node: 1 is the floor (each transfer verified once, whichever
   * way it came); null against nodes that do not count them.
   */
  readonly signatureChecksPerTransferPerNode: number | null;
  /**
   * Steps per second per node, and applied transfers per step: a step's fsync, frames and event-stream
   * writes are paid whatever its size, so few transfers per step means a high CPU per transfer.
   */
  readonly stepsPerSecPerNode: number;
  readonly transfersPerStep: number;
  /**
   * Mean wall time of a node's processing step by phase, ms (`tally_step_seconds_total` / `tally_steps_total`
   * over the window): what a transfer waits at each hop through a node; null against nodes without them.
   */
  readonly stepMsPerNode: StepMs | null;
  readonly benchCpuMicrosPerTransfer: number;
  /**
   * The whole machine over the window, in % of all its cores' time: busy (from /proc/stat: anything that ran,
   * the nodes, the bench and everything else), the nodes' processes and the bench's own; null off Linux.
   */
  readonly machineCpuPercent: MachineCpuPercent | null;
  readonly clockTicksPerSec: number;
  readonly perNode: readonly NodeFigures[];
}

export interface MachineCpuPercent {
  readonly cores: number;
  readonly busy: number;
  readonly nodes: number;
  readonly bench: number;
}

/** Runs the load against `target` (already up and meshed) and measures it; does not close the target. */
export async function runDevnetBench(
  target: BenchTarget,
  options: DevnetBenchOptions,
): Promise<DevnetBenchResult> {
  const n = target.nodes.length;
  // Each account's share rounded up, and one more.
  const wanted = presignCount(options.rate, options.warmupSec, options.durationSec);
  const perAccount = Math.ceil(wanted / target.signers.length) + 1;
  const total = perAccount * target.signers.length;
  const signStart = performance.now();
  const submit = options.submit ?? "binary";
  const workload = signWorkload(target.signers, perAccount, target.network, options.withDeps ?? true, submit);
  const signPerSec = total / ((performance.now() - signStart) / 1000);
  const verifyInputs = verifySample(workload.bytes);
  const indexOf = new Map<string, number>();
  for (const [i, id] of workload.ids.entries()) indexOf.set(id, i);

  const book = new ApplyBook(total, n);
  const now = () => performance.now();
  const driver = new LoadDriver(
    target.nodes.map((x) => x.api),
    workload,
    book,
    options,
    now,
  );
  const trackers = target.nodes.map(
    (node, k) =>
      new SseTracker(
        node.api,
        (id, status, at) => {
          const i = indexOf.get(id);
          if (i !== undefined && book.resolved(k, i, status, at)) driver.settled(i, status === "applied");
        },
        now,
      ),
  );
  const probes = target.nodes.map((node) => new NodeProbe(node.api, node.pid));
  const rss = target.nodes.map((node) => new RssTracker(node.pid));
  const progress = new ProgressLine(options.progress, () => ({
    submitted: driver.submitted,
    applied: book.appliedEverywhere,
  }));
  const sampler = setInterval(() => {
    for (const r of rss) r.sample();
    progress.tick(now());
  }, 1000);
  try {
    // The unit the nodes' CPU is also given in, timed while the nodes are idle (and again after the drain).
    const verifyBefore = verifyMicros(verifyInputs);
    await Promise.all(trackers.map((t) => t.open()));
    const check = () => {
      if (options.signal?.aborted) throw new TallyError(ErrorCode.BenchFailed, "interrupted");
      const broken = driver.failed ?? trackers.find((t) => t.closedEarly)?.closedEarly;
      if (broken !== undefined) throw broken;
    };
    const t0 = now();
    progress.start(t0);
    driver.start();
    await sleepChecking(options.warmupSec * 1000, check);
    for (const r of rss) r.startWindow();
    const before = await snapshotAll(probes);
    const benchBefore = process.cpuUsage();
    const machineBefore = readMachineCpu();
    const start = now();
    const windowFrom = monotonicMicros();
    await sleepChecking(options.durationSec * 1000, check);
    const end = now();
    options.onWindow?.(windowFrom, monotonicMicros());
    const benchCpu = process.cpuUsage(benchBefore);
    const machineAfter = readMachineCpu();
    const after = await snapshotAll(probes);
    const ranDry = driver.ranDry;
    await driver.stop();
    // Latency is over every transfer submitted in the window: wait for the slow tail rather than cut it.
    await drain(book, start, end, check);
    if (options.settleAll === true) await settle(driver, check);
    progress.finish();
    const verifyAfter = verifyMicros(verifyInputs);
    const figures = book.window(start, end);
    const seconds = (end - start) / 1000;
    const applied = figures.applied;
    const perTransfer = (x: number) => (applied > 0 ? x / applied : Number.NaN);
    const perNode = target.nodes.map((node, k): NodeFigures => {
      const b = before[k]!;
      const a = after[k]!;
      return {
        name: node.name,
        pid: node.pid,
        cpuMicrosPerTransfer: round1(perTransfer(a.cpuMicros - b.cpuMicros)),
        threadMicrosPerTransfer: threadCpuDelta(b.threads, a.threads, (x) => round1(perTransfer(x))),
        ...(b.gcPauseMicros !== undefined && a.gcPauseMicros !== undefined
          ? { gcPauseMicrosPerTransfer: round1(perTransfer(a.gcPauseMicros - b.gcPauseMicros)) }
          : {}),
        ...(b.gcPauses !== undefined && a.gcPauses !== undefined
          ? { gcPauses: gcFiguresBetween(b.gcPauses, a.gcPauses, seconds) }
          : {}),
        cpuPercent: round1(((a.cpuMicros - b.cpuMicros) / 1e6 / seconds) * 100),
        ...(b.loopBusyMicros !== undefined && a.loopBusyMicros !== undefined
          ? { loopBusyPercent: round1(((a.loopBusyMicros - b.loopBusyMicros) / 1e6 / seconds) * 100) }
          : {}),
        messagesPerTransfer: round2(perTransfer(a.messagesOut - b.messagesOut)),
        bytesPerTransfer: round1(perTransfer(a.bytesOut - b.bytesOut)),
        framesPerTransfer: round2(perTransfer(a.framesOut - b.framesOut)),
        storageWritesPerTransfer: round2(perTransfer(a.storageWrites - b.storageWrites)),
        ...(b.signatureChecks !== undefined && a.signatureChecks !== undefined
          ? { signatureChecksPerTransfer: round2(perTransfer(a.signatureChecks - b.signatureChecks)) }
          : {}),
        stepsPerSec: round1((a.storageBatches - b.storageBatches) / seconds),
        ...(b.steps !== undefined && a.steps !== undefined && a.steps.count > b.steps.count
          ? { stepMs: stepMsBetween(b.steps, a.steps) }
          : {}),
        rssMB: rss[k]!.series(),
        ...(b.heapUsedBytes !== undefined && a.heapUsedBytes !== undefined
          ? { heapUsedMB: { start: round1(b.heapUsedBytes / 1e6), end: round1(a.heapUsedBytes / 1e6) } }
          : {}),
      };
    });
    const mean = (f: (x: NodeFigures) => number) => perNode.reduce((s, x) => s + f(x), 0) / n;
    const stepsPerSec = mean((x) => x.stepsPerSec);
    const cpuPerTransfer = mean((x) => x.cpuMicrosPerTransfer);
    const ms = (p: number) => round1(percentile(figures.latenciesMs, p));
    const firstMs = (p: number) => round1(percentile(figures.firstNodeLatenciesMs, p));
    return {
      nodes: n,
      broadcast: target.broadcast,
      membership: target.membership,
      mode: options.rate === undefined ? "saturation" : "rate",
      rate: options.rate ?? null,
      inFlight: options.inFlight,
      batch: options.batch,
      submit,
      accounts: target.signers.length,
      workload: workloadKind(workload),
      depsPerTransfer: round2(driver.submitted > 0 ? driver.submittedWithDeps / driver.submitted : 0),
      warmupSec: options.warmupSec,
      durationSec: round2(seconds),
      presigned: total,
      signPerSec: Math.round(signPerSec),
      submitted: figures.submitted,
      applied,
      appliedPerSec: round1(applied / seconds),
      unappliedAfterDrain: figures.unapplied,
      refused: driver.refused,
      retried: driver.retried,
      unknownDependencyRetried: driver.unknownDependencyRetried,
      rejected: book.rejections,
      ranDry,
      latencyMs: { p50: ms(50), p90: ms(90), p99: ms(99), max: ms(100) },
      firstNodeLatencyMs: { p50: firstMs(50), p90: firstMs(90), p99: firstMs(99) },
      cpuMicrosPerTransferPerNode: round1(cpuPerTransfer),
      threadMicrosPerTransferPerNode: byRole((role) => round1(mean((x) => x.threadMicrosPerTransfer[role]))),
      gcPauseMicrosPerTransferPerNode: perNode.every((x) => x.gcPauseMicrosPerTransfer !== undefined)
        ? round1(mean((x) => x.gcPauseMicrosPerTransfer!))
        : null,
      gcPausesPerNode: perNode.every((x) => x.gcPauses !== undefined)
        ? meanGcFigures(perNode.map((x) => x.gcPauses!))
        : null,
      loopBusyPercentPerNode: perNode.every((x) => x.loopBusyPercent !== undefined)
        ? round1(mean((x) => x.loopBusyPercent!))
        : null,
      verifyMicros: { before: round2(verifyBefore), after: round2(verifyAfter) },
      cpuPerTransferInVerifies: round2(cpuPerTransfer / ((verifyBefore + verifyAfter) / 2)),
      rssMB: { max: Math.max(...perNode.map((x) => x.rssMB.max)), perNode: perNode.map((x) => x.rssMB) },
      messagesPerTransferPerNode: round2(mean((x) => x.messagesPerTransfer)),
      bytesPerTransferPerNode: round1(mean((x) => x.bytesPerTransfer)),
      framesPerTransferPerNode: round2(mean((x) => x.framesPerTransfer)),
      storageWritesPerTransferPerNode: round2(mean((x) => x.storageWritesPerTransfer)),
      signatureChecksPerTransferPerNode: perNode.every((x) => x.signatureChecksPerTransfer !== undefined)
        ? round2(mean((x) => x.signatureChecksPerTransfer!))
        : null,
      stepsPerSecPerNode: round1(stepsPerSec),
      stepMsPerNode: perNode.every((x) => x.stepMs !== undefined)
        ? byPhase((phase) => round2(mean((x) => x.stepMs![phase])))
        : null,
      transfersPerStep: round1(stepsPerSec > 0 ? applied / seconds / stepsPerSec : Number.NaN),
      benchCpuMicrosPerTransfer: round1(perTransfer(benchCpu.user + benchCpu.system)),
      machineCpuPercent: machineShares(machineBefore, machineAfter, seconds, {
        nodes: after.reduce((sum, a, k) => sum + (a.cpuMicros - before[k]!.cpuMicros), 0),
        bench: benchCpu.user + benchCpu.system,
      }),
      clockTicksPerSec: clockTicksPerSecond(),
      perNode,
    };
  } finally {
    clearInterval(sampler);
    progress.finish();
    await driver.stop();
    for (const t of trackers) t.close();
  }
}

/** The machine's busy share and the nodes' and the bench's shares of it (µs of CPU over the window). */
function machineShares(
  before: MachineCpu | undefined,
  after: MachineCpu | undefined,
  seconds: number,
  micros: { readonly nodes: number; readonly bench: number },
): MachineCpuPercent | null {
  if (before === undefined || after === undefined) return null;
  const busy = busyPercentBetween(before, after);
  if (busy === undefined || !(seconds > 0)) return null;
  const ofAllCores = (x: number) => round1((100 * x) / 1e6 / seconds / after.cores);
  return {
    cores: after.cores,
    busy: round1(busy),
    nodes: ofAllCores(micros.nodes),
    bench: ofAllCores(micros.bench),
  };
}

async function snapshotAll(probes: readonly NodeProbe[]): Promise<NodeSnapshot[]> {
  return Promise.all(probes.map((p) => p.snapshot()));
}

async function sleepChecking(ms: number, check: () => void): Promise<void> {
  const until = performance.now() + ms;
  for (;;) {
    check();
    const left = until - performance.now();
    if (left <= 0) return;
    await new Promise((r) => setTimeout(r, Math.min(left, 100)));
  }
}

/** Polls `done` every 100 ms for up to DRAIN_TIMEOUT_MS (running `check` each time); whether it came true. */
async function waitUntil(done: () => boolean, check: () => void): Promise<boolean> {
  const deadline = performance.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    check();
    if (done()) return true;
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Latency covers every transfer submitted in the window: wait for the slow tail (up to the timeout). */
async function drain(book: ApplyBook, start: number, end: number, check: () => void): Promise<void> {
  await waitUntil(() => book.window(start, end).unapplied === 0, check);
}

async function settle(driver: LoadDriver, check: () => void): Promise<void> {
  if (!(await waitUntil(() => driver.unsettled <= 0, check)))
    throw new TallyError(
      ErrorCode.BenchFailed,
      `${driver.unsettled} transfers were still not applied everywhere ${DRAIN_TIMEOUT_MS} ms after the load`,
    );
}

function byPhase(value: (phase: StepPhase) => number): StepMs {
  return Object.fromEntries(STEP_PHASES.map((phase) => [phase, value(phase)])) as StepMs;
}

/** Mean ms per step by phase between two snapshots (the caller checks some step completed). */
function stepMsBetween(b: StepSeconds, a: StepSeconds): StepMs {
  const steps = a.count - b.count;
  return byPhase((phase) => round2(((a.seconds[phase] - b.seconds[phase]) * 1000) / steps));
}
