import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { BroadcastAction } from "../../src/broadcast/types.ts";
import { EventQueue } from "../../src/sim/eventQueue.ts";
import { latencyModel } from "../../src/sim/latency.ts";
import { brachaFactory } from "../../src/sim/protocols.ts";
import {
  type Adversary,
  type ProtocolFactory,
  Simulation,
  type SimulationOptions,
} from "../../src/sim/simulation.ts";

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

/** Bracha whose `deliver` actions pass through `rewrite` at the node created `which`-th. */
function tampered(which: number, rewrite: (action: BroadcastAction) => BroadcastAction[]): ProtocolFactory {
  const honest = brachaFactory();
  let created = 0;
  return {
    ...honest,
    create: (context) => {
      const node = honest.create(context);
      if (created++ !== which) return node;
      const handle = node.handle.bind(node);
      node.handle = (event) => handle(event).flatMap((a) => (a.type === "deliver" ? rewrite(a) : [a]));
      return node;
    },
  };
}

describe("simulator accounting: what it counts as a violation", () => {
  const honest = { byzantine: 0, broadcasts: 4 };

  it("validity: a node that delivers another digest than the introduced one violates it", () => {
    assert.deepEqual(simulate(honest).violations, { validity: 0, consistency: 0, totality: 0 });
    // One node delivers every instance with the digest flipped: a delivery, but not of what was introduced.
    const r = simulate({
      ...honest,
      protocol: tampered(3, (a) =>
        a.type === "deliver" ? [{ ...a, digest: "f".repeat(a.digest.length) }] : [],
      ),
    });
    assert.equal(r.deliveredFraction, 1);
    assert.deepEqual(r.violations, { validity: 4, consistency: 4, totality: 0 });
    assert.equal(r.doubleDeliveries, 0);
  });

  it("a node delivering an instance twice is counted as a double delivery", () => {
    assert.equal(simulate(honest).doubleDeliveries, 0);
    const r = simulate({ ...honest, protocol: tampered(5, (a) => [a, a]) });
    assert.equal(r.doubleDeliveries, 4);
    assert.deepEqual(r.violations, { validity: 0, consistency: 0, totality: 0 });
  });

  it("amortises the setup over the run's broadcasts and sets it against Bracha's 2(N−1) + (N−1)/N", () => {
    const r = simulate();
    // Bracha has no setup: the amortised figure is its per-broadcast figure.
    assert.equal(r.amortised.overBroadcasts, 6);
    assert.equal(r.amortised.messagesPerNodePerBroadcast, r.messagesPerNodePerBroadcast.mean);
    assert.equal(r.amortised.brachaMessagesPerNodePerBroadcast, 60 + 30 / 31);
    assert.ok(Math.abs(r.amortised.ratioToBracha - 1) < 0.1, `${r.amortised.ratioToBracha}`);
  });
});
