import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { PerfSampleReader, type PerfSummary, perfSummaryMarkdown } from "../analysis/perfSamples.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";

const PROJECT_ROOT = resolve(import.meta.dirname, "../..");
/** Samples per second per CPU: enough for percent-level shares in a 20-second window, a few MB of data. */
const SAMPLE_HZ = 999;
/** Entries of the summary's symbol lists. */
const TOP = 15;
/** Stopping perf writes its buffers out; longer than this means it is stuck. */
const STOP_TIMEOUT_MS = 30_000;

/** `tally bench --perf DIR`: the recording and what it shows. */
export interface PerfReport extends PerfSummary {
  readonly dir: string;
  readonly data: string;
  readonly summary: string;
}

/**
 * `perf record` on running processes: every thread, with call chains, stamped with the machine's monotonic
 * clock — the clock the bench's window is on — so the samples can be cut to the window afterwards.
 */
export class PerfRecording {
  readonly data: string;
  private readonly child: ChildProcess;
  private readonly exited: Promise<{ code: number | null; stderr: string }>;

  private constructor(data: string, child: ChildProcess) {
    this.data = data;
    this.child = child;
    const stderr = stderrHead(child);
    this.exited = new Promise((resolveExit, reject) => {
      child.once("error", (e: NodeJS.ErrnoException) =>
        reject(
          e.code === "ENOENT"
            ? new TallyError(ErrorCode.BenchFailed, "--perf needs Linux perf: `perf` is not on the PATH")
            : e,
        ),
      );
      child.once("exit", (code) => resolveExit({ code, stderr: stderr() }));
    });
    // Read the outcome even if nobody stops the recording (an early failure), so it is never unhandled.
    this.exited.catch(() => undefined);
  }

  /** Fails now, before any load, when `perf` cannot be run at all. */
  static checkInstalled(): void {
    const probe = spawnSync("perf", ["--version"], { stdio: "ignore" });
    if (probe.error !== undefined || probe.status !== 0)
      throw new TallyError(ErrorCode.BenchFailed, "--perf needs Linux perf: `perf --version` does not run");
  }

  static start(pids: readonly number[], dir: string): PerfRecording {
    const data = join(dir, "perf.data");
    const args = [
      "record",
      "-F",
      String(SAMPLE_HZ),
      "-g",
      "-k",
      "CLOCK_MONOTONIC",
      "-o",
      data,
      "-p",
      pids.join(","),
    ];
    return new PerfRecording(data, spawn("perf", args, { stdio: ["ignore", "ignore", "pipe"] }));
  }

  /** A run that failed: the recording stops without a check (no-op once stopped). */
  abandon(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGINT");
  }

  /** Stops the recording (SIGINT: perf writes out what it holds) and checks that it recorded something. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill("SIGINT");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    try {
      const { stderr } = await this.exited;
      const size = await stat(this.data).then(
        (s) => s.size,
        () => 0,
      );
      if (size === 0)
        throw new TallyError(
          ErrorCode.BenchFailed,
          `perf record wrote nothing: ${firstLine(stderr) || "no message"} (is kernel.perf_event_paranoid too high?)`,
        );
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * After the nodes stopped: the recording cut to the window (monotonic µs), read through `perf script` a line at
 * a time, summed into `dir/perf-summary.md`. Then the nodes' JIT symbol maps (`/tmp/perf-PID.map`, written
 * because they ran with `--perf-basic-prof`) are removed: `perf script` was their only reader.
 */
export async function writePerfReport(
  recording: PerfRecording,
  dir: string,
  title: string,
  pids: readonly number[],
  window: { readonly fromMicros: number; readonly toMicros: number } | undefined,
): Promise<PerfReport> {
  const reader = new PerfSampleReader({
    projectRoot: PROJECT_ROOT,
    top: TOP,
    window: window && { fromSec: window.fromMicros / 1e6, toSec: window.toMicros / 1e6 },
  });
  try {
    await readPerfScript(recording.data, (line) => reader.line(line));
  } finally {
    await removePerfMaps(pids);
  }
  const summary = reader.finish();
  if (summary.samples === 0)
    throw new TallyError(ErrorCode.BenchFailed, `--perf ${dir}: no sample of the nodes inside the window`);
  const file = join(dir, "perf-summary.md");
  await writeFile(file, perfSummaryMarkdown(summary, title));
  return { dir, data: recording.data, summary: file, ...summary };
}

/** The JIT symbol maps `--perf-basic-prof` made the nodes write. */
export async function removePerfMaps(pids: readonly number[]): Promise<void> {
  await Promise.all(pids.map((pid) => rm(`/tmp/perf-${pid}.map`, { force: true })));
}

async function readPerfScript(data: string, onLine: (line: string) => void): Promise<void> {
  const child = spawn("perf", ["script", "-i", data, "-F", "comm,tid,time,ip,sym,dso"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stderr = stderrHead(child);
  const exited = new Promise<number | null>((resolveExit, reject) => {
    child.once("error", reject);
    child.once("exit", resolveExit);
  });
  for await (const line of createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY }))
    onLine(line);
  const code = await exited;
  if (code !== 0) throw new TallyError(ErrorCode.BenchFailed, `perf script failed: ${firstLine(stderr())}`);
}

/** The first 4 KB of a child's stderr (perf's messages), read as it comes; call the result for the text. */
function stderrHead(child: ChildProcess): () => string {
  let text = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    if (text.length < 4_096) text += d;
  });
  return () => text;
}

function firstLine(text: string): string {
  return text.split("\n").find((l) => l.trim() !== "") ?? "";
}
