/**
 * The simulator's adversaries (src/sim/adversary.ts, equivocation.ts) against the real state machines: each
 * attack must actually reach the correct nodes, the correct nodes must stay safe at the ε = 1e-9 parameters,
 * and with deliberately small samples the equivocator must break consistency — within the bound.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { boundsFor } from "../../src/analysis/bounds.ts";
import { chooseParams } from "../../src/analysis/chooseParams.ts";
import type { ContagionParams } from "../../src/broadcast/contagion/contagionParams.ts";
import type { BroadcastCounters, BroadcastProtocol } from "../../src/broadcast/types.ts";
import { latencyModel } from "../../src/sim/latency.ts";
import { brachaFactory, contagionFactory } from "../../src/sim/protocols.ts";
import {
  type ProtocolFactory,
  Simulation,
  type SimulationOptions,
  type SimulationResult,
} from "../../src/sim/simulation.ts";

function safeParams(nodes: number, byzantine: number): ContagionParams {
  const { G, E, Ehat, R, Rhat, D, Dhat } = chooseParams({ nodes, byzantine, epsilon: 1e-9 });
  return { G, E, Ehat, R, Rhat, D, Dhat };
}

/** A factory that keeps the correct nodes' state machines, to read their counters after the run. */
function recording(factory: ProtocolFactory): { factory: ProtocolFactory; nodes: BroadcastProtocol[] } {
  const nodes: BroadcastProtocol[] = [];
  return {
    nodes,
    factory: {
      ...factory,
      create: (context) => {
        const node = factory.create(context);
        nodes.push(node);
        return node;
      },
    },
  };
}

function simulate(overrides: Partial<SimulationOptions> & Pick<SimulationOptions, "protocol">) {
  return new Simulation({
    nodes: 100,
    byzantine: 0.1,
    adversary: "silent",
    broadcasts: 1,
    seed: 1,
    latency: latencyModel("uniform", 50),
    meanLatencyMs: 50,
    intervalMs: 500,
    ...overrides,
  }).run();
}

function total(nodes: readonly BroadcastProtocol[], count: (c: BroadcastCounters) => number): number {
  return nodes.reduce((sum, node) => sum + count(node.counters()), 0);
}

const NO_VIOLATIONS = { validity: 0, consistency: 0, totality: 0 };

describe("adversaries against contagion", () => {
  test("ready-flood: Byzantine votes for a digest nobody has reach every node that samples their sender", () => {
    // N = 300: a node samples ~60 % of the others, so subscribers are a strict subset of the correct nodes.
    const params = safeParams(300, 0.1);
    const run = (adversary: "silent" | "ready-flood") => {
      const { factory, nodes } = recording(contagionFactory(params));
      const result = simulate({ nodes: 300, adversary, protocol: factory, broadcasts: 2, seed: 11 });
      return { result, nodes };
    };
    const silent = run("silent");
    const flood = run("ready-flood");
    const sent = flood.result.attack.byzantineMessages;
    const correct = 270;
    for (const kind of ["echo", "ready"] as const) {
      const votes = sent[kind] ?? 0;
      assert.ok(votes > 0, `no flood ${kind}s`);
      const everyone = 30 * correct * 2; // 30 Byzantine nodes, 2 broadcasts
      assert.ok(votes < everyone, `${kind}s went to non-subscribers too: ${votes}`);
      // Every flood vote arrived on top of the correct nodes' own traffic, which is the same as when silent…
      assert.equal(
        total(flood.nodes, (c) => c.received[kind] ?? 0) - total(silent.nodes, (c) => c.received[kind] ?? 0),
        votes,
      );
    }
    // …and none was dropped for coming from outside the receiver's samples: all of them were counted.
    assert.equal(
      total(flood.nodes, (c) => c.dropped.notSampled ?? 0),
      0,
    );
    assert.deepEqual(flood.result.violations, NO_VIOLATIONS);
    assert.equal(flood.result.deliveredFraction, 1);
    assert.deepEqual(silent.result.attack.byzantineMessages, {});
  });

  test("subscribe-first: Byzantine subscribers land first in every layer, yet no correct subscriber is lost", () => {
    // G = 3: a cap sized on expected counts (it was ⌈4G⌉ + 16 = 28 gossip subscribers) is below the 30
    // Byzantine members, so first come, first served would leave no room for a correct gossip subscriber.
    const params = { ...safeParams(300, 0.1), G: 3 };
    const run = (adversary: "silent" | "subscribe-first") => {
      const { factory, nodes } = recording(contagionFactory(params));
      const result = simulate({ nodes: 300, adversary, protocol: factory, broadcasts: 2, seed: 13 });
      return { result, nodes };
    };
    const silent = run("silent");
    const crowd = run("subscribe-first");
    const correct = 270;
    const byzantine = 30;
    // Every Byzantine node subscribed to every correct node in all three layers, and every correct node's
    // own subscriptions were held back until the last of those had landed.
    assert.deepEqual(crowd.result.attack.byzantineMessages, { subscribe: byzantine * correct * 3 });
    assert.equal(
      crowd.result.attack.subscriptionsHeld,
      Math.round(crowd.result.setupMessagesPerNode * correct),
    );
    assert.equal(crowd.result.subscriptionsRefused, 0);
    // Same seed, same samples: each correct node has exactly the silent run's subscribers plus the 30.
    for (const [i, node] of crowd.nodes.entries()) {
      const base = silent.nodes[i]!.stats().subscribers!;
      assert.deepEqual(node.stats().subscribers, {
        gossip: base.gossip + byzantine,
        echo: base.echo + byzantine,
        ready: base.ready + byzantine,
      });
    }
    assert.deepEqual(crowd.result.violations, NO_VIOLATIONS);
    assert.equal(crowd.result.deliveredFraction, 1);
    // The price: every relay, ECHO and READY also goes to the Byzantine subscribers — ≤ 3 f·N more per node.
    const extra =
      crowd.result.messagesPerNodePerBroadcast.mean - silent.result.messagesPerNodePerBroadcast.mean;
    assert.ok(extra > 2.9 * byzantine && extra <= 3 * byzantine, `${extra} more per node per broadcast`);
  });

  test("equivocate: correct nodes are fed gossip, their relays are withheld, and ε = 1e-9 holds", () => {
    const { factory, nodes } = recording(contagionFactory(safeParams(100, 0.2)));
    const r = simulate({
      byzantine: 0.2,
      adversary: "equivocate",
      protocol: factory,
      broadcasts: 6,
      seed: 5,
    });
    const correct = 80;
    // Every other broadcast has the equivocating source; every correct node is fed one payload of each.
    assert.equal(r.attack.equivocations, 3);
    assert.equal(r.attack.byzantineMessages.gossip, 3 * correct);
    assert.equal(r.attack.byzantineMessages.send, undefined);
    assert.equal(
      total(nodes, (c) => c.dropped.malformed ?? 0),
      0,
    );
    assert.ok(r.attack.relaysWithheld > 0);
    // The switch to m′ came at the first readiness for m, before every node was fed m.
    assert.equal(r.attack.switches, 3);
    assert.ok(
      r.attack.fedBeforeSwitch > 0 && r.attack.fedBeforeSwitch < correct,
      `${r.attack.fedBeforeSwitch}`,
    );
    assert.deepEqual(r.violations, NO_VIOLATIONS);
  });

  test("equivocate: consistency breaks with small samples, never beyond the bound", (t) => {
    // The calibration family's smallest samples at N = 100, f = 0.1 (src/analysis/calibration.ts): the bound
    // is vacuous there, so consistency must be seen to fail; with larger samples the bound is not.
    const runs = 40;
    for (const { params, atLeast } of [
      { params: { G: 15, E: 20, Ehat: 15, R: 23, Rhat: 6, D: 21, Dhat: 16 }, atLeast: 4 },
      { params: { G: 15, E: 50, Ehat: 39, R: 56, Rhat: 14, D: 53, Dhat: 40 }, atLeast: 0 },
    ]) {
      let violations = 0;
      for (let seed = 1; seed <= runs; seed++) {
        const r: SimulationResult = simulate({
          adversary: "equivocate",
          protocol: contagionFactory(params),
          equivocateEvery: 1,
          seed,
        });
        violations += r.violations.consistency;
      }
      const bound = boundsFor(params, 100, 0.1).consistency;
      t.diagnostic(
        `E=${params.E}: ${violations}/${runs} consistency violations, bound ${bound.toExponential(1)}`,
      );
      assert.ok(violations >= atLeast, `E=${params.E}: only ${violations}/${runs}`);
      assert.ok(violations / runs <= bound, `E=${params.E}: ${violations}/${runs} above the bound ${bound}`);
    }
  });

  test("an attacked run is a pure function of its seed", () => {
    const once = () =>
      simulate({
        adversary: "equivocate",
        protocol: contagionFactory({ G: 15, E: 30, Ehat: 23, R: 34, Rhat: 8, D: 32, Dhat: 24 }),
        broadcasts: 4,
        equivocateEvery: 1,
        seed: 9,
      });
    const a = once();
    const b = once();
    assert.deepEqual(
      { ...a, wallSeconds: 0, messagesPerSecond: 0 },
      { ...b, wallSeconds: 0, messagesPerSecond: 0 },
    );
  });
});

describe("adversaries against Bracha", () => {
  const bracha = { nodes: 31, byzantine: 0.2, protocol: brachaFactory(), broadcasts: 6, seed: 7 };

  test("ready-flood: every Byzantine node votes for a digest nobody has at every correct node", () => {
    const r = simulate({ ...bracha, adversary: "ready-flood" });
    // 6 Byzantine and 25 correct nodes, 6 broadcasts: one ECHO and one READY per pair and broadcast.
    assert.deepEqual(r.attack.byzantineMessages, { echo: 6 * 25 * 6, ready: 6 * 25 * 6 });
    assert.deepEqual(r.violations, NO_VIOLATIONS);
  });

  test("equivocate: the source hands out SENDs, nothing is withheld, and consistency holds", () => {
    const r = simulate({ ...bracha, adversary: "equivocate" });
    assert.equal(r.attack.byzantineMessages.send, 3 * 25);
    assert.equal(r.attack.byzantineMessages.gossip, undefined);
    assert.equal(r.attack.relaysWithheld, 0);
    assert.equal(r.attack.switches, 3);
    assert.deepEqual(r.violations, NO_VIOLATIONS);
  });
});
