import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ContagionBroadcast } from "../../src/broadcast/contagion/contagion.ts";
import type { ContagionParams } from "../../src/broadcast/contagion/contagionParams.ts";
import type { BroadcastAction } from "../../src/broadcast/types.ts";
import type { PeerId } from "../../src/core/peerId.ts";
import { ViewOracle } from "../../src/membership/viewOracle.ts";
import { seededRandom } from "../../src/sim/prng.ts";
import { inspectTestPayload, testPayload } from "./harness.ts";

/**
 * The contagion broadcast over an open network's view (a ViewOracle): the view starts empty and changes.
 * An isolated node must wait rather than decide alone; samples must follow the view as it fills and as
 * members leave for good.
 */
const PARAMS: ContagionParams = { G: 2, E: 40, Ehat: 29, R: 40, Rhat: 12, D: 40, Dhat: 29 };

function openNode(view: PeerId[], members: Set<PeerId>, refreshIntervalMs = 0) {
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
});
