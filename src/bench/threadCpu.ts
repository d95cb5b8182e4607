import { readdirSync, readFileSync } from "node:fs";
import { clockTicksPerSecond, parseProcStat } from "./procStats.ts";

/**
 * A process's CPU by the role of its threads, in microseconds. A node's CPU is not all its JavaScript: V8
 * collects garbage and compiles on helper threads, and libuv's pool runs the file system and LevelDB (its
 * writes, fsyncs and compactions). A CPU profile samples the main thread only, so this is the way to see the
 * rest.
 */
export interface ThreadCpu {
  /** The thread whose id is the process id: the event loop, where all JavaScript runs. */
  readonly main: number;
  /** V8's helper threads (`V8Worker`): concurrent and parallel garbage collection, background compilation. */
  readonly v8: number;
  /** libuv's pool (`libuv-worker`), and the threads it starts (LevelDB's compaction). */
  readonly libuv: number;
  /** Everything else (the inspector, signal handling, …). */
  readonly other: number;
}

export type ThreadRole = keyof ThreadCpu;

/** The role of a thread, from its id and its name (`comm`, at most 15 characters). */
export function threadRole(pid: number, tid: number, name: string): ThreadRole {
  if (tid === pid) return "main";
  if (name.startsWith("V8")) return "v8";
  if (name.startsWith("libuv")) return "libuv";
  return "other";
}

/** A thread's stat line has the process's format (procStats.ts). */
export const parseThreadStat = parseProcStat;

/**
 * CPU used so far by the process's live threads, by role; undefined once the process is gone. A thread that
 * exits takes its CPU with it, so a difference of two readings can come out below zero for a role whose
 * threads come and go (none of a node's do in steady state): `threadCpuDelta` clamps at zero.
 */
export function threadCpuMicros(pid: number, procRoot = "/proc"): ThreadCpu | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`${procRoot}/${pid}/task`);
  } catch {
    return undefined;
  }
  const ticks = { main: 0, v8: 0, libuv: 0, other: 0 };
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`${procRoot}/${pid}/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread exited between the listing and the read
    }
    const parsed = parseThreadStat(stat);
    if (parsed !== undefined) ticks[threadRole(pid, Number(tid), parsed.name)] += parsed.ticks;
  }
  const micros = 1e6 / clockTicksPerSecond();
  return byRole((role) => ticks[role] * micros);
}

/** A `ThreadCpu` with each role's figure computed by `f`. */
export function byRole(f: (role: ThreadRole) => number): ThreadCpu {
  return { main: f("main"), v8: f("v8"), libuv: f("libuv"), other: f("other") };
}

/** `after − before` per role, never below zero, each mapped through `f`. */
export function threadCpuDelta(
  before: ThreadCpu,
  after: ThreadCpu,
  f: (micros: number) => number = (x) => x,
): ThreadCpu {
  return byRole((role) => f(Math.max(0, after[role] - before[role])));
}
