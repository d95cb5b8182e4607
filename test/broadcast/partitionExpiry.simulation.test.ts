/**
 * Seeded simulations of a partition on an open network that outlasts the record TTL: 20 real
 * `ContagionBroadcast` state machines, each over its own `ViewOracle`, with the parameters the calculator picks
 * for 20 % Byzantine nodes, cut into two sides whose messages are held back. While the cut holds, each side
 * stops hearing the other's record refreshes, so at the TTL the other side's records expire there: those peers
 * leave the view and stop being members. Time then passes by whole refresh intervals, and a wallet hands one
 * half of a double spend to each side.
 *
 * Replacing every peer whose record expired (the rule until session 49) moved a node's draws onto the side it
 * still hears, and every scheduled refresh redrew a share of them from that side's view: an 8-node minority
 * then met its thresholds alone and delivered its half while the majority delivered the other. Departed peers
 * (down, or no longer members) now leave the samples only while they weigh at most an eighth of each, and
 * neither refreshes nor full redraws run past that, so a cut that large stalls both sides; one node that left
 * is still replaced.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ContagionBroadcast } from "../../src/broadcast/contagion/contagion.ts";
import { instanceKey } from "../../src/broadcast/instance/instanceId.ts";
import { CONTAGION_MESSAGE_KINDS } from "../../src/broadcast/types.ts";
import type { PeerId } from "../../src/core/peerId.ts";
import { ViewOracle } from "../../src/membership/viewOracle.ts";
import {
  CUT_PARAMS,
  type CutRun,
  cutAt,
  doubleSpendThenHeal,
  majorityReplacements,
  CUT_NODES as NODES,
  tellAcross,
} from "./cutNetwork.ts";
import { inspectTestPayload, SIM_PULL_RETRY_MS, SimNetwork, seededRandom } from "./harness.ts";

const GRACE_MS = 30_000;
const TTL_MS = 60_000;
const REFRESH_MS = 5_000;

/**
 * Nodes n0 … n(minority−1) on one side, the rest on the other. The cut holds one TTL, the records across it
 * expire, then `intervals` refresh intervals pass before the double spend.
 */
function doubleSpendPastTheTtl(seed: number, minority: number, intervals: number): CutRun {
  const cut = cutAt(minority);
  const { inMinority, across } = cut;
  let expired = false;
  const holdsRecordOf = (self: PeerId, peer: PeerId) => !(expired && across(self, peer));
  const net = new SimNetwork({
    n: NODES,
    seed,
    messageKinds: CONTAGION_MESSAGE_KINDS,
    payloadKind: "gossip",
    protocol: (node, { ids, random }) =>
      new ContagionBroadcast({
        self: node.id,
        oracle: new ViewOracle({
          view: () => ids.filter((peer) => peer !== node.id && holdsRecordOf(node.id, peer)),
          isMember: (peer) => peer === node.id || holdsRecordOf(node.id, peer),
          random: seededRandom(Math.floor(random() * 2 ** 32)),
        }),
        params: CUT_PARAMS,
        inspect: inspectTestPayload,
        random,
        pullRetryMs: SIM_PULL_RETRY_MS,
        retransmitInitialMs: 1_000,
        peerDownGraceMs: GRACE_MS,
        refreshIntervalMs: REFRESH_MS,
        viewSettleMs: 2_000,
        isSettled: (instance) => node.store.has(instanceKey(instance)),
      }),
  });
  net.start();
  // Every node is connected to every other, as the transport reports: each can depart.
  tellAcross(net, (a, b) => a !== b, "peerUp");
  net.advance(3_000);
  net.run();
  net.hold = (envelope) => across(envelope.from, envelope.to);
  tellAcross(net, across, "peerDown");
  for (let elapsed = 0; elapsed < TTL_MS; elapsed += REFRESH_MS) {
    net.advance(REFRESH_MS);
    net.run();
  }
  expired = true;
  const replacedBefore = majorityReplacements(net, inMinority);
  for (let interval = 0; interval < intervals; interval++) {
    net.advance(REFRESH_MS);
    net.run();
  }
  return doubleSpendThenHeal(net, cut, {
    replacedBefore,
    beforeHeal: () => {
      expired = false;
    },
  });
}

describe("contagion over an open view across a partition longer than the record TTL", () => {
  test("cut 8 / 12 past the TTL for 1 to 32 refresh intervals: the minority waits, the majority goes on", () => {
    for (const intervals of [1, 4, 16, 32]) {
      for (const seed of [1, 2, 3]) {
        const run = doubleSpendPastTheTtl(seed, 8, intervals);
        const where = `${intervals} intervals, seed ${seed}`;
        assert.equal(
          run.whileCut.get(run.minorityHalf) ?? 0,
          0,
          `${where}: the 8-node minority delivered its half alone`,
        );
        assert.ok(run.majorityReplacements >= 12, `${where}: each majority node replaced the expired peers`);
        const majorityHalf = [...run.whileCut].filter(([digest]) => digest !== run.minorityHalf);
        assert.deepEqual(
          majorityHalf.map(([, nodes]) => nodes),
          [12],
          `${where}: the majority's half on all 12`,
        );
        assert.deepEqual(
          [...run.afterHeal],
          [[majorityHalf[0]![0], NODES]],
          `${where}: after the heal, that half and only it everywhere`,
        );
      }
    }
  });

  test("cut 10 / 10 past the TTL: neither side holds a majority, neither decides, and the heal decides once", () => {
    for (const seed of [1, 2, 3]) {
      const run = doubleSpendPastTheTtl(seed, 10, 16);
      assert.equal(run.whileCut.size, 0, `seed ${seed}: a half decided alone`);
      assert.equal(run.majorityReplacements, 0, `seed ${seed}: a half moved its draws onto itself`);
      assert.ok(run.afterHeal.size <= 1, `seed ${seed}: both halves delivered`);
    }
  });

  test("one node whose record expired: the other 19 replace it in their samples and deliver their half", () => {
    for (const seed of [1, 2, 3]) {
      const run = doubleSpendPastTheTtl(seed, 1, 2);
      const delivered = [...run.whileCut].filter(([digest]) => digest !== run.minorityHalf);
      assert.equal(delivered.length, 1, `seed ${seed}: the majority's half`);
      assert.equal(delivered[0]![1], NODES - 1, `seed ${seed}: on all 19`);
      assert.equal(run.whileCut.get(run.minorityHalf) ?? 0, 0, "the node alone delivers nothing");
    }
  });
});
