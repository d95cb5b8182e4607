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

  test("an instance delivered after a re-send is not a sample (Karn's rule)", () => {
    const r = timer();
    r.schedule("once", 0);
    r.cancel("once", 50);
    r.schedule("resent", 100);
    assert.deepEqual(resentAt(r, 1_100), ["resent"]);
    const backedOff = r.firstDelayMs;
    r.cancel("resent", 25_000);
    assert.equal(
      r.firstDelayMs,
      backedOff,
      "a 25 s delivery after a re-send neither moves nor clears the delay",
    );
    r.schedule("clean", 26_000);
    r.cancel("clean", 26_050);
    assert.equal(r.firstDelayMs, 1_000, "the estimate saw only the two 50 ms deliveries");
  });

  test("after a timeout, the next new instance's first re-send waits twice as long", () => {
    const r = timer();
    r.schedule("lost", 0);
    assert.deepEqual(resentAt(r, 1_000), ["lost"]);
    assert.equal(r.firstDelayMs, 2_000);
    r.schedule("next", 1_000);
    assert.ok(!resentAt(r, 2_999).includes("next"), "not re-sent after the old 1 s delay");
    assert.ok(resentAt(r, 3_000).includes("next"), "re-sent after the backed-off 2 s");
  });

  test("further timeouts keep doubling the first delay up to maxMs; a burst doubles it once", () => {
    const r = timer();
    let nowMs = 0;
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) {
      // A burst of instances scheduled under the same delay, all timing out in the same tick.
      const delayMs = r.firstDelayMs;
      for (let j = 0; j < 10; j++) r.schedule(`i${i}.${j}`, nowMs);
      nowMs += delayMs;
      assert.equal(resentAt(r, nowMs).filter((key) => key.startsWith(`i${i}.`)).length, 10);
      seen.push(r.firstDelayMs);
    }
    assert.deepEqual(seen, [2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000]);
  });

  test("the first clean sample after timeouts hands the first delay back to the estimate", () => {
    const deliveries = (r: Retransmissions): void => {
      for (let i = 0; i < 40; i++) {
        r.schedule(`slow${i}`, i * 100);
        r.cancel(`slow${i}`, i * 100 + 3_000 + (i % 3) * 1_000);
      }
    };
    const r = timer();
    const estimateOnly = timer();
    deliveries(r);
    deliveries(estimateOnly);
    const estimated = r.firstDelayMs;
    r.schedule("timesOut", 10_000);
    assert.deepEqual(resentAt(r, 10_000 + estimated), ["timesOut"]);
    assert.equal(r.firstDelayMs, Math.min(30_000, estimated * 2), "backed off from the estimate");
    r.schedule("clean", 20_000);
    r.cancel("clean", 24_000);
    estimateOnly.schedule("clean", 20_000);
    estimateOnly.cancel("clean", 24_000);
    assert.equal(r.firstDelayMs, estimateOnly.firstDelayMs, "the timeout left no trace in the estimate");
  });

  test("a sudden load spike stops re-sending every new instance once the delay has backed off", () => {
    // Fast deliveries (40 ms) until t = 10 s, then every instance takes 5 s: with the 1 s delay of the fast
    // period and no clean sample, every instance of the spike would be re-sent.
    const r = timer();
    const deliverAt = new Map<string, number>();
    const resent = new Set<string>();
    for (let nowMs = 0; nowMs < 60_000; nowMs += 100) {
      const key = `t${nowMs}`;
      r.schedule(key, nowMs);
      deliverAt.set(key, nowMs + (nowMs < 10_000 ? 40 : 5_000));
      for (const [pending, atMs] of deliverAt) {
        if (atMs > nowMs) continue;
        r.cancel(pending, atMs);
        deliverAt.delete(pending);
      }
      r.resendDue(nowMs, (due) => {
        resent.add(due);
        return 1;
      });
    }
    const late = [...resent].filter((key) => Number(key.slice(1)) >= 30_000);
    assert.ok(resent.size > 0, "the spike's first instances time out");
    assert.deepEqual(late, [], "20 s into the spike, no new instance is re-sent");
  });
});
