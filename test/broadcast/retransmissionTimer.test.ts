import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Retransmissions } from "../../src/broadcast/instance/retransmissions.ts";
import { seededRandom } from "./harness.ts";

function timer(): Retransmissions {
  return new Retransmissions({
    initialMs: 1_000,
    maxMs: 30_000,
    budgetPerTick: 1_000,
    random: seededRandom(1),
  });
}

/** The instances `resendDue` re-sends at `nowMs`. */
function resentAt(r: Retransmissions, nowMs: number): string[] {
  const keys: string[] = [];
  r.resendDue(nowMs, (key) => {
    keys.push(key);
    return 1;
  });
  return keys;
}

describe("retransmission timer", () => {
  test("deliveries that take milliseconds keep the first re-send at initialMs", () => {
    const r = timer();
    for (let i = 0; i < 50; i++) {
      r.schedule(`fast${i}`, i * 10);
      r.cancel(`fast${i}`, i * 10 + 40);
    }
    assert.equal(r.firstDelayMs, 1_000);
    r.schedule("lost", 1_000);
    assert.deepEqual(resentAt(r, 1_999), []);
    assert.deepEqual(resentAt(r, 2_000), ["lost"], "a lost vote is re-sent after 1 s, as before");
  });

  test("when every delivery takes seconds, an undelivered instance is not re-sent before that", () => {
    // An overloaded network: instances deliver after 3–5 s. A fixed 1 s timer would re-send every one of them.
    const r = timer();
    for (let i = 0; i < 40; i++) {
      r.schedule(`slow${i}`, i * 100);
      r.cancel(`slow${i}`, i * 100 + 3_000 + (i % 3) * 1_000);
    }
    assert.ok(r.firstDelayMs >= 5_000, `first re-send after ${r.firstDelayMs} ms`);
    assert.ok(r.firstDelayMs <= 30_000, "never beyond the cap");
    r.schedule("busy", 10_000);
    assert.deepEqual(resentAt(r, 14_000), [], "not re-sent while deliveries still take this long");
    assert.deepEqual(resentAt(r, 10_000 + r.firstDelayMs), ["busy"]);
  });

  test("an instance delivered after a re-send does not move the estimate (Karn's rule)", () => {
    const r = timer();
    r.schedule("once", 0);
    r.cancel("once", 50);
    const before = r.firstDelayMs;
    r.schedule("resent", 100);
    assert.deepEqual(resentAt(r, 1_100), ["resent"]);
    r.cancel("resent", 25_000);
    assert.equal(r.firstDelayMs, before, "a 25 s delivery after a re-send is not a sample");
  });
});
