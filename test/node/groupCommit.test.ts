import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GROUP_COMMIT_EVENTS, GroupCommit, MIN_STEP_INTERVAL_MS } from "../../src/node/groupCommit.ts";

describe("group commit", () => {
  it("spaces small steps at least the interval apart, and lets a backlog go at once", () => {
    const commit = new GroupCommit();
    assert.equal(commit.delayMs(1, 1_000), 0, "the first step never waits");
    commit.stepStarted(1_000);
    assert.equal(commit.delayMs(1, 1_002), MIN_STEP_INTERVAL_MS - 2);
    assert.equal(commit.delayMs(GROUP_COMMIT_EVENTS - 1, 1_002), MIN_STEP_INTERVAL_MS - 2);
    assert.equal(commit.delayMs(GROUP_COMMIT_EVENTS, 1_002), 0, "a large backlog is not held back");
    assert.equal(commit.delayMs(1, 1_000 + MIN_STEP_INTERVAL_MS), 0);
    assert.equal(commit.delayMs(1, 5_000), 0, "an idle node answers at once");
  });

  it("waits for nothing with an interval of 0", () => {
    const commit = new GroupCommit(0);
    commit.stepStarted(10);
    assert.equal(commit.delayMs(1, 10), 0);
  });
});
