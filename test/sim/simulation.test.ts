import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { EventQueue } from "../../src/sim/eventQueue.ts";
import { latencyModel } from "../../src/sim/latency.ts";
import { brachaFactory } from "../../src/sim/protocols.ts";
import { type Adversary, Simulation, type SimulationOptions } from "../../src/sim/simulation.ts";

function simulate(overrides: Partial<SimulationOptions> = {}) {
  return new Simulation({
    nodes: 31,
    byzantine: 0.2,
    adversary: "silent",
    protocol: brachaFactory(),
    broadcasts: 6,
    seed: 7,
    latency: latencyModel("uniform", 50),
    meanLatencyMs: 50,
    intervalMs: 400,
    ...overrides,
  }).run();
}

function withoutWallClock(r: ReturnType<typeof simulate>) {
  return { ...r, wallSeconds: 0, messagesPerSecond: 0 };
}

describe("event queue", () => {
  it("keeps events of one millisecond in insertion order, across milliseconds in time order", () => {
    const q = new EventQueue<string>();
    q.push(5.9, "a");
    q.push(5.1, "b");
    q.push(3.5, "c");
    q.push(7, "d");
    assert.equal(q.peekTime(), 3.5);
    assert.deepEqual([q.pop(), q.pop(), q.pop()], ["c", "a", "b"]);
    q.push(1, "late"); // scheduled in the past: runs now, never lost
    assert.deepEqual([q.pop(), q.pop(), q.pop()], ["late", "d", undefined]);
    assert.equal(q.size, 0);
  });

  it("pops in time order, ties in insertion order", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (times) => {
        const q = new EventQueue<number>();
        for (const [i, t] of times.entries()) q.push(t, i);
        const out: number[] = [];
        for (let x = q.pop(); x !== undefined; x = q.pop()) out.push(x);
        const expected = times.map((t, i) => [t, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        assert.deepEqual(
          out,
          expected.map(([, i]) => i),
        );
      }),
    );
  });
});

describe("simulator (Bracha baseline)", () => {
  for (const adversary of ["silent", "equivocate", "ready-flood"] as Adversary[]) {
    it(`${adversary}: no violations, and every correct broadcast is delivered everywhere`, () => {
      const r = simulate({ adversary });
      assert.deepEqual(r.violations, { validity: 0, consistency: 0, totality: 0 });
      if (adversary !== "equivocate") assert.equal(r.deliveredFraction, 1);
      // Every node sends ECHO and READY to the N−1 others; the introducer also sends N−1 SENDs.
      assert.ok(r.messagesPerNodePerBroadcast.mean >= 2 * 30 * 0.9, `${r.messagesPerNodePerBroadcast.mean}`);
      assert.ok(r.messagesPerNodePerBroadcast.mean <= 3 * 30, `${r.messagesPerNodePerBroadcast.mean}`);
    });
  }

  it("is a pure function of its seed", () => {
    assert.deepEqual(withoutWallClock(simulate({ seed: 3 })), withoutWallClock(simulate({ seed: 3 })));
    assert.notDeepEqual(
      withoutWallClock(simulate({ seed: 3 })).latencyMs,
      withoutWallClock(simulate({ seed: 4 })).latencyMs,
    );
  });

  it("reports latency in hops: three message delays under constant latency", () => {
    const r = simulate({ latency: latencyModel("constant", 20), meanLatencyMs: 20, byzantine: 0 });
    assert.equal(r.latencyHops.p50, 3);
    assert.equal(r.latencyMs.p99, 60);
  });
});
