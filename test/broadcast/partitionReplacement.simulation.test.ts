/**
 * Seeded simulations of a partition that outlasts the grace period after which a down peer is replaced in
 * the samples: 20 real `ContagionBroadcast` state machines over a static member list, with the parameters the
 * calculator picks for 20 % Byzantine nodes, cut into two sides whose messages are held back. Each node is told
 * the other side is down, time passes by whole grace periods, and a wallet then hands one half of a double
 * spend to each side.
 *
 * Replacing every down peer would move a node's draws, period after period, onto the side it still reaches,
 * until an 8-node minority met its thresholds alone: with that rule the minority delivered its half and the
 * majority the other after two periods. Down peers now leave the samples only while they weigh at most an
 * eighth of each, so a cut that large stalls both sides instead, and a small one (a node or two down) is
 * still replaced.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ContagionBroadcast } from "../../src/broadcast/contagion/contagion.ts";
import { instanceKey } from "../../src/broadcast/instance/instanceId.ts";
import { CONTAGION_MESSAGE_KINDS } from "../../src/broadcast/types.ts";
import { StaticMembership } from "../../src/sampling/staticMembership.ts";
import {
  CUT_PARAMS,
  type CutRun,
  cutAt,
  doubleSpendThenHeal,
  CUT_NODES as NODES,
  tellAcross,
} from "./cutNetwork.ts";
import { inspectTestPayload, SIM_PULL_RETRY_MS, SimNetwork, seededRandom } from "./harness.ts";

const GRACE_MS = 30_000;

/** Nodes n0 … n(minority−1) on one side, the rest on the other, for `periods` grace periods. */
function doubleSpendAcrossACut(seed: number, minority: number, periods: number): CutRun {
  const net = new SimNetwork({
    n: NODES,
    seed,
    messageKinds: CONTAGION_MESSAGE_KINDS,
    payloadKind: "gossip",
    protocol: (node, { ids, random }) =>
      new ContagionBroadcast({
        self: node.id,
        oracle: new StaticMembership({
          self: node.id,
          members: ids,
          random: seededRandom(Math.floor(random() * 2 ** 32)),
        }),
        params: CUT_PARAMS,
        inspect: inspectTestPayload,
        random,
        pullRetryMs: SIM_PULL_RETRY_MS,
        retransmitInitialMs: 1_000,
        peerDownGraceMs: GRACE_MS,
        isSettled: (instance) => node.store.has(instanceKey(instance)),
      }),
  });
  const cut = cutAt(minority);
  const { across } = cut;
  net.start();
  net.hold = (envelope) => across(envelope.from, envelope.to);
  tellAcross(net, across, "peerDown");
  for (let period = 0; period < periods; period++) {
    net.advance(GRACE_MS + 1_000);
    net.run();
  }
  return doubleSpendThenHeal(net, cut);
}

describe("contagion across a partition longer than the down-peer grace period", () => {
  test("cut 8 / 12 for 1 to 8 grace periods: neither side decides alone, and the heal leaves one half at most", () => {
    for (const periods of [1, 2, 4, 8]) {
      for (const seed of [1, 2, 3]) {
        const run = doubleSpendAcrossACut(seed, 8, periods);
        assert.equal(
          run.whileCut.get(run.minorityHalf) ?? 0,
          0,
          `${periods} periods, seed ${seed}: the 8-node minority delivered its half alone`,
        );
        assert.ok(run.afterHeal.size <= 1, `${periods} periods, seed ${seed}: both halves delivered`);
        assert.equal(run.majorityReplacements, 0, "a 40 % cut is no crash: nothing replaced in the samples");
      }
    }
  });

  test("one node cut off: the other 19 replace it in their samples and deliver their half", () => {
    for (const seed of [1, 2, 3]) {
      const run = doubleSpendAcrossACut(seed, 1, 2);
      const delivered = [...run.whileCut].filter(([digest]) => digest !== run.minorityHalf);
      assert.equal(delivered.length, 1, `seed ${seed}: the majority's half`);
      assert.equal(delivered[0]![1], NODES - 1, `seed ${seed}: on all 19`);
      assert.equal(run.whileCut.get(run.minorityHalf) ?? 0, 0, "the node alone delivers nothing");
      assert.ok(run.majorityReplacements >= NODES - 1, "each of the 19 replaced the node it lost");
    }
  });
});
