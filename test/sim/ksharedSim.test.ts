import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AccountInbox } from "../../src/kshared/accountInbox.ts";
import {
  KSHARED_FAULTS,
  KSHARED_SIM_DEFAULTS,
  type KsharedSimSpec,
} from "../../src/sim/kshared/ksharedSimSpec.ts";
import { runKsharedComparison, runKsharedScenario } from "../../src/sim/kshared/ksharedSimulation.ts";

describe("a node's shared inbox for many accounts", () => {
  it("serves the accounts round-robin and drops only the flooding account's overflow", () => {
    const inbox = new AccountInbox<number, string>(4);
    for (let i = 0; i < 10; i++) inbox.offer(7, `flood ${i}`);
    inbox.offer(1, "a1");
    inbox.offer(1, "a2");
    inbox.offer(2, "b1");
    const order = Array.from({ length: 8 }, () => inbox.take()?.item);
    assert.deepEqual(order, ["flood 0", "a1", "b1", "flood 1", "a2", "flood 2", "flood 3", undefined]);
    assert.deepEqual([...inbox.dropped], [[7, 6]]);
  });
});

describe("many shared accounts at once: 2 faulty committees of 20 do not slow the others", () => {
  const spec: KsharedSimSpec = { ...KSHARED_SIM_DEFAULTS, accounts: 20, bad: 2, seconds: 4, seed: 7 };
  const baseline = runKsharedScenario(spec, false);

  for (const fault of KSHARED_FAULTS) {
    it(`fault: ${fault}`, () => {
      const report = runKsharedComparison({ ...spec, fault }, baseline);
      const { faulty, ratio } = report;
      assert.equal(faulty.correct.accounts, 18);
      assert.equal(faulty.correct.undecided, 0, "every correct account's proposal was decided");
      assert.ok(ratio.p99 <= 1.5, `correct p99 ${faulty.correct.p99Ms} ms vs ${baseline.correct.p99Ms} ms`);
      assert.ok(ratio.throughput >= 0.9, `correct throughput ratio ${ratio.throughput}`);
      const correctDrops = faulty.accounts.filter((a) => !a.bad).reduce((sum, a) => sum + a.inboxDropped, 0);
      assert.equal(correctDrops, 0, "no correct account lost a message to a full inbox");
      // The fault really happened, and it cost its own account.
      if (fault === "equivocate") {
        assert.ok(faulty.faults.equivocatedProposals > 0 && faulty.faults.equivocatedVotes > 0);
        assert.ok(faulty.evidence > 0, "correct owners recorded the equivocation");
      } else if (fault === "silent") {
        assert.ok(faulty.faults.suppressedMessages > 0);
        assert.ok(
          faulty.accounts.some((a) => a.bad && a.maxRoundsEntered > 0),
          "a silent leader's round timed out",
        );
      } else {
        assert.ok(faulty.faults.floodMessages > 0);
        assert.ok(faulty.inboxDroppedBad > 0, "the flood was cut by its account's inbox bound");
      }
      assert.ok(faulty.bad.p99Ms > faulty.correct.p99Ms, "the bad accounts themselves were slowed");
    });
  }

  it("control: without per-account fairness (one shared FIFO) the same flood does slow the others", () => {
    const fifo = { ...spec, fault: "flood" as const, inbox: "fifo" as const };
    const report = runKsharedComparison(fifo, baseline);
    assert.ok(report.ratio.p99 > 1.5, `correct p99 ratio ${report.ratio.p99}`);
  });
});
