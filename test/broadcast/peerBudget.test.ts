import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PeerBudget } from "../../src/broadcast/instance/peerBudget.ts";

describe("per-peer token buckets", () => {
  it("spend a burst, then refill at the rate", () => {
    const budget = new PeerBudget({ perSecond: 2, burst: 3 });
    assert.deepEqual(
      [1, 2, 3, 4].map(() => budget.take("p", 0)),
      [true, true, true, false],
    );
    assert.equal(budget.take("p", 499), false, "half a token is not a token");
    assert.equal(budget.take("p", 500), true);
    assert.equal(budget.take("q", 500), true, "another peer has its own bucket");
  });

  it("stay bounded under churn: refilled buckets are swept, active ones kept with their debt", () => {
    const budget = new PeerBudget({ perSecond: 1, burst: 1 });
    // 10,000 peers come and go, one a millisecond: each bucket refills within a second of its use.
    for (let i = 0; i < 10_000; i++) budget.take(`churn-${i}`, i);
    assert.ok(budget.size <= 4_096 + 1, `${budget.size} buckets held`);
    // A peer that spent its token just now is still refused after a sweep: sweeping forgets no debt.
    const fresh = new PeerBudget({ perSecond: 1 / 600, burst: 1 });
    assert.equal(fresh.take("spender", 0), true);
    for (let i = 0; i < 5_000; i++) fresh.take(`other-${i}`, 1);
    assert.equal(fresh.take("spender", 2), false);
    assert.ok(fresh.size > 4_096, "nothing had refilled, so nothing was swept");
  });
});
