import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { judgeHealth } from "../../../src/node/core/health.ts";

describe("health", () => {
  const running = { state: "running", quorumsReachable: true, shedMembers: 0, members: 4 } as const;

  it("is ready while running, connected and shedding at most the members the network tolerates faulty", () => {
    assert.deepEqual(judgeHealth(running), { status: "ready" });
    assert.equal(
      judgeHealth({ ...running, shedMembers: 1 }).status,
      "ready",
      "one flooder of 4 is tolerated",
    );
    assert.equal(judgeHealth({ ...running, members: 10, shedMembers: 3 }).status, "ready");
  });

  it("says why not: starting, isolated, shedding", () => {
    assert.deepEqual(judgeHealth({ ...running, state: "starting" }), {
      status: "starting",
      reason: "node is starting",
    });
    assert.equal(judgeHealth({ ...running, quorumsReachable: false }).status, "isolated");
    const shedding = judgeHealth({ ...running, shedMembers: 2 });
    assert.equal(shedding.status, "shedding");
    assert.match(shedding.reason ?? "", /2 members \(tolerated: 1\)/);
    assert.equal(judgeHealth({ ...running, members: 10, shedMembers: 4 }).status, "shedding");
  });
});
