import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { boundsFor } from "../../src/analysis/bounds.ts";
import {
  DEFAULT_EPSILON,
  defaultContagionParams,
  designByzantine,
  FULL_MEMBERSHIP_MAX_NODES,
} from "../../src/analysis/defaultParams.ts";
import { ContagionBroadcast, type ContagionOptions } from "../../src/broadcast/contagion/contagion.ts";
import type { ContagionParams } from "../../src/broadcast/contagion/contagionParams.ts";
import { decodeBroadcastMessage, encodeBroadcastMessage } from "../../src/broadcast/messageCodec.ts";
import type {
  BroadcastAction,
  BroadcastMessage,
  Commitment,
  InstanceRef,
  MessageKind,
  SubscriptionLayer,
} from "../../src/broadcast/types.ts";
import { isTallyError } from "../../src/core/errors.ts";
import type { PeerId } from "../../src/core/peerId.ts";
import { poissonSample } from "../../src/sampling/poisson.ts";
import type { SamplingOracle } from "../../src/sampling/samplingOracle.ts";
import { StaticMembership } from "../../src/sampling/staticMembership.ts";
import { testKey } from "../support/fixtures.ts";
import { digestOf, inspectTestPayload, seededRandom, testPayload } from "./harness.ts";

// ── a scripted Ω: the unit tests choose every sample ───────────────────────────────────────────────────

/**
 * `sample` answers the scripted draws in order (E, then R, then D at start; then replacements), `distinct`
 * the first peers of the gossip list. Members are `self` plus every scripted peer plus `extra`.
 */
class ScriptedOracle implements SamplingOracle {
  readonly size: number;
  private readonly members: Set<PeerId>;
  private readonly draws: PeerId[][];
  private readonly gossip: readonly PeerId[];

  constructor(self: PeerId, script: { draws: PeerId[][]; gossip?: PeerId[]; extra?: PeerId[] }) {
    this.draws = script.draws.map((draw) => [...draw]);
    this.gossip = script.gossip ?? [];
    this.members = new Set([self, ...script.draws.flat(), ...this.gossip, ...(script.extra ?? [])]);
    this.size = this.members.size - 1;
  }

  sample(count: number): PeerId[] {
    const out: PeerId[] = [];
    while (out.length < count) {
      const next = this.draws[0]?.shift();
      if (next === undefined) throw new Error("script exhausted");
      out.push(next);
      if (this.draws[0]!.length === 0 && out.length < count) this.draws.shift();
    }
    if (this.draws[0]?.length === 0) this.draws.shift();
    return out;
  }

  distinct(count: number): PeerId[] {
    return this.gossip.slice(0, count);
  }

  isMember(peer: PeerId): boolean {
    return this.members.has(peer);
  }
}

const SELF = "me";
const INSTANCE: InstanceRef = { source: "alice", seq: 1 };
const PAYLOAD_A = testPayload("alice", 1, "A");
const PAYLOAD_B = testPayload("alice", 1, "B");
const A = digestOf(PAYLOAD_A);
const B = digestOf(PAYLOAD_B);

/**
 * E = [e1, e1, e2, e3] (e1 drawn twice), R = [r1, r2, r3], D = [r1, d1, d2, d3]; gossip: g1, g2.
 * Ê = 3, R̂ = 2, D̂ = 3. The Poisson draw of the gossip size is taken from `random`; G = 50 makes it ≥ 2.
 */
const PARAMS: ContagionParams = { G: 50, E: 4, Ehat: 3, R: 3, Rhat: 2, D: 4, Dhat: 3 };
const SCRIPT = {
  draws: [
    ["e1", "e1", "e2", "e3"],
    ["r1", "r2", "r3"],
    ["r1", "d1", "d2", "d3"],
  ],
  gossip: ["g1", "g2"],
  extra: ["x1", "x2", "x3", "x4"],
};

function node(
  options: Partial<ContagionOptions> = {},
  script: { draws: PeerId[][]; gossip?: PeerId[]; extra?: PeerId[] } = SCRIPT,
) {
  return new ContagionBroadcast({
    self: SELF,
    oracle: new ScriptedOracle(SELF, script),
    params: PARAMS,
    inspect: inspectTestPayload,
    random: seededRandom(11),
    pullRetryMs: 100,
    ...options,
  });
}

/** A node that has started and received subscriptions from `subscribers` (layer → peers). */
function startedNode(
  subscribers: Partial<Record<SubscriptionLayer, PeerId[]>> = {},
  options: Partial<ContagionOptions> = {},
  script = SCRIPT,
) {
  const protocol = node(options, script);
  protocol.handle({ type: "start", nowMs: 0 });
  for (const [layer, peers] of Object.entries(subscribers)) {
    for (const peer of peers)
      receive(protocol, peer, { kind: "subscribe", layer: layer as SubscriptionLayer });
  }
  return protocol;
}

function receive(protocol: ContagionBroadcast, from: PeerId, message: BroadcastMessage, nowMs = 0) {
  return protocol.handle({ type: "message", from, message, nowMs });
}

function sendsOf(actions: readonly BroadcastAction[], kind: MessageKind) {
  return actions.flatMap((action) =>
    action.type === "send" && action.message.kind === kind ? [action] : [],
  );
}

function recipients(actions: readonly BroadcastAction[], kind: MessageKind): PeerId[] {
  return sendsOf(actions, kind)
    .flatMap((action) => action.to)
    .sort();
}

function persistsOf(actions: readonly BroadcastAction[]): Commitment[] {
  return actions.flatMap((action) => (action.type === "persist" ? [action.commitment] : []));
}

function deliveriesOf(actions: readonly BroadcastAction[]) {
  return actions.flatMap((action) => (action.type === "deliver" ? [action] : []));
}

function labels(actions: readonly BroadcastAction[]): string[] {
  return actions.map((action) => (action.type === "send" ? `send:${action.message.kind}` : action.type));
}

const echo = (digest: string, instance = INSTANCE): BroadcastMessage => ({ kind: "echo", instance, digest });
const ready = (digest: string, instance = INSTANCE): BroadcastMessage => ({
  kind: "ready",
  instance,
  digest,
});

// ── sampling ─────────────────────────────────────────────────────────────────────────────────────────────

describe("static membership oracle", () => {
  const members = Array.from({ length: 10 }, (_, i) => `p${i}`);

  test("draws uniformly from the other members, never itself", () => {
    const oracle = new StaticMembership({ self: "p0", members, random: seededRandom(1) });
    assert.equal(oracle.size, 9);
    const draws = oracle.sample(90_000);
    const counts = new Map<string, number>();
    for (const peer of draws) counts.set(peer, (counts.get(peer) ?? 0) + 1);
    assert.equal(counts.has("p0"), false);
    assert.equal(counts.size, 9);
    // 10,000 expected per peer, σ ≈ 94: a ±500 band is over 5σ.
    for (const count of counts.values()) assert.ok(Math.abs(count - 10_000) < 500, `count ${count}`);
  });

  test("distinct draws are distinct, capped at the population, and uniform", () => {
    const oracle = new StaticMembership({ self: "p0", members, random: seededRandom(2) });
    assert.equal(new Set(oracle.distinct(5)).size, 5);
    assert.deepEqual(oracle.distinct(50).sort(), members.slice(1).sort());
    const hits = new Map<string, number>();
    for (let i = 0; i < 9_000; i++)
      for (const peer of oracle.distinct(3)) hits.set(peer, (hits.get(peer) ?? 0) + 1);
    for (const count of hits.values()) assert.ok(Math.abs(count - 3_000) < 250, `count ${count}`);
  });

  test("small distinct draws from a large membership are distinct and uniform (Floyd's algorithm)", () => {
    const many = Array.from({ length: 200 }, (_, i) => `m${i}`);
    const oracle = new StaticMembership({ self: "m0", members: many, random: seededRandom(3) });
    const hits = new Map<string, number>();
    for (let i = 0; i < 4_000; i++) {
      const draw = oracle.distinct(10);
      assert.equal(new Set(draw).size, 10);
      for (const peer of draw) hits.set(peer, (hits.get(peer) ?? 0) + 1);
    }
    assert.equal(hits.has("m0"), false);
    assert.equal(hits.size, 199);
    // 201 expected per peer, σ ≈ 14: a ±80 band is over 5σ.
    for (const count of hits.values()) assert.ok(Math.abs(count - 4_000 * (10 / 199)) < 80, `count ${count}`);
  });

  test("knows its members and rejects a bad configuration", () => {
    const oracle = new StaticMembership({ self: "p0", members, random: Math.random });
    assert.equal(oracle.isMember("p3"), true);
    assert.equal(oracle.isMember("mallory"), false);
    assert.deepEqual(
      new StaticMembership({ self: "solo", members: ["solo"], random: Math.random }).sample(3),
      [],
    );
    for (const bad of [
      { self: "z", members },
      { self: "p0", members: ["p0", "p0"] },
      { self: "p0", members: [] },
    ]) {
      assert.throws(
        () => new StaticMembership({ ...bad, random: Math.random }),
        (e) => isTallyError(e, "INVALID_CONFIG"),
      );
    }
    assert.throws(
      () => oracle.sample(-1),
      (e) => isTallyError(e, "INVALID_CONFIG"),
    );
  });

  test("Poisson draws have the right mean and variance", () => {
    const random = seededRandom(3);
    for (const mean of [3, 10, 75]) {
      const draws = Array.from({ length: 20_000 }, () => poissonSample(mean, random));
      const average = draws.reduce((a, b) => a + b, 0) / draws.length;
      const variance = draws.reduce((a, b) => a + (b - average) ** 2, 0) / draws.length;
      // Standard error of the mean √(mean/20,000): ±6 of them.
      assert.ok(Math.abs(average - mean) < 6 * Math.sqrt(mean / 20_000), `mean ${average} for ${mean}`);
      assert.ok(Math.abs(variance / mean - 1) < 0.08, `variance ${variance} for ${mean}`);
    }
    assert.equal(poissonSample(0, random), 0);
  });
});

// ── wire format ─────────────────────────────────────────────────────────────────────────────────────────

describe("contagion messages on the wire", () => {
  test("gossip, subscribe and unsubscribe round-trip; the Bracha tags are unchanged", () => {
    const source = testKey(1).address;
    const messages: BroadcastMessage[] = [
      { kind: "gossip", payload: new Uint8Array([1, 2, 3]) },
      { kind: "subscribe", layer: "gossip" },
      { kind: "subscribe", layer: "echo" },
      { kind: "unsubscribe", layer: "ready" },
      { kind: "echo", instance: { source, seq: 7 }, digest: A },
      { kind: "send", payload: new Uint8Array([9]) },
    ];
    for (const message of messages)
      assert.deepEqual(decodeBroadcastMessage(encodeBroadcastMessage(message)), message);
    assert.deepEqual([...encodeBroadcastMessage({ kind: "subscribe", layer: "ready" })], [17, 3]);
    assert.equal(encodeBroadcastMessage({ kind: "gossip", payload: new Uint8Array([4]) })[0], 16);
    assert.equal(encodeBroadcastMessage({ kind: "send", payload: new Uint8Array([4]) })[0], 1);
    for (const bad of [[17], [17, 0], [18, 4], [17, 1, 1], [19]]) {
      assert.throws(
        () => decodeBroadcastMessage(Uint8Array.from(bad)),
        (e) => isTallyError(e, "MALFORMED_ENCODING"),
      );
    }
  });
});

// ── the state machine, rule by rule ─────────────────────────────────────────────────────────────────────

describe("contagion: samples and subscriptions", () => {
  test("start subscribes once per distinct peer and layer, whatever the multiplicity", () => {
    const actions = node().handle({ type: "start", nowMs: 0 });
    const subscriptions = sendsOf(actions, "subscribe").map((action) => [
      action.message.kind === "subscribe" && action.message.layer,
      [...action.to].sort(),
    ]);
    assert.deepEqual(subscriptions, [
      ["gossip", ["g1", "g2"]],
      ["echo", ["e1", "e2", "e3"]],
      ["ready", ["d1", "d2", "d3", "r1", "r2", "r3"]],
    ]);
    assert.equal(actions.length, 3);
  });

  test("starts by itself on its first event, once", () => {
    const protocol = node();
    const first = protocol.handle({ type: "tick", nowMs: 0 });
    assert.equal(sendsOf(first, "subscribe").length, 3);
    assert.deepEqual(protocol.handle({ type: "start", nowMs: 1 }), []);
    assert.deepEqual(protocol.stats().sampledPeers, { gossip: 2, echo: 3, ready: 6 });
  });

  test("a late subscriber gets the node's current state of each layer; unsubscribing stops the flow", () => {
    const protocol = startedNode();
    protocol.handle({ type: "submit", payload: PAYLOAD_A, nowMs: 0 });
    receive(protocol, "r1", ready(B));
    receive(protocol, "r2", ready(B)); // R̂ = 2: ready for B by contagion
    const gossip = receive(protocol, "x1", { kind: "subscribe", layer: "gossip" }, 10);
    assert.deepEqual(
      sendsOf(gossip, "gossip").map((action) => action.message),
      [{ kind: "gossip", payload: PAYLOAD_A }],
    );
    assert.deepEqual(
      sendsOf(receive(protocol, "x1", { kind: "subscribe", layer: "echo" }, 10), "echo").map(
        (a) => a.message,
      ),
      [echo(A)],
    );
    assert.deepEqual(
      sendsOf(receive(protocol, "x1", { kind: "subscribe", layer: "ready" }, 10), "ready").map(
        (a) => a.message,
      ),
      [ready(B)],
    );
    assert.deepEqual(protocol.stats().subscribers, { gossip: 1, echo: 1, ready: 1 });
    for (const layer of ["gossip", "echo", "ready"] as const)
      receive(protocol, "x1", { kind: "unsubscribe", layer });
    assert.deepEqual(protocol.stats().subscribers, { gossip: 0, echo: 0, ready: 0 });
    // The same peer re-subscribing replays again, within its replay budget (6 by default).
    for (let i = 0; i < 3; i++) receive(protocol, "x1", { kind: "subscribe", layer: "echo" }, 10);
    assert.equal(protocol.counters().dropped.rateLimited, 0);
    receive(protocol, "x1", { kind: "subscribe", layer: "echo" }, 10);
    assert.equal(protocol.counters().dropped.rateLimited, 1);
  });

  test("Byzantine members that subscribe first crowd out no correct subscriber: every member, once per layer", () => {
    // 60 Byzantine members — 15× the 4-entry echo sample, more than any cap sized on expected counts — subscribe
    // to every layer, twice, before the correct subscribers x1…x4 do.
    const byzantine = Array.from({ length: 60 }, (_, i) => `b${i}`);
    const protocol = startedNode({}, {}, { ...SCRIPT, extra: [...SCRIPT.extra, ...byzantine] });
    const layers = ["gossip", "echo", "ready"] as const;
    for (let round = 0; round < 2; round++)
      for (const peer of byzantine)
        for (const layer of layers) receive(protocol, peer, { kind: "subscribe", layer });
    for (const peer of ["x1", "x2", "x3", "x4"])
      for (const layer of layers) receive(protocol, peer, { kind: "subscribe", layer });
    // Each member counted once per layer: the sets never exceed the membership.
    assert.deepEqual(protocol.stats().subscribers, { gossip: 64, echo: 64, ready: 64 });
    assert.equal(protocol.counters().dropped.subscribersFull ?? 0, 0);
    // The payload is relayed to, and echoed to, every correct subscriber (and, at a cost, the Byzantine ones).
    const actions = receive(protocol, "g1", { kind: "gossip", payload: PAYLOAD_A });
    for (const kind of ["gossip", "echo"] as const) {
      const to = new Set(recipients(actions, kind));
      for (const peer of ["x1", "x2", "x3", "x4"]) assert.ok(to.has(peer), `${kind} to ${peer}`);
      assert.equal(to.size, kind === "gossip" ? 65 : 64, `${kind}: one message per distinct subscriber`);
    }
  });

  test("a member sending what its samples here do not ask for is told to unsubscribe, within a budget", () => {
    const protocol = startedNode({ gossip: ["x2"] });
    const notice = (actions: readonly BroadcastAction[]) =>
      sendsOf(actions, "unsubscribe").map((action) => [action.to, action.message]);
    // x1 is in no sample and no gossip link: each layer's message draws that layer's notice.
    assert.deepEqual(notice(receive(protocol, "x1", echo(A))), [
      [["x1"], { kind: "unsubscribe", layer: "echo" }],
    ]);
    assert.deepEqual(notice(receive(protocol, "x1", ready(A))), [
      [["x1"], { kind: "unsubscribe", layer: "ready" }],
    ]);
    const relayed = receive(protocol, "x1", { kind: "gossip", payload: PAYLOAD_A });
    assert.deepEqual(notice(relayed), [[["x1"], { kind: "unsubscribe", layer: "gossip" }]]);
    assert.deepEqual(recipients(relayed, "gossip"), ["g1", "g2", "x2"], "the relay itself is still taken");
    // Once per member and layer: a sender that keeps on costs this node nothing more, until 10 min later (in
    // case the notice was lost with a connection).
    assert.deepEqual(notice(receive(protocol, "x1", echo(B))), []);
    assert.deepEqual(notice(receive(protocol, "x1", ready(B), 599_999)), []);
    assert.deepEqual(notice(receive(protocol, "x1", echo(B), 600_000)), [
      [["x1"], { kind: "unsubscribe", layer: "echo" }],
    ]);
    assert.equal(protocol.counters().staleSendersTold, 4);
    // A peer sampled in one layer is told only about the other: e2 is in E alone, r2 in R alone.
    assert.deepEqual(notice(receive(protocol, "e2", ready(A))), [
      [["e2"], { kind: "unsubscribe", layer: "ready" }],
    ]);
    assert.deepEqual(notice(receive(protocol, "r2", echo(A))), [
      [["r2"], { kind: "unsubscribe", layer: "echo" }],
    ]);
    // Drawn and reciprocated gossip links, sampled voters and non-members draw nothing.
    const quiet = [
      receive(protocol, "g1", { kind: "gossip", payload: PAYLOAD_A }),
      receive(protocol, "x2", { kind: "gossip", payload: PAYLOAD_A }),
      receive(protocol, "e1", echo(A)),
      receive(protocol, "r1", ready(A)),
      receive(protocol, "d1", ready(A)),
      receive(protocol, "mallory", echo(A)),
    ];
    assert.deepEqual(quiet.map(notice), [[], [], [], [], [], []]);
    assert.equal(protocol.counters().staleSendersTold, 6);
  });

  test("non-members cannot subscribe; an unknown layer is malformed", () => {
    const protocol = startedNode();
    receive(protocol, "mallory", { kind: "subscribe", layer: "echo" });
    assert.equal(protocol.counters().dropped.nonMember, 1);
    assert.equal(protocol.stats().subscribers?.echo, 0);
    receive(protocol, "x1", { kind: "subscribe", layer: "bogus" } as unknown as BroadcastMessage);
    assert.equal(protocol.counters().dropped.malformed, 1);
  });
});

describe("contagion: gossip (Algorithm 6)", () => {
  test("the first valid payload is relayed once to the neighbours but its sender, reciprocated links included", () => {
    const protocol = startedNode({ gossip: ["x1"] });
    const actions = receive(protocol, "g1", { kind: "gossip", payload: PAYLOAD_A });
    assert.deepEqual(recipients(actions, "gossip"), ["g2", "x1"]);
    assert.deepEqual(receive(protocol, "g2", { kind: "gossip", payload: PAYLOAD_A }), [], "a duplicate");
    assert.deepEqual(
      receive(protocol, "g2", { kind: "gossip", payload: PAYLOAD_B }),
      [],
      "a conflicting one",
    );
    assert.equal(protocol.counters().dropped.unneededPayload, 1);
    receive(protocol, "g2", { kind: "gossip", payload: testPayload("alice", 2, "x", false) });
    assert.equal(protocol.counters().dropped.invalidPayload, 1);
    assert.equal(protocol.counters().sent.gossip, 2);
  });

  test("says which payloads a live instance holds, so the node can skip its checks of their copies", () => {
    const protocol = startedNode();
    assert.equal(protocol.holdsPayload(INSTANCE, A), false);
    receive(protocol, "g1", { kind: "gossip", payload: PAYLOAD_A });
    assert.equal(protocol.holdsPayload(INSTANCE, A), true);
    assert.equal(protocol.holdsPayload(INSTANCE, B), false, "a conflicting payload was not taken");
    assert.equal(protocol.holdsPayload({ source: "alice", seq: 2 }, A), false);
    for (const peer of ["d1", "d2", "d3"]) receive(protocol, peer, ready(A));
    assert.equal(protocol.deliveredDigest(INSTANCE), A);
    assert.equal(protocol.holdsPayload(INSTANCE, A), false, "delivered: the instance is no longer live");
  });

  test("an introduction gossips to every neighbour", () => {
    const protocol = startedNode({ gossip: ["g1", "x2"] });
    const actions = protocol.handle({ type: "submit", payload: PAYLOAD_A, nowMs: 0 });
    assert.deepEqual(recipients(actions, "gossip"), ["g1", "g2", "x2"]);
    assert.deepEqual(actions.at(-1), {
      type: "submitResult",
      outcome: "accepted",
      instance: INSTANCE,
      digest: A,
    });
  });
});

describe("contagion: echo (Algorithm 8)", () => {
  test("echoes the first payload once, persisted before it is sent to the echo subscribers", () => {
    const protocol = startedNode({ echo: ["x1", "x2"] });
    const actions = receive(protocol, "g1", { kind: "gossip", payload: PAYLOAD_A });
    assert.deepEqual(labels(actions), ["send:gossip", "persist", "send:echo"]);
    assert.deepEqual(persistsOf(actions), [{ instance: INSTANCE, kind: "echo", digest: A }]);
    assert.deepEqual(recipients(actions, "echo"), ["x1", "x2"]);
    assert.deepEqual(protocol.handle({ type: "submit", payload: PAYLOAD_B, nowMs: 0 }), [
      { type: "submitResult", outcome: "conflict", instance: INSTANCE, digest: B },
    ]);
    assert.deepEqual(protocol.handle({ type: "submit", payload: PAYLOAD_A, nowMs: 0 }).at(-1), {
      type: "submitResult",
      outcome: "duplicate",
      instance: INSTANCE,
      digest: A,
    });
  });

  test("counts ECHOs from the echo sample only, by multiplicity, a peer's first digest only", () => {
    const protocol = startedNode({ ready: ["x1"] });
    receive(protocol, "g1", { kind: "gossip", payload: PAYLOAD_A });
    receive(protocol, "x1", echo(A));
    assert.equal(protocol.counters().dropped.notSampled, 1);
    receive(protocol, "e2", echo(B));
    receive(protocol, "e2", echo(A));
    assert.equal(protocol.counters().dropped.duplicateVote, 1);
    assert.deepEqual(receive(protocol, "e3", echo(A)), [], "weight 1 (e3): below Ê = 3");
    // e1 was drawn twice: its ECHO weighs 2, which makes 3 = Ê — echo-delivery makes this node ready.
    const actions = receive(protocol, "e1", echo(A));
    assert.deepEqual(labels(actions), ["persist", "send:ready"]);
    assert.deepEqual(persistsOf(actions), [{ instance: INSTANCE, kind: "ready", digest: A }]);
    assert.deepEqual(recipients(actions, "ready"), ["x1"]);
  });

  test("echo support for a digest this node did not echo does not make it ready", () => {
    const protocol = startedNode();
    receive(protocol, "g1", { kind: "gossip", payload: PAYLOAD_A });
    for (const peer of ["e1", "e2", "e3"]) receive(protocol, peer, echo(B));
    assert.equal(persistsOf(receive(protocol, "e3", echo(B))).length, 0);
    assert.equal(protocol.stats().liveInstances, 1);
    assert.equal(protocol.counters().sent.ready, 0);
  });
});

describe("contagion: ready and delivery (Algorithm 9)", () => {
  test("R̂ READYs from the ready sample make it ready without a payload, for several digests; it pulls them", () => {
    const protocol = startedNode({ ready: ["x1"] });
    receive(protocol, "r1", ready(A));
    const contagion = receive(protocol, "r2", ready(A));
    assert.deepEqual(persistsOf(contagion), [{ instance: INSTANCE, kind: "ready", digest: A }]);
    assert.deepEqual(recipients(contagion, "ready"), ["x1"]);
    // Ready but without the payload: it fetches it from the voters, so it can serve other pullers.
    assert.deepEqual(recipients(contagion, "request").length, 1);
    assert.ok(["r1", "r2"].includes(recipients(contagion, "request")[0]!));
    receive(protocol, "r1", ready(B));
    const second = receive(protocol, "r3", ready(B));
    assert.deepEqual(persistsOf(second), [{ instance: INSTANCE, kind: "ready", digest: B }]);
    assert.equal(protocol.counters().dropped.duplicateVote, 0, "a peer's READYs count for several digests");
    receive(protocol, "r1", ready(A));
    assert.equal(protocol.counters().dropped.duplicateVote, 1);
  });

  test("READYs from the delivery sample alone do not spread readiness; D̂ of them deliver", () => {
    const protocol = startedNode({ ready: ["x1"] });
    receive(protocol, "g1", { kind: "gossip", payload: PAYLOAD_A });
    receive(protocol, "d1", ready(A));
    receive(protocol, "d2", ready(A));
    assert.equal(protocol.counters().sent.ready, 0, "d1, d2 are not in R");
    const actions = receive(protocol, "d3", ready(A));
    // Ready on delivery (persisted, announced), then delivered.
    assert.deepEqual(labels(actions), ["persist", "send:ready", "deliver"]);
    assert.deepEqual(deliveriesOf(actions), [
      { type: "deliver", instance: INSTANCE, digest: A, payload: PAYLOAD_A },
    ]);
    assert.equal(protocol.deliveredDigest(INSTANCE), A);
    assert.deepEqual(receive(protocol, "d3", ready(A)), []);
    assert.equal(protocol.counters().dropped.settled, 1);
    assert.deepEqual(protocol.stats().liveInstances, 0);
  });

  test("r1 is in R and D: its READY counts in both", () => {
    const protocol = startedNode();
    receive(protocol, "g1", { kind: "gossip", payload: PAYLOAD_A });
    receive(protocol, "r1", ready(A));
    receive(protocol, "d1", ready(A));
    assert.equal(deliveriesOf(receive(protocol, "d2", ready(A))).length, 1, "r1 + d1 + d2 = D̂");
  });

  test("delivers the first digest to reach D̂, pulling its payload from its voters; only matching bytes count", () => {
    const protocol = startedNode();
    receive(protocol, "g1", { kind: "gossip", payload: PAYLOAD_A }); // echoes A
    for (const peer of ["d1", "d2"]) receive(protocol, peer, ready(B));
    const decided = receive(protocol, "d3", ready(B));
    assert.equal(deliveriesOf(decided).length, 0);
    assert.ok(["d1", "d2", "d3"].includes(recipients(decided, "request")[0]!));
    assert.equal(protocol.stats().pullingInstances, 1);
    // A later quorum for A changes nothing: B was first.
    for (const peer of ["r1", "r2", "r3"]) receive(protocol, peer, ready(A));
    assert.equal(protocol.counters().delivered, 0);
    assert.deepEqual(receive(protocol, "d1", { kind: "payload", payload: PAYLOAD_A }), []);
    assert.equal(protocol.counters().dropped.unsolicitedPayload, 1);
    const retry = protocol.handle({ type: "tick", nowMs: 100 });
    assert.equal(recipients(retry, "request").length, 1);
    const delivered = receive(protocol, "d2", { kind: "payload", payload: PAYLOAD_B }, 110);
    assert.deepEqual(deliveriesOf(delivered), [
      { type: "deliver", instance: INSTANCE, digest: B, payload: PAYLOAD_B },
    ]);
    assert.equal(protocol.stats().pullingInstances, 0);
  });

  test("a node alone in its network delivers its own submission", () => {
    const protocol = new ContagionBroadcast({
      self: "solo",
      oracle: new StaticMembership({ self: "solo", members: ["solo"], random: Math.random }),
      params: PARAMS,
      inspect: inspectTestPayload,
      random: Math.random,
    });
    const actions = protocol.handle({ type: "submit", payload: PAYLOAD_A, nowMs: 0 });
    assert.deepEqual(labels(actions), ["persist", "submitResult", "persist", "deliver"]);
  });
});

describe("contagion: readiness probe", () => {
  test("reachable once Ê of the echo sample and D̂ of the delivery sample are up, by multiplicity", () => {
    const protocol = startedNode();
    const up = (peers: PeerId[]) => protocol.quorumsReachable((peer) => peers.includes(peer));
    // E = [e1, e1, e2, e3], Ê = 3; D = [r1, d1, d2, d3], D̂ = 3.
    assert.equal(up(["e1", "e2", "r1", "d1", "d2"]), true);
    assert.equal(up(["e2", "e3", "r1", "d1", "d2"]), false, "echo weight 2 < Ê");
    assert.equal(up(["e1", "e2", "r1", "d1", "r2", "r3"]), false, "delivery weight 2 < D̂");
    assert.equal(
      node().quorumsReachable(() => true),
      false,
      "not started: no samples yet",
    );
  });
});

describe("contagion: sample refresh", () => {
  test("a sampled peer down past the grace period is replaced; its votes stop counting", () => {
    const script = {
      draws: [...SCRIPT.draws, ["x1", "x2"]],
      gossip: SCRIPT.gossip,
      extra: SCRIPT.extra,
    };
    // e1 holds half of this tiny echo sample: lift the bound on the down share to see the mechanics.
    const protocol = startedNode({}, { peerDownGraceMs: 1_000, maxDownShareReplaced: 1 }, script);
    receive(protocol, "g1", { kind: "gossip", payload: PAYLOAD_A });
    receive(protocol, "e1", echo(A)); // weight 2 of Ê = 3
    protocol.handle({ type: "peerDown", peer: "e1", nowMs: 0 });
    assert.deepEqual(protocol.handle({ type: "tick", nowMs: 999 }), [], "within the grace period");
    const replaced = protocol.handle({ type: "tick", nowMs: 1_000 });
    assert.deepEqual(
      sendsOf(replaced, "unsubscribe").map((action) => [action.to, action.message]),
      [[["e1"], { kind: "unsubscribe", layer: "echo" }]],
    );
    assert.deepEqual(recipients(replaced, "subscribe"), ["x1", "x2"]);
    assert.equal(protocol.counters().samplesReplaced, 1);
    // e1's echo no longer counts: e2 alone (weight 1) plus x1 (1) stay below Ê; x2 makes 3.
    receive(protocol, "e2", echo(A));
    assert.equal(persistsOf(receive(protocol, "x1", echo(A))).length, 0);
    assert.deepEqual(persistsOf(receive(protocol, "x2", echo(A))), [
      { instance: INSTANCE, kind: "ready", digest: A },
    ]);
    // e1's ECHO, crossing the unsubscribe, counts for nothing and only draws the notice again.
    assert.deepEqual(labels(receive(protocol, "e1", echo(A))), ["send:unsubscribe"]);
  });

  test("peers down past the grace period that weigh more than an eighth of a sample stay in it (a cut, maybe)", () => {
    const script = { draws: [...SCRIPT.draws, ["x1"]], gossip: SCRIPT.gossip, extra: SCRIPT.extra };
    const protocol = startedNode({}, { peerDownGraceMs: 1_000 }, script);
    receive(protocol, "g1", { kind: "gossip", payload: PAYLOAD_A });
    receive(protocol, "e1", echo(A));
    protocol.handle({ type: "peerDown", peer: "e1", nowMs: 0 });
    protocol.handle({ type: "peerDown", peer: "g1", nowMs: 0 });
    const later = protocol.handle({ type: "tick", nowMs: 1_000 });
    assert.deepEqual(
      sendsOf(later, "unsubscribe").map((action) => [action.to, action.message]),
      [[["g1"], { kind: "unsubscribe", layer: "gossip" }]],
      "only the gossip link moves: e1 (2 of 4 echo draws) stays",
    );
    assert.equal(protocol.counters().samplesReplaced, 0);
    assert.deepEqual(
      persistsOf(receive(protocol, "e2", echo(A))),
      [{ instance: INSTANCE, kind: "ready", digest: A }],
      "e1's echo still counts: with e2 it makes Ê = 3",
    );
  });

  test("a peer back within the grace period is kept and subscribed again (it may have restarted)", () => {
    const protocol = startedNode({}, { peerDownGraceMs: 1_000 });
    protocol.handle({ type: "peerDown", peer: "r1", nowMs: 0 });
    const back = protocol.handle({ type: "peerUp", peer: "r1", nowMs: 500 });
    assert.deepEqual(
      sendsOf(back, "subscribe").map((action) => action.message),
      [{ kind: "subscribe", layer: "ready" }],
    );
    assert.deepEqual(protocol.handle({ type: "tick", nowMs: 5_000 }), []);
    assert.equal(protocol.counters().samplesReplaced ?? 0, 0);
    assert.deepEqual(protocol.handle({ type: "peerUp", peer: "r2", nowMs: 5_000 }), [], "was never down");
  });

  test("a replaced gossip neighbour's successor gets the payloads in flight", () => {
    const protocol = startedNode(
      {},
      { peerDownGraceMs: 0 },
      {
        draws: [...SCRIPT.draws, ["x3"]],
        gossip: SCRIPT.gossip,
        extra: SCRIPT.extra,
      },
    );
    receive(protocol, "g1", { kind: "gossip", payload: PAYLOAD_A });
    const actions = protocol.handle({ type: "peerDown", peer: "g2", nowMs: 0 });
    assert.deepEqual(
      actions.flatMap((action) => (action.type === "send" ? [[action.message.kind, action.to]] : [])),
      [
        ["unsubscribe", ["g2"]],
        ["subscribe", ["x3"]],
        ["gossip", ["x3"]],
      ],
    );
  });

  test("a scheduled refresh moves one gossip link and redraws a share of each sample, once per interval", () => {
    const protocol = node(
      { refreshIntervalMs: 1_000 },
      { ...SCRIPT, draws: [...SCRIPT.draws, ["x1", "x2", "x3", "x4"]] },
    );
    protocol.handle({ type: "start", nowMs: 0 });
    assert.deepEqual(protocol.handle({ type: "tick", nowMs: 999 }), []);
    const refreshed = protocol.handle({ type: "tick", nowMs: 1_000 });
    assert.equal(sendsOf(refreshed, "unsubscribe").length >= 1, true);
    assert.equal(protocol.counters().samplesReplaced, 1);
  });
});

describe("contagion: commitments, bounds and configuration", () => {
  test("restore: echo commitments are never contradicted, several READY digests are fine, replays include them", () => {
    const log: Commitment[] = [
      { instance: INSTANCE, kind: "echo", digest: A },
      { instance: INSTANCE, kind: "ready", digest: A },
      { instance: INSTANCE, kind: "ready", digest: B },
    ];
    const protocol = node();
    assert.deepEqual(protocol.restore(log), [], "subscribers re-subscribe; nothing to send yet");
    protocol.handle({ type: "start", nowMs: 0 });
    assert.deepEqual(protocol.handle({ type: "submit", payload: PAYLOAD_B, nowMs: 0 }), [
      { type: "submitResult", outcome: "conflict", instance: INSTANCE, digest: B },
    ]);
    assert.deepEqual(receive(protocol, "g1", { kind: "gossip", payload: testPayload("alice", 1, "C") }), []);
    const replay = receive(protocol, "x1", { kind: "subscribe", layer: "ready" });
    assert.deepEqual(
      sendsOf(replay, "ready").map((action) => action.message),
      [ready(A), ready(B)],
    );
    assert.throws(
      () =>
        node().restore([
          { instance: INSTANCE, kind: "echo", digest: A },
          { instance: INSTANCE, kind: "echo", digest: B },
        ]),
      (e) => isTallyError(e, "INVALID_CONFIG"),
    );
    assert.throws(
      () => protocol.restore([]),
      (e) => isTallyError(e, "INVALID_CONFIG"),
    );
  });

  test("bounded: the live table, and the instances each sampled peer may open without a payload", () => {
    const protocol = startedNode({}, { maxLiveInstances: 3, maxOpenedPerPeer: 1 });
    receive(protocol, "e2", echo("junk", { source: "mallory", seq: 1 }));
    receive(protocol, "e2", echo("junk", { source: "mallory", seq: 2 }));
    assert.equal(protocol.counters().dropped.peerQuota, 1);
    receive(protocol, "e3", echo("junk", { source: "mallory", seq: 2 }));
    protocol.handle({ type: "submit", payload: PAYLOAD_A, nowMs: 0 });
    assert.equal(protocol.stats().liveInstances, 3);
    const other = testPayload("carol", 1, "c");
    assert.deepEqual(protocol.handle({ type: "submit", payload: other, nowMs: 0 }), [
      {
        type: "submitResult",
        outcome: "full",
        instance: { source: "carol", seq: 1 },
        digest: digestOf(other),
      },
    ]);
    assert.equal(protocol.counters().dropped.liveFull, 1);
  });

  test("stalled instances are evicted, their echo commitment is not", () => {
    const protocol = startedNode({}, { stallTimeoutMs: 1_000 });
    receive(protocol, "g1", { kind: "gossip", payload: PAYLOAD_A }, 0);
    protocol.handle({ type: "tick", nowMs: 2_000 });
    assert.deepEqual(
      [
        protocol.stats().liveInstances,
        protocol.stats().committedInstances,
        protocol.counters().stalledEvicted,
      ],
      [0, 1, 1],
    );
    assert.deepEqual(receive(protocol, "g2", { kind: "gossip", payload: PAYLOAD_B }, 2_000), []);
  });

  test("answers pulls from held and delivered payloads within a per-peer budget, else hands them to the store", () => {
    const protocol = startedNode(
      {},
      { payloadAnswerBurst: 1, payloadAnswersPerPeerPerSecond: 1, retainedDeliveredPayloads: 1 },
    );
    protocol.handle({ type: "submit", payload: PAYLOAD_A, nowMs: 0 });
    const request = { kind: "request", instance: INSTANCE, digest: A } as const;
    assert.equal(sendsOf(receive(protocol, "x1", request), "payload").length, 1);
    assert.deepEqual(receive(protocol, "x1", request), []);
    assert.equal(protocol.counters().dropped.rateLimited, 1);
    assert.deepEqual(receive(protocol, "x2", { ...request, digest: B }), []);
    assert.equal(protocol.counters().dropped.notHeld, 1);
    for (const peer of ["d1", "d2", "d3"]) receive(protocol, peer, ready(A));
    const next = testPayload("alice", 2, "next");
    const nextInstance = { source: "alice", seq: 2 };
    protocol.handle({ type: "submit", payload: next, nowMs: 0 });
    for (const peer of ["d1", "d2", "d3"]) receive(protocol, peer, ready(digestOf(next), nextInstance));
    // Long after delivery, the puller is behind on READYs too: it gets this node's (retransmission).
    assert.deepEqual(receive(protocol, "x3", request, 5_000), [
      { type: "serveFromStore", to: "x3", instance: INSTANCE, digest: A },
      { type: "send", to: ["x3"], message: ready(A) },
    ]);
  });

  test("rejects a bad configuration", () => {
    const oracle = new ScriptedOracle(SELF, SCRIPT);
    const base = { self: SELF, oracle, params: PARAMS, inspect: inspectTestPayload, random: Math.random };
    const invalid: ContagionOptions[] = [
      { ...base, self: "stranger" },
      { ...base, params: { ...PARAMS, Ehat: 5 } },
      { ...base, params: { ...PARAMS, Dhat: 0 } },
      { ...base, params: { ...PARAMS, G: 1.5 } },
      { ...base, maxLiveInstances: 0 },
      { ...base, peerDownGraceMs: -1 },
    ];
    for (const options of invalid) {
      assert.throws(
        () => new ContagionBroadcast(options),
        (e) => isTallyError(e, "INVALID_CONFIG"),
      );
    }
  });

  test("counts messages per kind and recipient; drops a peer running the other mode", () => {
    const protocol = startedNode({ echo: ["x1", "x2"] });
    protocol.handle({ type: "submit", payload: PAYLOAD_A, nowMs: 0 });
    receive(protocol, "x1", { kind: "send", payload: PAYLOAD_B });
    const { sent, received, dropped } = protocol.counters();
    assert.deepEqual(sent, {
      gossip: 2,
      echo: 2,
      ready: 0,
      request: 0,
      payload: 0,
      subscribe: 11,
      unsubscribe: 0,
    });
    assert.equal(received.subscribe, 2);
    assert.equal(dropped.malformed, 1);
  });
});

// ── parameters ──────────────────────────────────────────────────────────────────────────────────────────

describe("contagion parameters", () => {
  test("sampled defaults (beyond full membership): every failure bound ≤ 1e-9 with ⌊(N−1)/5⌋ Byzantine members", (t) => {
    for (const n of [FULL_MEMBERSHIP_MAX_NODES + 1, 200, 300, 1_000]) {
      const params = defaultContagionParams(n);
      assert.ok(params.Ehat <= params.E && params.Rhat <= params.R && params.Dhat <= params.D);
      const { validity, consistency, totality } = boundsFor(params, n, designByzantine(n) / n);
      for (const [name, bound] of Object.entries({ validity, consistency, totality })) {
        assert.ok(bound <= DEFAULT_EPSILON * (1 + 1e-6), `N=${n} ${name}=${bound}`);
      }
      if ([300].includes(n)) t.diagnostic(`N=${n}: ${JSON.stringify(params)}`);
    }
    assert.throws(
      () => defaultContagionParams(0),
      (e) => isTallyError(e, "INVALID_CONFIG"),
    );
  });
});
