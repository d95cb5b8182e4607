import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BUSY_LOAD,
  GROUP_COMMIT_EVENTS,
  GroupCommit,
  IDLE_LOAD,
  MIN_STEP_INTERVAL_MS,
} from "../../src/node/groupCommit.ts";
import { LOAD_WINDOW_MS, LoopLoad, type LoopTimes } from "../../src/node/loopLoad.ts";

describe("group commit", () => {
  it("on a busy node spaces small steps at least the interval apart, and lets a backlog go at once", () => {
    const commit = new GroupCommit({ load: () => BUSY_LOAD });
    assert.equal(commit.delayMs(1, 1_000), 0, "the first step never waits");
    commit.stepStarted(1_000);
    assert.equal(commit.delayMs(1, 1_002), MIN_STEP_INTERVAL_MS - 2);
    assert.equal(commit.delayMs(GROUP_COMMIT_EVENTS - 1, 1_002), MIN_STEP_INTERVAL_MS - 2);
    assert.equal(commit.delayMs(GROUP_COMMIT_EVENTS, 1_002), 0, "a large backlog is not held back");
    assert.equal(commit.delayMs(1, 1_000 + MIN_STEP_INTERVAL_MS), 0);
    assert.equal(commit.delayMs(1, 5_000), 0, "an idle node answers at once");
  });

  it("does not hold back the steps of a node with time to spare, and holds them longer the busier it is", () => {
    let load = 0;
    const commit = new GroupCommit({ load: () => load });
    commit.stepStarted(1_000);
    assert.equal(commit.delayMs(1, 1_000), 0, "an idle loop: the next hop of a transfer goes now");
    load = IDLE_LOAD - 0.01;
    assert.equal(commit.delayMs(1, 1_000), 0);
    load = (IDLE_LOAD + BUSY_LOAD) / 2;
    assert.equal(commit.delayMs(1, 1_000), MIN_STEP_INTERVAL_MS / 2, "half way: half the interval");
    assert.equal(commit.delayMs(1, 1_001), MIN_STEP_INTERVAL_MS / 2 - 1);
    load = 0.99;
    assert.equal(commit.delayMs(1, 1_000), MIN_STEP_INTERVAL_MS, "past BUSY_LOAD: the whole interval");
    load = Number.NaN;
    assert.equal(commit.delayMs(1, 1_000), MIN_STEP_INTERVAL_MS, "an unreadable load counts as busy");
  });

  it("waits for nothing with an interval of 0", () => {
    const commit = new GroupCommit({ minIntervalMs: 0, load: () => 1 });
    commit.stepStarted(10);
    assert.equal(commit.delayMs(1, 10), 0);
  });
});

describe("loop load", () => {
  it("is the busy share of the last window of at least LOAD_WINDOW_MS, read when asked", () => {
    let times: LoopTimes = { idle: 0, active: 0 };
    const load = new LoopLoad(0, () => times);
    times = { idle: 10, active: 30 };
    assert.equal(load.current(LOAD_WINDOW_MS - 1), 0, "no window has passed yet");
    times = { idle: 25, active: 75 };
    assert.equal(load.current(LOAD_WINDOW_MS), 0.75);
    times = { idle: 95, active: 80 };
    assert.equal(load.current(LOAD_WINDOW_MS + 50), 0.75, "the window in progress is not read");
    assert.equal(load.current(2 * LOAD_WINDOW_MS), 5 / 75, "a quiet spell after the busy one");
    assert.equal(load.current(10 * LOAD_WINDOW_MS), 0, "no time measured: not busy");
  });

  it("reads node's own event-loop figures", async () => {
    const load = new LoopLoad(Date.now());
    const until = Date.now() + LOAD_WINDOW_MS + 20;
    while (Date.now() < until) {
      // busy: the loop never goes back to waiting for I/O during this callback
    }
    // The figures advance once per turn of the loop; an immediate takes the next turn without waiting for I/O.
    await new Promise((resolve) => setImmediate(resolve));
    const busy = load.current(Date.now());
    assert.ok(busy > 0.5 && busy <= 1, `busy share ${busy}`);
  });
});
