import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * CPU and memory of a process from Linux's /proc. CPU time is utime + stime in clock ticks; the tick length
 * is read once from `getconf CLK_TCK` (100 on Linux in practice, assumed when getconf is missing).
 */
let ticksPerSecond: number | undefined;

export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
      ticksPerSecond = Number.isInteger(n) && n > 0 ? n : 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * One line of /proc/PID/stat or /proc/PID/task/TID/stat: the name and user + system CPU in clock ticks. The
 * name (field 2, in parentheses) may hold spaces and parentheses: fields are counted after its last ")".
 */
export function parseProcStat(stat: string): { name: string; ticks: number } | undefined {
  const open = stat.indexOf("(");
  const close = stat.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 once pid and name are dropped.
  const fields = stat.slice(close + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? { name: stat.slice(open + 1, close), ticks } : undefined;
}

/** User + system CPU the process has used so far, in microseconds; undefined once it is gone. */
export function processCpuMicros(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const parsed = parseProcStat(stat);
  return parsed === undefined ? undefined : (parsed.ticks * 1e6) / clockTicksPerSecond();
}

/**
 * Resident memory in MB (10^6 bytes), from `/proc/PID/status`: all of it (VmRSS), the process's own
 * (RssAnon: heaps, stacks, malloc) and pages of mapped files (RssFile: the binary, its libraries, LevelDB's
 * table files, which LevelDB reads through mmap). Undefined once the process is gone.
 */
export function processRss(pid: number): RssReading | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const total = statusMB(status, "VmRSS");
  if (total === undefined) return undefined;
  return { total, anonymous: statusMB(status, "RssAnon") ?? total, file: statusMB(status, "RssFile") ?? 0 };
}

export interface RssReading {
  readonly total: number;
  readonly anonymous: number;
  readonly file: number;
}

function statusMB(status: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status);
  return m === null ? undefined : (Number(m[1]) * 1024) / 1e6;
}

/** The first, smallest and largest of a series of samples. */
export interface SampleRange {
  readonly start: number;
  readonly min: number;
  readonly max: number;
}

export interface RssSeries {
  readonly start: number;
  readonly end: number;
  readonly max: number;
  /** Within the measured window (after the warmup): its first sample, smallest and largest. */
  readonly window: SampleRange & {
    /** The same samples' anonymous part: the node's own memory. */
    readonly anonymous: SampleRange;
    /** The same samples' file-backed part: mapped files, LevelDB's tables among them. */
    readonly file: SampleRange;
  };
}

/** Tracks one series of samples: the first, the smallest and the largest. */
class RangeTracker {
  private first: number | undefined;
  private min = Number.POSITIVE_INFINITY;
  private max = 0;

  add(value: number): void {
    this.first ??= value;
    this.min = Math.min(this.min, value);
    this.max = Math.max(this.max, value);
  }

  range(): SampleRange {
    return {
      start: round1(this.first ?? 0),
      min: round1(Number.isFinite(this.min) ? this.min : 0),
      max: round1(this.max),
    };
  }
}

/**
 * RSS samples of one process: the first, the last and the largest, enough to see whether it stays flat; inside
 * the window, its anonymous and file-backed parts too. They move for different reasons: the anonymous part
 * with the node's heaps, the file-backed part with the pages of the table files LevelDB has mapped, which rise
 * while a compaction reads its inputs and fall when it deletes them (docs/benchmarks.md, "Memory").
 */
export class RssTracker {
  private first: number | undefined;
  private last: number | undefined;
  private largest = 0;
  private inWindow = false;
  private readonly total = new RangeTracker();
  private readonly anonymous = new RangeTracker();
  private readonly file = new RangeTracker();
  private readonly pid: number;

  constructor(pid: number) {
    this.pid = pid;
  }

  sample(): void {
    const rss = processRss(this.pid);
    if (rss === undefined) return;
    const mb = rss.total;
    this.first ??= mb;
    this.last = mb;
    this.largest = Math.max(this.largest, mb);
    if (this.inWindow) {
      this.total.add(mb);
      this.anonymous.add(rss.anonymous);
      this.file.add(rss.file);
    }
  }

  /** The measured window starts: later samples also count towards `window`. Takes one sample now. */
  startWindow(): void {
    this.inWindow = true;
    this.sample();
  }

  series(): RssSeries {
    return {
      start: round1(this.first ?? 0),
      end: round1(this.last ?? 0),
      max: round1(this.largest),
      window: { ...this.total.range(), anonymous: this.anonymous.range(), file: this.file.range() },
    };
  }
}

export function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Two decimals, for ratios and per-transfer counts in the bench's JSON. */
export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
