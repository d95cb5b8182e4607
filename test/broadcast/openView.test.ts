import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ContagionBroadcast } from "../../src/broadcast/contagion/contagion.ts";
import type { ContagionParams } from "../../src/broadcast/contagion/contagionParams.ts";
import type { BroadcastAction } from "../../src/broadcast/types.ts";
import type { PeerId } from "../../src/core/peerId.ts";
import { ViewOracle } from "../../src/membership/viewOracle.ts";
import { seededRandom } from "../../src/sim/prng.ts";
import { digestOf, inspectTestPayload, testPayload } from "./harness.ts";

/**
 * The contagion broadcast over an open network's view (a ViewOracle): the view starts empty and changes.
 * An isolated node must wait rather than decide alone; samples must follow the view as it fills and as
 * members leave for good.
 */
const PARAMS: ContagionParams = { G: 2, E: 40, Ehat: 29, R: 40, Rhat: 12, D: 40, Dhat: 29 };

function openNode(view: PeerId[], members: Set<PeerId>, refreshIntervalMs = 0, viewSettleMs = 0) {
  const oracle = new ViewOracle({
    view: () => view,
    isMember: (peer) => peer === "self" || members.has(peer),
    random: seededRandom(3),
  });
  return new ContagionBroadcast({
    self: "self",
    oracle,
    params: PARAMS,
    inspect: inspectTestPayload,
    random: seededRandom(4),
    refreshIntervalMs,
    viewSettleMs,
  });
}

function subscriptions(actions: readonly BroadcastAction[], kind: "subscribe" | "unsubscribe"): Set<PeerId> {
  const peers = new Set<PeerId>();
  for (const a of actions)
    if (a.type === "send" && a.message.kind === kind) for (const p of a.to) peers.add(p);
  return peers;
}

describe("contagion over an open network's view", () => {
  test("a node that knows nobody yet does not deliver its own submission, and is not ready", () => {
    const protocol = openNode([], new Set());
    protocol.handle({ type: "start", nowMs: 0 });
    const actions = protocol.handle({ type: "submit", payload: testPayload("alice", 1, "A"), nowMs: 1 });
    assert.equal(actions.filter((a) => a.type === "deliver").length, 0, "no delivery by an isolated node");
    assert.equal(
      protocol.quorumsReachable(() => true),
      false,
    );
  });

  test("samples drawn from an empty view are drawn again as the view fills, and follow it when it doubles", () => {
    const view: PeerId[] = [];
    const members = new Set<PeerId>();
    const protocol = openNode(view, members);
    protocol.handle({ type: "start", nowMs: 0 });
    view.push("p1");
    members.add("p1");
    const first = protocol.handle({ type: "tick", nowMs: 250 });
    assert.deepEqual([...subscriptions(first, "subscribe")], ["p1"], "the first peer is subscribed to");
    view.push("p2", "p3", "p4");
    for (const p of ["p2", "p3", "p4"]) members.add(p);
    const grown = protocol.handle({ type: "tick", nowMs: 500 });
    const subscribed = subscriptions(grown, "subscribe");
    assert.ok(
      ["p2", "p3", "p4"].every((p) => subscribed.has(p)),
      "a view that doubled is drawn afresh",
    );
    const again = protocol.handle({ type: "tick", nowMs: 750 });
    assert.equal(subscriptions(again, "subscribe").size, 0, "no redraw while the view stays the same");
    assert.equal(
      protocol.quorumsReachable(() => true),
      true,
    );
  });

  test("with one other member, refreshes keep it as the gossip neighbour instead of dropping the link", () => {
    // A 2-node open devnet stalled for good: the first refresh dropped the only gossip neighbour, found nobody
    // to draw instead, and payloads were never relayed again.
    const view: PeerId[] = ["p1"];
    const protocol = openNode(view, new Set(view), 1_000);
    protocol.handle({ type: "start", nowMs: 0 });
    let unsubscribed = 0;
    for (let t = 250; t <= 20_000; t += 250) {
      const actions = protocol.handle({ type: "tick", nowMs: t });
      unsubscribed += [...subscriptions(actions, "unsubscribe")].length;
    }
    assert.deepEqual(protocol.samplePeers().gossip, ["p1"], "p1 is still drawn after 20 refreshes");
    assert.equal(unsubscribed, 0, "p1 was never told to unsubscribe");
    const submitted = protocol.handle({
      type: "submit",
      payload: testPayload("alice", 1, "A"),
      nowMs: 20_001,
    });
    const gossiped = submitted.filter(
      (a) => a.type === "send" && a.message.kind === "gossip" && a.to.includes("p1"),
    );
    assert.equal(gossiped.length, 1, "the payload goes to p1");
  });

  test("a sampled peer whose record expired is replaced at the next tick", () => {
    const view: PeerId[] = ["p1", "p2", "p3", "p4"];
    const members = new Set(view);
    const protocol = openNode(view, members);
    protocol.handle({ type: "start", nowMs: 0 });
    assert.ok(protocol.samplePeers().echo.includes("p4"));
    view.splice(3, 1);
    members.delete("p4");
    const actions = protocol.handle({ type: "tick", nowMs: 250 });
    assert.ok(subscriptions(actions, "unsubscribe").has("p4"), "told it left our samples");
    const samples = protocol.samplePeers();
    for (const layer of [samples.gossip, samples.echo, samples.ready, samples.delivery]) {
      assert.ok(!layer.includes("p4"), "p4 sampled nowhere");
    }
  });

  test("a view that grew by an eighth is drawn afresh: a node that drew from 4 of 6 peers samples all 6", () => {
    // The earlier rule redrew only when the view doubled, so samples drawn from 4 peers stayed on 4 of a
    // 7-node network's 6 for good, each weighing 1/4 where it should weigh 1/6.
    const view: PeerId[] = ["p1", "p2", "p3", "p4"];
    const members = new Set<PeerId>([...view, "p5", "p6"]);
    const protocol = openNode(view, members);
    protocol.handle({ type: "start", nowMs: 0 });
    assert.equal(protocol.samplePeers().echo.length, 4);
    view.push("p5");
    const grown = protocol.handle({ type: "tick", nowMs: 250 });
    assert.ok(subscriptions(grown, "subscribe").has("p5"), "5 of 4: drawn afresh");
    view.push("p6");
    protocol.handle({ type: "tick", nowMs: 500 });
    const samples = protocol.samplePeers();
    for (const layer of [samples.echo, samples.ready, samples.delivery]) assert.equal(layer.length, 6);
  });

  test("a node whose view is still filling takes no decision until it has settled", () => {
    const view: PeerId[] = ["p1", "p2"];
    const members = new Set<PeerId>([...view, "p3"]);
    const protocol = openNode(view, members, 0, 1_000);
    protocol.handle({ type: "start", nowMs: 0 });
    const payload = testPayload("alice", 1, "A");
    const submitted = protocol.handle({ type: "submit", payload, nowMs: 10 });
    const digest = digestOf(payload);
    assert.ok(
      submitted.some(
        (a) => a.type === "persist" && a.commitment.kind === "echo" && a.commitment.digest === digest,
      ),
      "it echoes: an echo depends on no sample",
    );
    const instance = { source: "alice", seq: 1 };
    const votes: BroadcastAction[] = [];
    for (const from of view) {
      for (const kind of ["echo", "ready"] as const) {
        votes.push(
          ...protocol.handle({ type: "message", from, message: { kind, instance, digest }, nowMs: 20 }),
        );
      }
    }
    const decided = (actions: readonly BroadcastAction[]) =>
      actions.some((a) => a.type === "deliver" || (a.type === "persist" && a.commitment.kind === "ready"));
    assert.equal(decided(votes), false, "every sampled peer voted, but the view is 0.02 s old: no decision");
    assert.equal(
      protocol.quorumsReachable(() => true),
      false,
      "not healthy while settling",
    );
    view.push("p3");
    const grown = protocol.handle({ type: "tick", nowMs: 900 });
    for (const kind of ["echo", "ready"] as const) {
      grown.push(
        ...protocol.handle({ type: "message", from: "p3", message: { kind, instance, digest }, nowMs: 950 }),
      );
    }
    assert.equal(decided(grown), false, "the view grew at 0.9 s: the wait starts again");
    assert.equal(decided(protocol.handle({ type: "tick", nowMs: 1_800 })), false, "0.9 s since it grew");
    const settled = protocol.handle({ type: "tick", nowMs: 1_900 });
    assert.ok(decided(settled), "settled: the votes that waited make it ready");
    assert.ok(
      settled.some((a) => a.type === "deliver"),
      "and every sampled peer's READY makes it deliver",
    );
    assert.equal(
      protocol.quorumsReachable(() => true),
      true,
    );
  });

  test("a member that left and came back is drawn in again at once, not only by the slow refresh", () => {
    const view: PeerId[] = ["p1", "p2", "p3", "p4", "p5", "p6"];
    const members = new Set(view);
    const protocol = openNode(view, members);
    protocol.handle({ type: "start", nowMs: 0 });
    view.pop();
    members.delete("p6");
    protocol.handle({ type: "tick", nowMs: 250 });
    assert.ok(!protocol.samplePeers().echo.includes("p6"), "p6's record expired: replaced");
    view.push("p6");
    members.add("p6");
    const back = protocol.handle({ type: "tick", nowMs: 500 });
    assert.ok(subscriptions(back, "subscribe").has("p6"), "p6 is back: drawn afresh");
    const samples = protocol.samplePeers();
    for (const layer of [samples.echo, samples.ready, samples.delivery]) assert.ok(layer.includes("p6"));
  });

  test("peers that left a majority behind are replaced; a node left with a minority keeps its samples", () => {
    // Six of eight peers' records expire: this node and the two it still hears are 3 of 9, a minority, as on
    // the small side of a cut that outlasted the record TTL. Replacing the six would put every draw on the
    // two peers left, whose votes could then meet this node's thresholds alone.
    const peers: PeerId[] = ["p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"];
    const view = [...peers];
    const members = new Set(view);
    const protocol = openNode(view, members, 100);
    protocol.handle({ type: "start", nowMs: 0 });
    // Connected, as a node is to the peers it samples: these peers can depart.
    for (const peer of peers) protocol.handle({ type: "peerUp", peer, nowMs: 0 });
    for (const gone of peers.slice(0, 6)) {
      view.splice(view.indexOf(gone), 1);
      members.delete(gone);
    }
    let nowMs = 0;
    const tick = () => {
      nowMs += 250;
      return protocol.handle({ type: "tick", nowMs });
    };
    for (let i = 0; i < 20; i++) tick();
    const held = protocol.samplePeers();
    for (const layer of [held.echo, held.ready, held.delivery]) {
      assert.deepEqual([...layer].sort(), peers, "the departed keep their draws, refreshes move none");
    }
    // What an operator sees (`tally_broadcast_departed_share`): about 6/8 of each sample, held.
    const departed = protocol.stats().departedShare!;
    assert.ok(departed > 0.5 && departed < 0.95, `departed share ${departed}`);
    // Joiners on this side (the view grows from 2 to 4) are no reason to draw everything afresh from it.
    view.push("q1", "q2");
    members.add("q1").add("q2");
    tick();
    assert.ok(!protocol.samplePeers().echo.includes("q1"), "no redraw onto this side while the six are held");
    // The six come back (the cut healed): the view grew by far more than an eighth, and is drawn afresh.
    for (const back of peers.slice(0, 6)) {
      view.push(back);
      members.add(back);
    }
    tick();
    assert.equal(protocol.samplePeers().echo.length, 10, "drawn afresh from all ten");

    // Two of eight leave instead: this node and six others are 7 of 9, a majority, so it replaces them.
    const view2 = [...peers];
    const members2 = new Set(view2);
    const majority = openNode(view2, members2, 100);
    majority.handle({ type: "start", nowMs: 0 });
    for (const peer of peers) majority.handle({ type: "peerUp", peer, nowMs: 0 });
    view2.splice(0, 2);
    members2.delete("p1");
    members2.delete("p2");
    majority.handle({ type: "tick", nowMs: 250 });
    const replaced = majority.samplePeers();
    for (const layer of [replaced.echo, replaced.ready, replaced.delivery]) {
      assert.deepEqual([...layer].sort(), peers.slice(2), "p1 and p2 replaced in every sample");
    }
  });

  test("identities this node never reached are replaced when their records expire, however many", () => {
    // Minted identities with no node behind them fill most of the view (a record flood); the node never
    // connects to them. When their records lapse they were never part of the network it saw: holding their
    // draws would stall it for good, as a cut does, for the price of some identity proofs.
    const real: PeerId[] = ["p1", "p2"];
    const minted = Array.from({ length: 6 }, (_, i) => `sybil${i}`);
    const view: PeerId[] = [...real, ...minted];
    const members = new Set(view);
    const protocol = openNode(view, members, 100);
    protocol.handle({ type: "start", nowMs: 0 });
    for (const peer of real) protocol.handle({ type: "peerUp", peer, nowMs: 0 });
    view.splice(2);
    for (const peer of minted) members.delete(peer);
    protocol.handle({ type: "tick", nowMs: 250 });
    const samples = protocol.samplePeers();
    for (const layer of [samples.echo, samples.ready, samples.delivery]) {
      assert.deepEqual([...layer].sort(), real, "only the two peers it reached are left");
    }
  });

  test("a view that shrinks and grows back while settling does not restart the wait", () => {
    // Under load a member's record may lapse for a moment: a node that just restarted must still settle.
    const view: PeerId[] = ["p1", "p2", "p3", "p4", "p5", "p6"];
    const members = new Set(view);
    const protocol = openNode(view, members, 0, 1_000);
    protocol.handle({ type: "start", nowMs: 0 });
    for (let t = 250; t < 1_000; t += 250) {
      if (t === 500) view.pop();
      if (t === 750) view.push("p6");
      protocol.handle({ type: "tick", nowMs: t });
      assert.equal(
        protocol.quorumsReachable(() => true),
        false,
        `settling at ${t} ms`,
      );
    }
    protocol.handle({ type: "tick", nowMs: 1_000 });
    assert.equal(
      protocol.quorumsReachable(() => true),
      true,
      "settled 1 s after it reached 6, p6's lapse aside",
    );
  });
});
