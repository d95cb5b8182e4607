/**
 * Group commit for the node's processing loop (docs/architecture.md, "Processing loop"). A step costs a
 * fsynced LevelDB write, frames to its peers and event-stream writes whatever its size, so when only a small
 * backlog waits, a busy node starts the next step no sooner than `minIntervalMs` after the previous one began;
 * a backlog of `maxWaitingEvents` or more goes at once, so a loaded node never waits.
 *
 * 8 ms: on a 4-node devnet at half saturation the node took ~350 steps/s of ~10 events each; at most one step per
 * 8 ms cut its CPU per transfer by about a quarter for ≈ 10 ms more latency. At saturation steps hold hundreds of
 * events and never wait.
 *
 * The wait scales with how busy the node's event loop has been (`load`, 0–1): none below IDLE_LOAD, the whole
 * interval from BUSY_LOAD on, in proportion between. A transfer crosses three or four steps on each node
 * (its payload, the echoes, the readies), so on a node with CPU to spare the interval was most of a transfer's
 * latency (4-node devnet at 10 transfers/s: p50 23 ms with it, 12.5 without, the same CPU); where the CPU is
 * scarce the node still buys it back with larger steps. Fewer steps make the loop less busy and more steps
 * make it busier, so the wait settles where the two balance. Who keeps the loop busy does not matter: a peer's
 * trickle of messages can make an idle node step more often, but only until its loop is a quarter to half
 * busy; from there on steps are spaced the whole interval apart, as they always were.
 */
export const MIN_STEP_INTERVAL_MS = 8;
export const GROUP_COMMIT_EVENTS = 256;
/** Event-loop utilisation below which a step never waits for the interval. */
export const IDLE_LOAD = 0.25;
/** Event-loop utilisation from which a step waits the whole interval. */
export const BUSY_LOAD = 0.5;

export interface GroupCommitOptions {
  readonly minIntervalMs?: number;
  readonly maxWaitingEvents?: number;
  /** The share of recent wall time the node's event loop was busy, 0–1 (`LoopLoad.current`). */
  readonly load: (nowMs: number) => number;
}

export class GroupCommit {
  private readonly minIntervalMs: number;
  private readonly maxWaitingEvents: number;
  private readonly load: (nowMs: number) => number;
  private lastStepAtMs = Number.NEGATIVE_INFINITY;

  constructor(options: GroupCommitOptions) {
    this.minIntervalMs = options.minIntervalMs ?? MIN_STEP_INTERVAL_MS;
    this.maxWaitingEvents = options.maxWaitingEvents ?? GROUP_COMMIT_EVENTS;
    this.load = options.load;
  }

  /** How long the next step should wait, given the events waiting now; 0 to start at once. */
  delayMs(waitingEvents: number, nowMs: number): number {
    if (waitingEvents >= this.maxWaitingEvents) return 0;
    const sinceLastMs = nowMs - this.lastStepAtMs;
    if (sinceLastMs >= this.minIntervalMs) return 0; // no need to ask how busy the loop is
    const interval = this.minIntervalMs * busyShare(this.load(nowMs));
    return Math.max(0, interval - sinceLastMs);
  }

  /** A step begins. */
  stepStarted(nowMs: number): void {
    this.lastStepAtMs = nowMs;
  }
}

/** 0 below IDLE_LOAD, 1 from BUSY_LOAD, linear between (a NaN load counts as busy). */
function busyShare(load: number): number {
  if (load < IDLE_LOAD) return 0;
  if (!(load < BUSY_LOAD)) return 1;
  return (load - IDLE_LOAD) / (BUSY_LOAD - IDLE_LOAD);
}
