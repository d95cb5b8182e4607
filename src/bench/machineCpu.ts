import { readFileSync } from "node:fs";

/**
 * The whole machine's CPU from the first line of Linux's /proc/stat, in clock ticks summed over every core:
 * what the bench reports beside the nodes' own CPU, because on a machine the nodes share with the bench (and
 * anything else) a latency figure means little without knowing how busy the cores were.
 */
export interface MachineCpu {
  /** Ticks spent running anything: user, nice, system, interrupts and stolen by the hypervisor. */
  readonly busyTicks: number;
  /** Busy ticks plus idle and I/O wait. */
  readonly totalTicks: number;
  /** Cores counted in /proc/stat (its `cpuN` lines). */
  readonly cores: number;
}

/**
 * Parses /proc/stat. The aggregate line is `cpu  user nice system idle iowait irq softirq steal guest
 * guest_nice`; guest time is already inside user and nice, so it is not added again. Undefined for text
 * without that line or with a field that is not a number (older kernels' shorter lines count missing fields
 * as 0).
 */
export function parseMachineCpu(stat: string): MachineCpu | undefined {
  const lines = stat.split("\n");
  const first = lines[0]?.trim().split(/\s+/);
  // At least user, nice, system and idle.
  if (first === undefined || first[0] !== "cpu" || first.length < 5) return undefined;
  const parts = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => (first[i] === undefined ? 0 : Number(first[i])));
  if (parts.some((x) => !Number.isFinite(x) || x < 0)) return undefined;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = parts;
  const busyTicks = user + nice + system + irq + softirq + steal;
  const cores = lines.filter((l) => /^cpu\d+\s/.test(l)).length;
  return { busyTicks, totalTicks: busyTicks + idle + iowait, cores: Math.max(cores, 1) };
}

/** The machine's CPU now; undefined where /proc/stat cannot be read (not Linux). */
export function readMachineCpu(): MachineCpu | undefined {
  try {
    return parseMachineCpu(readFileSync("/proc/stat", "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * The share of all cores' time that was busy between two readings, in % (0–100); undefined if no time passed
 * between them.
 */
export function busyPercentBetween(before: MachineCpu, after: MachineCpu): number | undefined {
  const total = after.totalTicks - before.totalTicks;
  if (!(total > 0)) return undefined;
  return (100 * (after.busyTicks - before.busyTicks)) / total;
}
