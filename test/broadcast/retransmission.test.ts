/**
 * Retransmission under message loss and a crash: with a share of all messages lost at random (the transport
 * is at-most-once), every instance a correct node introduced is delivered by every correct node once nodes
 * re-send their commitments — and not without. Seeded: each seed is one reproducible schedule.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { chooseParams } from "../../src/analysis/chooseParams.ts";
import { ContagionBroadcast } from "../../src/broadcast/contagion/contagion.ts";
import { instanceKey } from "../../src/broadcast/instance/instanceId.ts";
import { CONTAGION_MESSAGE_KINDS } from "../../src/broadcast/types.ts";
import { StaticMembership } from "../../src/sampling/staticMembership.ts";
import {
  type CorrectNode,
  digestOf,
  inspectTestPayload,
  SIM_PULL_RETRY_MS,
  SimNetwork,
  seededRandom,
  testPayload,
} from "./harness.ts";

type Mode = "bracha" | "contagion";

const TICK_MS = 250;
/** Simulated time the network is given to finish: four capped retry periods. */
const HORIZON_MS = 120_000;

function network(mode: Mode, n: number, seed: number, retransmitInitialMs: number): SimNetwork {
  const common = {
    inspect: inspectTestPayload,
    pullRetryMs: SIM_PULL_RETRY_MS,
    retransmitInitialMs,
  };
  if (mode === "bracha") {
    return new SimNetwork({
      n,
      seed,
      byzantine: new Map([[n - 1, "silent"]]),
      bracha: { retransmitInitialMs },
      tickEverySteps: 10 * n,
    });
  }
  const { G, E, Ehat, R, Rhat, D, Dhat } = chooseParams({ nodes: n, byzantine: 0.1, epsilon: 1e-6 });
  return new SimNetwork({
    n,
    seed,
    byzantine: new Map([[n - 1, "silent"]]),
    messageKinds: CONTAGION_MESSAGE_KINDS,
    payloadKind: "gossip",
    tickEverySteps: 10 * n,
    protocol: (node: CorrectNode, { ids, random }) =>
      new ContagionBroadcast({
        ...common,
        self: node.id,
        oracle: new StaticMembership({
          self: node.id,
          members: ids,
          random: seededRandom(Math.floor(random() * 2 ** 32)),
        }),
        params: { G, E, Ehat, R, Rhat, D, Dhat },
        random,
        isSettled: (instance) => node.store.has(instanceKey(instance)),
      }),
  });
}

interface Outcome {
  /** (correct node, instance) pairs not delivered at the horizon. */
  readonly missing: number;
  readonly retransmissions: number;
}

/**
 * Introduces `instances` broadcasts at random correct nodes while `lossRate` of every message is lost; node 0
 * crashes mid-run (its peers see it go down and come back) when `crash` is set. Runs to the horizon, ticking.
 */
function lossyRun(mode: Mode, seed: number, retransmitInitialMs: number, lossRate: number, crash: boolean) {
  const n = mode === "bracha" ? 7 : 20;
  const net = network(mode, n, seed, retransmitInitialMs);
  const loss = seededRandom(seed ^ 0x5eed);
  net.lose = () => loss() < lossRate;
  net.start();
  const correct = net.correct;
  const pick = seededRandom(seed + 1);
  const introduced = Array.from({ length: 6 }, (_, i) => {
    const payload = testPayload(`acct-${i}`, 1, `seed ${seed}`);
    net.submit(1 + Math.floor(pick() * (correct.length - 1)), payload);
    return { key: instanceKey({ source: `acct-${i}`, seq: 1 }), digest: digestOf(payload) };
  });
  if (crash) correct[0]!.crashAtStep = net.steps + 50;
  for (let ms = 0; ms < HORIZON_MS; ms += TICK_MS) {
    net.run();
    net.advance(TICK_MS);
  }
  let missing = 0;
  for (const node of correct) {
    for (const { key, digest } of introduced) {
      const delivered = node.deliveries.get(key) ?? [];
      // Integrity and agreement whatever happens: at most one delivery, and only of the introduced payload.
      assert.ok(delivered.length <= 1, `${node.id} delivered ${key} twice`);
      if (delivered.length === 0) missing++;
      else assert.equal(delivered[0], digest, `${node.id} delivered a conflicting digest for ${key}`);
    }
  }
  const retransmissions = correct.reduce((sum, node) => sum + node.protocol.counters().retransmissions, 0);
  return { missing, retransmissions } satisfies Outcome;
}

const SEEDS = [1, 2, 3, 4, 5];

for (const mode of ["bracha", "contagion"] as const) {
  describe(`${mode}: retransmission`, () => {
    test("with 20 % of messages lost, some instances stay undelivered somewhere without it", (t) => {
      const missing = SEEDS.map((seed) => lossyRun(mode, seed, 0, 0.2, false).missing);
      t.diagnostic(
        `undelivered (node, instance) pairs per seed without retransmission: ${missing.join(" ")}`,
      );
      assert.ok(
        missing.some((m) => m > 0),
        "the loss must hurt, or this test shows nothing",
      );
    });

    test("with 20 % of messages lost, every correct node delivers every instance with it", (t) => {
      for (const seed of SEEDS) {
        const { missing, retransmissions } = lossyRun(mode, seed, 1_000, 0.2, false);
        t.diagnostic(`seed ${seed}: ${retransmissions} re-sends`);
        assert.equal(missing, 0, `seed ${seed}`);
      }
    });

    test("with 10 % lost and a node crashing mid-run, every correct node delivers every instance", () => {
      for (const seed of SEEDS) {
        assert.equal(lossyRun(mode, seed, 1_000, 0.1, true).missing, 0, `seed ${seed}`);
      }
    });
  });
}
