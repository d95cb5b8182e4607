/**
 * Seeded simulations of a small open network whose views are still filling while an equivocating wallet
 * double-spends: 7 real `ContagionBroadcast` state machines, each over its own `ViewOracle`, with the
 * 1,000-node parameter set an open devnet uses (each of the 6 other nodes then carries about 1/6 of every
 * sample). Each node starts knowing 1 to 3 of the others (a node just started from its bootstrap peers) and
 * learns the rest at random moments over the first 400 ms; the wallet hands one half of its double spend to a random group of nodes and the other half to
 * the rest, and the network holds every message between the two groups for a random while.
 *
 * Samples drawn from a view of 1 to 3 peers make a node's thresholds count 1 to 3 nodes, so two such nodes on
 * either side of the split can each become ready for their own half, after which contagion spreads both and
 * delivery is a race: a fork. The first test shows that this happens when nodes decide at once; the second
 * that it does not when a node decides only once its view has stopped filling for longer than the fill takes.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Digest } from "../../src/broadcast/types.ts";
import type { PeerId } from "../../src/core/peerId.ts";
import { digestOf, randomInt, seededRandom, testPayload } from "./harness.ts";
import { deliveredDigests, openContagionNetwork } from "./openNetwork.ts";

const NODES = 7;
const FILL_MS = 400;
/** Votes sent before a peer subscribed (samples redrawn as views fill) reach it by re-sending, as in a node. */
const RETRANSMIT_MS = 200;

interface DoubleSpendRun {
  /** The digests the nodes delivered for the double-spent slot (more than one is a fork). */
  readonly delivered: Set<Digest>;
  /** Nodes that delivered anything, and the half that most nodes were handed first. */
  readonly deliveringNodes: number;
  readonly majority: { readonly digest: Digest; readonly nodes: number };
}

function doubleSpendWhileViewsFill(seed: number, viewSettleMs: number): DoubleSpendRun {
  const random = seededRandom(seed * 7_919 + 1);
  const ids = Array.from({ length: NODES }, (_, i) => `n${i}`);
  const views = new Map<PeerId, PeerId[]>();
  const learnAt = new Map<number, [PeerId, PeerId][]>();
  for (const id of ids) {
    const others = ids.filter((peer) => peer !== id);
    for (let i = others.length - 1; i > 0; i--) {
      const j = randomInt(random, i + 1);
      [others[i], others[j]] = [others[j]!, others[i]!];
    }
    const known = 1 + randomInt(random, 3);
    views.set(id, others.slice(0, known));
    for (const later of others.slice(known)) {
      const at = randomInt(random, FILL_MS);
      learnAt.set(at, [...(learnAt.get(at) ?? []), [id, later]]);
    }
  }
  const net = openContagionNetwork({
    n: NODES,
    seed,
    viewOf: (id) => views.get(id)!,
    extra: { retransmitInitialMs: RETRANSMIT_MS, viewSettleMs },
  });
  net.start();
  const groupA = new Set(ids.filter(() => random() < 0.5));
  net.hold = (envelope) => groupA.has(envelope.from) !== groupA.has(envelope.to);
  const a = testPayload("eve", 1, "A");
  const b = testPayload("eve", 1, "B");
  const submitAt = randomInt(random, 300);
  const healAt = submitAt + randomInt(random, 600);
  // Events fire when the network's clock reaches them; an idle network lets 5 ms pass (timers fire).
  let learned = 0;
  const learning = [...learnAt].sort(([x], [y]) => x - y);
  let submitted = false;
  while (!submitted || net.hold !== undefined || learned < learning.length) {
    while (learned < learning.length && learning[learned]![0] <= net.nowMs) {
      for (const [id, peer] of learning[learned++]![1]) views.get(id)!.push(peer);
    }
    if (!submitted && net.nowMs >= submitAt) {
      submitted = true;
      for (const [i, id] of ids.entries()) net.submit(i, groupA.has(id) ? a : b);
    }
    if (net.hold !== undefined && net.nowMs >= healAt) {
      net.hold = undefined;
      net.release();
    }
    if (!net.step()) net.advance(5);
  }
  // The last view change is drawn at the next tick; the nodes settle a settle period later.
  net.advance(5);
  net.advance(viewSettleMs);
  for (let round = 0; round < 10; round++) {
    net.run();
    net.advance(RETRANSMIT_MS);
  }
  const counts = deliveredDigests(net);
  const delivered = new Set(counts.keys());
  const deliveringNodes = net.correct.filter((node) => node.deliveries.size > 0).length;
  const inA = groupA.size;
  const majority =
    inA >= NODES - inA ? { digest: digestOf(a), nodes: inA } : { digest: digestOf(b), nodes: NODES - inA };
  return { delivered, deliveringNodes, majority };
}

/** More seeds for a longer look: `TALLY_FILL_SEEDS=600 node --test test/broadcast/openViewFill…`. */
const SEEDS = Number(process.env.TALLY_FILL_SEEDS ?? 300);

describe("contagion while an open network's views fill", () => {
  test("nodes that decide on samples of a view still filling can fork (the race this guards against)", (t) => {
    const forked = [];
    const seeds = Math.max(20, SEEDS === 300 ? 20 : SEEDS);
    for (let seed = 1; seed <= seeds; seed++) {
      if (doubleSpendWhileViewsFill(seed, 0).delivered.size > 1) forked.push(seed);
    }
    t.diagnostic(`deciding at once: ${forked.length} of ${seeds} runs forked (seeds ${forked.join(" ")})`);
    assert.ok(forked.length > 0, `at least one of ${seeds} seeded runs delivered both halves`);
  });

  test(`nodes that decide only once their view stopped filling never fork (${SEEDS} seeded runs)`, (t) => {
    let lopsided = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const run = doubleSpendWhileViewsFill(seed, FILL_MS + 100);
      assert.ok(run.delivered.size <= 1, `seed ${seed}: both halves delivered`);
      // Secure broadcast may leave an equivocating source's slot with neither half, but a half that 6 of the 7
      // nodes echo reaches every threshold: once settled, every node delivers it.
      if (run.majority.nodes >= NODES - 1) {
        lopsided++;
        assert.deepEqual([...run.delivered], [run.majority.digest], `seed ${seed}: the 6-of-7 half`);
        assert.equal(run.deliveringNodes, NODES, `seed ${seed}: every node delivers`);
      }
    }
    t.diagnostic(
      `waiting to settle: 0 of ${SEEDS} runs forked; ${lopsided} had a 6-of-7 split, all delivered`,
    );
    assert.ok(lopsided > 10, `${lopsided} runs with a 6-of-7 split`);
  });
});
