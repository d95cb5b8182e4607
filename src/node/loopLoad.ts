import { performance } from "node:perf_hooks";

/** The shortest span a load figure is taken over: shorter ones are one callback's noise. */
export const LOAD_WINDOW_MS = 100;

/** Cumulative milliseconds the event loop spent waiting for I/O and running callbacks since the process began. */
export interface LoopTimes {
  readonly idle: number;
  readonly active: number;
}

const fromNode = (): LoopTimes => performance.eventLoopUtilization();

/**
 * How busy the node's event loop has been lately: the share of wall time it spent running callbacks (libuv's
 * event-loop utilisation) over the last span of at least LOAD_WINDOW_MS. Read lazily, when the processing loop
 * asks: after a quiet spell the first read covers the whole of it. On a machine short of cores the figure
 * includes time the thread was runnable but descheduled, which is the time a step wait saves for others.
 */
export class LoopLoad {
  private readonly read: () => LoopTimes;
  private windowStart: LoopTimes;
  private windowStartMs: number;
  private last = 0;

  constructor(nowMs: number, read: () => LoopTimes = fromNode) {
    this.read = read;
    this.windowStart = read();
    this.windowStartMs = nowMs;
  }

  /** 0–1: the last completed window's busy share (0 until a window has passed). */
  readonly current = (nowMs: number): number => {
    if (nowMs - this.windowStartMs >= LOAD_WINDOW_MS) {
      const now = this.read();
      const active = now.active - this.windowStart.active;
      const total = active + (now.idle - this.windowStart.idle);
      this.last = total > 0 ? active / total : 0;
      this.windowStart = now;
      this.windowStartMs = nowMs;
    }
    return this.last;
  };
}
