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

/** Resident set size in MB (VmRSS, 10^6 bytes); undefined once the process is gone. */
export function processRssMB(pid: number): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m === null ? undefined : (Number(m[1]) * 1024) / 1e6;
}

export interface RssSeries {
  readonly start: number;
  readonly end: number;
  readonly max: number;
  /** Within the measured window (after the warmup): its first sample, smallest and largest. */
  readonly window: { readonly start: number; readonly min: number; readonly max: number };
}

/** RSS samples of one process: the first, the last and the largest, enough to see whether it stays flat. */
export class RssTracker {
  private first: number | undefined;
  private last: number | undefined;
  private largest = 0;
  private inWindow = false;
  private windowFirst: number | undefined;
  private windowMin = Number.POSITIVE_INFINITY;
  private windowMax = 0;
  private readonly pid: number;

  constructor(pid: number) {
    this.pid = pid;
  }

  sample(): void {
    const mb = processRssMB(this.pid);
    if (mb === undefined) return;
    this.first ??= mb;
    this.last = mb;
    this.largest = Math.max(this.largest, mb);
    if (this.inWindow) {
      this.windowFirst ??= mb;
      this.windowMin = Math.min(this.windowMin, mb);
      this.windowMax = Math.max(this.windowMax, mb);
    }
  }

  /** The measured window starts: later samples also count towards `window`. Takes one sample now. */
  startWindow(): void {
    this.inWindow = true;
    this.sample();
  }

  series(): RssSeries {
    const windowStart = this.windowFirst ?? 0;
    return {
      start: round1(this.first ?? 0),
      end: round1(this.last ?? 0),
      max: round1(this.largest),
      window: {
        start: round1(windowStart),
        min: round1(Number.isFinite(this.windowMin) ? this.windowMin : 0),
        max: round1(this.windowMax),
      },
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
