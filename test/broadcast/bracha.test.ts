import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BrachaBroadcast, type BrachaOptions } from "../../src/broadcast/bracha/bracha.ts";
import { type BrachaQuorums, brachaQuorums } from "../../src/broadcast/bracha/quorums.ts";
import { instanceKey } from "../../src/broadcast/instance/instanceId.ts";
import type {
  BroadcastAction,
  BroadcastMessage,
  Commitment,
  InstanceRef,
  MessageKind,
} from "../../src/broadcast/types.ts";
import { isTallyError } from "../../src/core/errors.ts";
import type { PeerId } from "../../src/core/peerId.ts";
import {
  type ByzantineStrategy,
  digestOf,
  inspectTestPayload,
  randomInt,
  SIM_PULL_RETRY_MS,
  SimNetwork,
  seededRandom,
  testPayload,
  zeroCounts,
} from "./harness.ts";

// ── unit tests: one state machine driven by hand (N = 4, f = 1: echo 3, amplify 2, deliver 3) ───────────

const MEMBERS = ["a", "b", "c", "d"];
const INSTANCE: InstanceRef = { source: "alice", seq: 1 };
const PAYLOAD_A = testPayload("alice", 1, "A");
const PAYLOAD_B = testPayload("alice", 1, "B");
const A = digestOf(PAYLOAD_A);
const B = digestOf(PAYLOAD_B);

function brachaNode(self: PeerId = "a", options: Partial<BrachaOptions> = {}): BrachaBroadcast {
  return new BrachaBroadcast({
    self,
    members: MEMBERS,
    inspect: inspectTestPayload,
    random: seededRandom(7),
    pullRetryMs: 100,
    ...options,
  });
}

function receive(node: BrachaBroadcast, from: PeerId, message: BroadcastMessage, nowMs = 0) {
  return node.handle({ type: "message", from, message, nowMs });
}

function sendsOf(actions: readonly BroadcastAction[], kind: MessageKind) {
  return actions.flatMap((action) =>
    action.type === "send" && action.message.kind === kind ? [action] : [],
  );
}

function persistsOf(actions: readonly BroadcastAction[]): Commitment[] {
  return actions.flatMap((action) => (action.type === "persist" ? [action.commitment] : []));
}

function deliveriesOf(actions: readonly BroadcastAction[]) {
  return actions.flatMap((action) => (action.type === "deliver" ? [action] : []));
}

describe("bracha: readiness probe", () => {
  test("reachable with itself and enough peers for the echo and delivery quorums (N = 4: 3)", () => {
    const node = brachaNode("a");
    assert.equal(
      node.quorumsReachable((peer) => peer === "b" || peer === "c"),
      true,
    );
    assert.equal(
      node.quorumsReachable((peer) => peer === "b"),
      false,
    );
    assert.equal(
      node.quorumsReachable((peer) => peer === "a" || peer === "b"),
      false,
      "itself counts once",
    );
  });
});

describe("bracha quorums", () => {
  test("match ⌈(N+f+1)/2⌉, f+1 and 2f+1 with f = ⌊(N−1)/3⌋", () => {
    assert.deepEqual(brachaQuorums(1), { n: 1, f: 0, echo: 1, readyAmplify: 1, deliver: 1 });
    assert.deepEqual(brachaQuorums(4), { n: 4, f: 1, echo: 3, readyAmplify: 2, deliver: 3 });
    assert.deepEqual(brachaQuorums(7), { n: 7, f: 2, echo: 5, readyAmplify: 3, deliver: 5 });
    assert.deepEqual(brachaQuorums(10), { n: 10, f: 3, echo: 7, readyAmplify: 4, deliver: 7 });
    assert.deepEqual(brachaQuorums(31), { n: 31, f: 10, echo: 21, readyAmplify: 11, deliver: 21 });
  });
});

describe("bracha state machine", () => {
  test("the introducer sends the payload, then persists its echo before sending it", () => {
    const actions = brachaNode("a").handle({ type: "submit", payload: PAYLOAD_A, nowMs: 0 });
    assert.deepEqual(
      actions.map((action) => (action.type === "send" ? `send:${action.message.kind}` : action.type)),
      ["send:send", "persist", "send:echo", "submitResult"],
    );
    assert.deepEqual(persistsOf(actions), [{ instance: INSTANCE, kind: "echo", digest: A }]);
    assert.deepEqual(sendsOf(actions, "send")[0]!.to, ["b", "c", "d"]);
    assert.deepEqual(actions.at(-1), {
      type: "submitResult",
      outcome: "accepted",
      instance: INSTANCE,
      digest: A,
    });
  });

  test("a single-member network delivers its own submission at once", () => {
    const node = new BrachaBroadcast({
      self: "solo",
      members: ["solo"],
      inspect: inspectTestPayload,
      random: Math.random,
    });
    const actions = node.handle({ type: "submit", payload: PAYLOAD_A, nowMs: 0 });
    assert.equal(deliveriesOf(actions).length, 1);
    assert.equal(sendsOf(actions, "echo").length, 0, "no one else to tell");
  });

  test("echo, ready on an echo quorum, deliver on 2f+1 readies — each persisted before it is sent", () => {
    const node = brachaNode("b");
    const onSend = receive(node, "a", { kind: "send", payload: PAYLOAD_A });
    assert.equal(sendsOf(onSend, "echo").length, 1);
    assert.equal(persistsOf(onSend).length, 1);
    assert.deepEqual(receive(node, "a", { kind: "echo", instance: INSTANCE, digest: A }), []);
    const onQuorum = receive(node, "c", { kind: "echo", instance: INSTANCE, digest: A });
    const persistAt = onQuorum.findIndex((action) => action.type === "persist");
    const readyAt = onQuorum.findIndex((action) => action.type === "send" && action.message.kind === "ready");
    assert.ok(persistAt >= 0 && persistAt < readyAt, "persist(ready) precedes send(ready)");
    assert.deepEqual(persistsOf(onQuorum), [{ instance: INSTANCE, kind: "ready", digest: A }]);
    assert.deepEqual(receive(node, "a", { kind: "ready", instance: INSTANCE, digest: A }), []);
    const onDeliver = receive(node, "c", { kind: "ready", instance: INSTANCE, digest: A });
    assert.deepEqual(deliveriesOf(onDeliver), [
      { type: "deliver", instance: INSTANCE, digest: A, payload: PAYLOAD_A },
    ]);
    assert.deepEqual(receive(node, "d", { kind: "ready", instance: INSTANCE, digest: A }), []);
    assert.equal(node.counters().delivered, 1);
    assert.equal(node.counters().dropped.settled, 1);
  });

  test("echoes only the first valid payload of an instance", () => {
    const node = brachaNode("b");
    assert.deepEqual(receive(node, "a", { kind: "send", payload: testPayload("alice", 1, "x", false) }), []);
    assert.deepEqual(receive(node, "a", { kind: "send", payload: new Uint8Array([1, 2, 3]) }), []);
    assert.equal(node.counters().dropped.invalidPayload, 2);
    assert.equal(sendsOf(receive(node, "a", { kind: "send", payload: PAYLOAD_A }), "echo").length, 1);
    assert.deepEqual(receive(node, "c", { kind: "send", payload: PAYLOAD_B }), []);
    assert.equal(node.counters().dropped.unneededPayload, 1);
    assert.deepEqual(node.handle({ type: "submit", payload: PAYLOAD_B, nowMs: 0 }), [
      { type: "submitResult", outcome: "conflict", instance: INSTANCE, digest: B },
    ]);
    assert.deepEqual(node.handle({ type: "submit", payload: PAYLOAD_A, nowMs: 0 }).at(-1), {
      type: "submitResult",
      outcome: "duplicate",
      instance: INSTANCE,
      digest: A,
    });
  });

  test("a member's vote counts once, for its first digest; non-members are ignored", () => {
    const node = brachaNode("a");
    for (const digest of [A, A, B]) receive(node, "b", { kind: "ready", instance: INSTANCE, digest });
    assert.deepEqual(receive(node, "mallory", { kind: "ready", instance: INSTANCE, digest: A }), []);
    assert.equal(node.counters().dropped.duplicateVote, 2);
    assert.equal(node.counters().dropped.nonMember, 1);
    // f+1 = 2 distinct members: amplification, without holding the payload.
    const onAmplify = receive(node, "c", { kind: "ready", instance: INSTANCE, digest: A });
    assert.deepEqual(persistsOf(onAmplify), [{ instance: INSTANCE, kind: "ready", digest: A }]);
    assert.equal(sendsOf(onAmplify, "ready").length, 1);
    // Never a second READY, even when another digest later gathers an echo quorum (only > f liars can do it).
    for (const from of ["b", "c", "d"]) {
      assert.equal(
        sendsOf(receive(node, from, { kind: "echo", instance: INSTANCE, digest: B }), "ready").length,
        0,
      );
    }
  });

  test("malformed votes are dropped before they cost state", () => {
    const node = brachaNode("a");
    const bad = [
      { kind: "echo", instance: { source: "", seq: 1 }, digest: A },
      { kind: "echo", instance: { source: "alice", seq: 0 }, digest: A },
      { kind: "ready", instance: { source: "alice", seq: 1.5 }, digest: A },
      { kind: "ready", instance: INSTANCE, digest: "x".repeat(500) },
      { kind: "request", instance: null, digest: A },
    ] as unknown as BroadcastMessage[];
    for (const message of bad) assert.deepEqual(receive(node, "b", message), []);
    assert.equal(node.counters().dropped.malformed, bad.length);
    assert.equal(node.stats().liveInstances, 0);
  });

  test("pulls a missing payload from the voters, retries another on tick, accepts only matching bytes", () => {
    const node = brachaNode("a");
    receive(node, "b", { kind: "ready", instance: INSTANCE, digest: A });
    receive(node, "c", { kind: "ready", instance: INSTANCE, digest: A }); // amplify → 3 readies with ours
    assert.equal(node.stats().pullingInstances, 1);
    assert.equal(node.counters().sent.request, 1);
    // A Byzantine answer: validly signed, but another payload of the instance.
    assert.deepEqual(receive(node, "b", { kind: "payload", payload: PAYLOAD_B }), []);
    assert.equal(node.counters().dropped.unsolicitedPayload, 1);
    assert.deepEqual(node.handle({ type: "tick", nowMs: 50 }), [], "not yet due");
    const retry = sendsOf(node.handle({ type: "tick", nowMs: 100 }), "request");
    assert.equal(retry.length, 1);
    const retry2 = sendsOf(node.handle({ type: "tick", nowMs: 200 }), "request");
    assert.notDeepEqual(retry[0]!.to, retry2[0]!.to, "a different voter each retry");
    assert.ok(["b", "c"].includes(retry2[0]!.to[0]!), "only voters for the digest are asked");
    const delivered = deliveriesOf(receive(node, "c", { kind: "payload", payload: PAYLOAD_A }, 210));
    assert.deepEqual(delivered, [{ type: "deliver", instance: INSTANCE, digest: A, payload: PAYLOAD_A }]);
    assert.equal(node.stats().pullingInstances, 0);
    assert.deepEqual(node.handle({ type: "tick", nowMs: 1_000 }), []);
  });

  test("answers pulls from live and recently delivered payloads, within a per-peer budget", () => {
    const node = brachaNode("a", { payloadAnswerBurst: 2, payloadAnswersPerPeerPerSecond: 1 });
    node.handle({ type: "submit", payload: PAYLOAD_A, nowMs: 0 });
    const request = { kind: "request", instance: INSTANCE, digest: A } as const;
    assert.equal(sendsOf(receive(node, "b", request), "payload").length, 1);
    assert.equal(sendsOf(receive(node, "b", request), "payload").length, 1);
    assert.deepEqual(receive(node, "b", request), []);
    assert.equal(node.counters().dropped.rateLimited, 1);
    assert.equal(sendsOf(receive(node, "c", request), "payload").length, 1, "budgets are per peer");
    assert.equal(sendsOf(receive(node, "b", request, 1_000), "payload").length, 1, "refilled after 1 s");
    assert.deepEqual(receive(node, "b", { kind: "request", instance: INSTANCE, digest: B }, 5_000), []);
    assert.equal(node.counters().dropped.notHeld, 1);
  });

  test("pulls for payloads delivered long ago are handed to the driver's store", () => {
    const node = brachaNode("a", { retainedDeliveredPayloads: 1 });
    const deliverHere = (payload: Uint8Array) => {
      const { instance, digest } = inspectTestPayload(payload)!;
      node.handle({ type: "submit", payload, nowMs: 0 });
      for (const from of ["b", "c"]) receive(node, from, { kind: "ready", instance, digest });
      assert.equal(node.deliveredDigest(instance), digest);
    };
    deliverHere(PAYLOAD_A);
    deliverHere(testPayload("alice", 2, "next"));
    assert.deepEqual(receive(node, "d", { kind: "request", instance: INSTANCE, digest: A }), [
      { type: "serveFromStore", to: "d", instance: INSTANCE, digest: A },
    ]);
  });

  test("delivered instances leave the live maps but stay closed", () => {
    const node = brachaNode("a");
    node.handle({ type: "submit", payload: PAYLOAD_A, nowMs: 0 });
    receive(node, "b", { kind: "ready", instance: INSTANCE, digest: A });
    receive(node, "c", { kind: "ready", instance: INSTANCE, digest: A });
    assert.deepEqual(node.stats(), {
      liveInstances: 0,
      pullingInstances: 0,
      committedInstances: 0,
      deliveredRecords: 1,
    });
    assert.equal(node.deliveredDigest(INSTANCE), A);
    assert.deepEqual(receive(node, "d", { kind: "send", payload: PAYLOAD_B }), []);
    assert.deepEqual(receive(node, "d", { kind: "echo", instance: INSTANCE, digest: B }), []);
    assert.equal(node.stats().liveInstances, 0);
    assert.deepEqual(node.handle({ type: "submit", payload: PAYLOAD_B, nowMs: 0 }), [
      { type: "submitResult", outcome: "delivered", instance: INSTANCE, digest: B },
    ]);
  });

  test("restart: restored commitments are re-announced and never contradicted", () => {
    const before = brachaNode("b");
    const log = persistsOf(receive(before, "a", { kind: "send", payload: PAYLOAD_A }));
    const ready = { source: "bob", seq: 4 };
    receive(before, "c", { kind: "ready", instance: ready, digest: "r1" });
    log.push(...persistsOf(receive(before, "d", { kind: "ready", instance: ready, digest: "r1" })));
    assert.deepEqual(log, [
      { instance: INSTANCE, kind: "echo", digest: A },
      { instance: ready, kind: "ready", digest: "r1" },
    ]);

    const after = brachaNode("b");
    const announced = after.restore([...log, log[0]!]);
    assert.deepEqual(persistsOf(announced), [], "already durable");
    assert.deepEqual(
      announced.map((action) => action.type === "send" && [action.message.kind, action.to.length]),
      [
        ["echo", 3],
        ["ready", 3],
      ],
    );
    assert.deepEqual(receive(after, "c", { kind: "send", payload: PAYLOAD_B }), []);
    assert.deepEqual(after.handle({ type: "submit", payload: PAYLOAD_B, nowMs: 0 }), [
      { type: "submitResult", outcome: "conflict", instance: INSTANCE, digest: B },
    ]);
    for (const from of ["a", "c", "d"]) {
      assert.equal(
        sendsOf(receive(after, from, { kind: "ready", instance: ready, digest: "r2" }), "ready").length,
        0,
      );
    }
    // A restored READY still counts as this node's vote: two more for r1 make 2f+1, and it pulls the payload.
    const fresh = brachaNode("c");
    fresh.restore([{ instance: ready, kind: "ready", digest: "r1" }]);
    receive(fresh, "a", { kind: "ready", instance: ready, digest: "r1" });
    receive(fresh, "b", { kind: "ready", instance: ready, digest: "r1" });
    assert.equal(fresh.stats().pullingInstances, 1);
  });

  test("restore refuses a corrupt log and late calls", () => {
    const conflicting: Commitment[] = [
      { instance: INSTANCE, kind: "echo", digest: A },
      { instance: INSTANCE, kind: "echo", digest: B },
    ];
    assert.throws(
      () => brachaNode().restore(conflicting),
      (e) => isTallyError(e, "INVALID_CONFIG"),
    );
    const started = brachaNode();
    started.handle({ type: "tick", nowMs: 0 });
    assert.throws(
      () => started.restore([]),
      (e) => isTallyError(e, "INVALID_CONFIG"),
    );
  });

  test("bounded: the live table refuses new instances when full, and each member opens only its share", () => {
    const node = brachaNode("a", { maxLiveInstances: 4 }); // share: ⌈4/4⌉ = 1 per member
    const vote = (from: PeerId, seq: number) =>
      receive(node, from, { kind: "echo", instance: { source: "mallory", seq }, digest: "junk" });
    vote("b", 1);
    vote("b", 2);
    assert.equal(node.counters().dropped.peerQuota, 1);
    vote("c", 2);
    vote("d", 3);
    node.handle({ type: "submit", payload: PAYLOAD_A, nowMs: 0 });
    assert.equal(node.stats().liveInstances, 4);
    const other = testPayload("carol", 1, "c");
    assert.deepEqual(node.handle({ type: "submit", payload: other, nowMs: 0 }), [
      {
        type: "submitResult",
        outcome: "full",
        instance: { source: "carol", seq: 1 },
        digest: digestOf(other),
      },
    ]);
  });

  test("quotas: payloads a peer sends unasked are charged to it and to their source account until they leave", () => {
    const node = brachaNode("a", { maxIntroducedPerPeer: 2, maxIntroducedPerAccount: 3 });
    const send = (from: PeerId, source: string, seq: number) =>
      sendsOf(receive(node, from, { kind: "send", payload: testPayload(source, seq, "x") }), "echo").length;
    assert.equal(send("b", "mallory1", 1), 1);
    assert.equal(send("b", "mallory2", 1), 1);
    assert.equal(send("b", "mallory3", 1), 0, "b has introduced its share");
    assert.equal(node.counters().dropped.peerQuota, 1);
    assert.equal(send("c", "mallory3", 1), 1, "another peer's share is untouched");
    assert.equal(send("c", "carol", 1), 1);
    assert.equal(send("d", "carol", 2), 1);
    assert.equal(send("d", "carol", 3), 1);
    assert.equal(node.stats().liveInstances, 6);
    // carol has 3 instances live: a fourth is refused whoever brings it, and leaves nothing behind.
    assert.equal(send("d", "carol", 4), 0);
    assert.equal(node.counters().dropped.accountQuota, 1);
    assert.equal(node.stats().liveInstances, 6);
    const own = testPayload("carol", 5, "x");
    const refused = node.handle({ type: "submit", payload: own, nowMs: 0 });
    assert.equal(
      refused.find((a) => a.type === "submitResult")?.outcome,
      "full",
      "the API is no way around it",
    );
    // Delivery gives the quota back.
    const carol1 = { source: "carol", seq: 1 };
    const digest = digestOf(testPayload("carol", 1, "x"));
    for (const from of ["b", "c", "d"]) receive(node, from, { kind: "ready", instance: carol1, digest });
    assert.equal(node.stats().liveInstances, 5);
    assert.equal(send("b", "carol", 4), 0, "b still holds its two");
    assert.equal(send("c", "carol", 4), 1);
  });

  test("stalled instances are evicted, their commitments are not", () => {
    const node = brachaNode("b", { stallTimeoutMs: 1_000 });
    receive(node, "a", { kind: "send", payload: PAYLOAD_A }, 0);
    receive(node, "c", { kind: "echo", instance: { source: "ghost", seq: 1 }, digest: "g" }, 500);
    node.handle({ type: "tick", nowMs: 1_200 });
    assert.equal(node.stats().liveInstances, 1, "only the instance idle for longer than the timeout goes");
    node.handle({ type: "tick", nowMs: 1_600 });
    assert.deepEqual(node.stats(), {
      liveInstances: 0,
      pullingInstances: 0,
      committedInstances: 1,
      deliveredRecords: 0,
    });
    assert.equal(node.counters().stalledEvicted, 2);
    assert.deepEqual(receive(node, "c", { kind: "send", payload: PAYLOAD_B }, 2_000), []);
    // Reopened by a vote, the instance still carries this node's echo: two more make the echo quorum.
    receive(node, "a", { kind: "echo", instance: INSTANCE, digest: A }, 2_000);
    const onQuorum = receive(node, "c", { kind: "echo", instance: INSTANCE, digest: A }, 2_000);
    assert.equal(sendsOf(onQuorum, "ready").length, 1);
  });

  test("rejects a bad configuration", () => {
    const base = { inspect: inspectTestPayload, random: Math.random };
    const invalid = [
      { ...base, self: "z", members: MEMBERS },
      { ...base, self: "a", members: ["a", "a"] },
      { ...base, self: "a", members: [] },
      { ...base, self: "a", members: MEMBERS, maxLiveInstances: 0 },
      { ...base, self: "a", members: MEMBERS, pullRetryMs: 1.5 },
    ];
    for (const options of invalid) {
      assert.throws(
        () => new BrachaBroadcast(options),
        (e) => isTallyError(e, "INVALID_CONFIG"),
      );
    }
  });

  test("counts sent messages per recipient and received messages per kind", () => {
    const node = brachaNode("a");
    node.handle({ type: "submit", payload: PAYLOAD_A, nowMs: 0 });
    receive(node, "b", { kind: "echo", instance: INSTANCE, digest: A });
    const { sent, received } = node.counters();
    assert.deepEqual(sent, { send: 3, echo: 3, ready: 0, request: 0, payload: 0 });
    assert.deepEqual(received, { send: 0, echo: 1, ready: 0, request: 0, payload: 0 });
  });
});

// ── seeded simulations: the secure-broadcast properties under shuffled schedules and Byzantine nodes ───

/** coordinated: all f Byzantine nodes equivocate together on one instance (`coordinatedEquivocate`). */
type Scenario = ByzantineStrategy | "mixed" | "coordinated";
const STRATEGIES: readonly ByzantineStrategy[] = ["silent", "equivocate", "forge"];
const SCENARIOS: readonly Scenario[] = ["silent", "equivocate", "forge", "mixed", "coordinated"];
const SIZES = [4, 7, 10, 31];
/** Seeds per network size. */
const SEEDS_PER_SIZE = 200;

interface RunReport {
  /** Messages sent by correct nodes, by kind. */
  readonly sent: Record<MessageKind, number>;
  readonly correctNodes: number;
  readonly broadcasts: number;
  readonly pulls: number;
}

function runScenario(n: number, seed: number, scenario: Scenario, restart: boolean): RunReport {
  const context = `n=${n} seed=${seed} scenario=${scenario} restart=${restart}`;
  const { f } = brachaQuorums(n);
  const random = seededRandom(seed * 7_919 + n);
  const indices = Array.from({ length: n }, (_, i) => i);
  const byzantine = new Map<number, ByzantineStrategy>();
  while (byzantine.size < f) {
    const i = indices[randomInt(random, n)]!;
    if (!byzantine.has(i)) {
      const strategy =
        scenario === "mixed"
          ? STRATEGIES[randomInt(random, STRATEGIES.length)]!
          : scenario === "coordinated"
            ? "equivocate"
            : scenario;
      byzantine.set(i, strategy);
    }
  }
  const net = new SimNetwork({ n, seed, byzantine });
  const correctIndices = indices.filter((i) => !byzantine.has(i));
  const pickCorrect = () => correctIndices[randomInt(random, correctIndices.length)]!;

  // Correct introductions, including two consecutive seqs of one account (multi-shot).
  const honest: { instance: InstanceRef; digest: string }[] = [];
  for (const [source, seq] of [
    ["acct-0", 1],
    ["acct-0", 2],
    ["acct-1", 1],
    ["acct-2", 1],
  ] as const) {
    const payload = testPayload(source, seq, `seed ${seed}`);
    net.submit(pickCorrect(), payload);
    honest.push({ instance: { source, seq }, digest: digestOf(payload) });
  }
  // A double spend: a Byzantine account hands two transfers with one seq to two correct nodes.
  const first = pickCorrect();
  const second = correctIndices.find((i) => i !== first) ?? first;
  net.submit(first, testPayload("double", 1, "to Alice"));
  net.submit(second, testPayload("double", 1, "to Bob"));
  let broadcasts = honest.length + 1;
  // Equivocation split in halves (no digest can gather an echo quorum), or lopsided so that the larger part
  // reaches one with the equivocator's own echo and the smaller part must pull the payload it never saw.
  const { echo } = brachaQuorums(n);
  const lopsided = Math.max(1, correctIndices.length - (echo - 1));
  if (scenario === "coordinated" && byzantine.size > 0) {
    const split = random() < 0.5 ? undefined : lopsided;
    net.coordinatedEquivocate([...byzantine.keys()], { source: "byz-coordinated", seq: 1 }, split);
    broadcasts++;
  }
  for (const [i, strategy] of byzantine) {
    if (strategy !== "equivocate" || scenario === "coordinated") continue;
    net.equivocate(i, { source: `byz-${i}`, seq: 1 }, random() < 0.5 ? undefined : lopsided);
    broadcasts++;
  }
  // One broadcast alone takes ~2N² steps and a run has at least five: the crash always happens mid-run.
  const crashing = restart ? net.correct[randomInt(random, net.correct.length)] : undefined;
  if (crashing !== undefined) crashing.crashAtStep = 1 + randomInt(random, 2 * n * n);

  net.run();

  const correct = net.correct;
  if (crashing !== undefined) assert.equal(crashing.restarts, 1, `the crash happened (${context})`);
  const agreed = new Map<string, string>();
  for (const node of correct) {
    for (const [key, digests] of node.deliveries) {
      assert.equal(
        digests.length,
        1,
        `integrity: ${node.id} delivered ${key} ${digests.length} times (${context})`,
      );
      const digest = digests[0]!;
      const other = agreed.get(key);
      assert.ok(other === undefined || other === digest, `consistency: ${key} (${context})`);
      agreed.set(key, digest);
    }
    for (const votes of [node.echoesSent, node.readiesSent]) {
      for (const [key, digests] of votes) {
        assert.ok(digests.size <= 1, `${node.id} voted ${digests.size} digests in ${key} (${context})`);
      }
    }
  }
  // A crash loses the votes a node had received, and no peer resends them: only safety is promised then.
  if (!restart) {
    for (const { instance, digest } of honest) {
      for (const node of correct) {
        assert.deepEqual(
          node.deliveries.get(instanceKey(instance)),
          [digest],
          `validity: ${node.id} (${context})`,
        );
      }
    }
    for (const key of agreed.keys()) {
      for (const node of correct)
        assert.ok(node.deliveries.has(key), `totality: ${node.id} ${key} (${context})`);
    }
  }
  const sent = zeroCounts();
  let pulls = 0;
  for (const node of correct) {
    for (const [kind, count] of Object.entries(node.sent)) sent[kind as MessageKind] += count;
    pulls += node.protocol.counters().pullsStarted;
  }
  return { sent, correctNodes: correct.length, broadcasts, pulls };
}

function perNodePerBroadcast(reports: readonly RunReport[]): string {
  const sent = zeroCounts();
  let denominator = 0;
  for (const report of reports) {
    for (const [kind, count] of Object.entries(report.sent)) sent[kind as MessageKind] += count;
    denominator += report.correctNodes * report.broadcasts;
  }
  return Object.entries(sent)
    .map(([kind, count]) => `${kind}=${(count / denominator).toFixed(2)}`)
    .join(" ");
}

describe("bracha in a seeded network", () => {
  test("one honest broadcast: message cost per node", (t) => {
    for (const n of SIZES) {
      const net = new SimNetwork({ n, seed: n });
      net.submit(0, testPayload("acct", 1, "hello"));
      net.run();
      const [introducer, ...others] = net.correct;
      for (const node of net.correct) assert.equal(node.deliveries.size, 1);
      for (const node of others) {
        assert.equal(node.sent.echo, n - 1);
        assert.equal(node.sent.ready, n - 1);
        assert.equal(node.sent.send, 0, "payloads are not relayed");
      }
      const fmt = (s: Record<string, number>) =>
        Object.entries(s)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ");
      t.diagnostic(
        `N=${n} introducer sent: ${fmt(introducer!.sent)}; each other node: ${fmt(others[0]!.sent)}`,
      );
    }
  });

  for (const n of SIZES) {
    test(`N=${n}: validity, consistency, totality, integrity and restart safety over ${SEEDS_PER_SIZE} seeds`, (t) => {
      const reports = new Map<string, RunReport[]>();
      for (let seed = 0; seed < SEEDS_PER_SIZE; seed++) {
        const scenario = SCENARIOS[seed % SCENARIOS.length]!;
        const restart = Math.floor(seed / SCENARIOS.length) % 3 === 2;
        const report = runScenario(n, seed, scenario, restart);
        const label = restart ? `${scenario}+restart` : scenario;
        reports.set(label, [...(reports.get(label) ?? []), report]);
      }
      for (const [label, runs] of reports) {
        const pulls = runs.reduce((sum, run) => sum + run.pulls, 0);
        t.diagnostic(
          `N=${n} f=${brachaQuorums(n).f} ${label} (${runs.length} runs, ${pulls} pulls): sent per correct node per broadcast: ${perNodePerBroadcast(runs)}`,
        );
      }
    });
  }

  test("a node that must deliver a payload it never saw pulls it (equivocating introducer)", () => {
    // n0 is Byzantine: the A half (1 node) cannot reach an echo quorum, the B half (2 nodes + n0) can.
    const net = new SimNetwork({ n: 4, seed: 3, byzantine: new Map([[0, "equivocate"]]) });
    net.equivocate(0, { source: "byz", seq: 1 });
    net.run();
    const digests = net.correct.map((node) => node.deliveries.get("byz:1")?.[0]);
    assert.equal(new Set(digests).size, 1);
    assert.ok(digests[0] !== undefined);
    assert.ok(net.correct.some((node) => node.protocol.counters().pullsStarted > 0));
  });
});

// ── coordinated equivocators: a test that would catch a weakened echo quorum ─────────────────────────────

/**
 * Bracha with its echo quorum lowered to a bare majority ⌈(N+1)/2⌉: the planted bug. Two bare majorities of
 * N = 3f+2 overlap in only f+1 members, which f liars plus one correct member per side can cover.
 */
class MajorityEchoBracha extends BrachaBroadcast {
  override readonly quorums: BrachaQuorums;

  constructor(options: BrachaOptions) {
    super(options);
    const real = brachaQuorums(options.members.length);
    this.quorums = { ...real, echo: Math.ceil((real.n + 1) / 2) };
  }
}

/** N = 3f+2: the smallest sizes where f liars can give both halves of the correct nodes a delivery quorum. */
const COORDINATED_SIZES = [5, 8, 11];
const COORDINATED_SEEDS = 100;

interface CoordinatedRun {
  /** Instances that two correct nodes delivered with different digests. */
  readonly inconsistent: readonly string[];
  /** Property failures other than consistency (integrity, validity, totality, double votes). */
  readonly otherFailures: readonly string[];
}

/** All f Byzantine nodes equivocate together on one instance, split in halves, while honest transfers run. */
function coordinatedRun(n: number, seed: number, weakened: boolean): CoordinatedRun {
  const { f } = brachaQuorums(n);
  const random = seededRandom(seed * 104_729 + n);
  const byzantine = new Map<number, ByzantineStrategy>();
  while (byzantine.size < f) byzantine.set(randomInt(random, n), "equivocate");
  const net = new SimNetwork({
    n,
    seed,
    byzantine,
    protocol: weakened
      ? (node, { ids, random: stream }) =>
          new MajorityEchoBracha({
            self: node.id,
            members: ids,
            inspect: inspectTestPayload,
            random: stream,
            pullRetryMs: SIM_PULL_RETRY_MS,
            retransmitInitialMs: 0,
            isSettled: (instance) => node.store.has(instanceKey(instance)),
          })
      : undefined,
  });
  const correctIndices = Array.from({ length: n }, (_, i) => i).filter((i) => !byzantine.has(i));
  const honest = ["acct-0", "acct-1"].map((source) => {
    const payload = testPayload(source, 1, `seed ${seed}`);
    net.submit(correctIndices[randomInt(random, correctIndices.length)]!, payload);
    return { key: instanceKey({ source, seq: 1 }), digest: digestOf(payload) };
  });
  net.coordinatedEquivocate([...byzantine.keys()], { source: "byz", seq: 1 });
  net.run();

  const inconsistent = new Set<string>();
  const otherFailures: string[] = [];
  const agreed = new Map<string, string>();
  for (const node of net.correct) {
    for (const [key, digests] of node.deliveries) {
      if (digests.length !== 1)
        otherFailures.push(`integrity: ${node.id} delivered ${key} ${digests.length}×`);
      const other = agreed.get(key);
      if (other !== undefined && other !== digests[0]) inconsistent.add(key);
      agreed.set(key, digests[0]!);
    }
    for (const votes of [node.echoesSent, node.readiesSent]) {
      for (const [key, digests] of votes) {
        if (digests.size > 1) otherFailures.push(`${node.id} voted ${digests.size} digests in ${key}`);
      }
    }
    for (const { key, digest } of honest) {
      if (node.deliveries.get(key)?.[0] !== digest) otherFailures.push(`validity: ${node.id} ${key}`);
    }
  }
  for (const key of agreed.keys()) {
    for (const node of net.correct) {
      if (!node.deliveries.has(key)) otherFailures.push(`totality: ${node.id} ${key}`);
    }
  }
  return { inconsistent: [...inconsistent], otherFailures };
}

describe("bracha against coordinated equivocators (N = 3f+2)", () => {
  for (const n of COORDINATED_SIZES) {
    test(`N=${n}: Bracha's echo quorum keeps every property over ${COORDINATED_SEEDS} seeds`, () => {
      for (let seed = 0; seed < COORDINATED_SEEDS; seed++) {
        const run = coordinatedRun(n, seed, false);
        assert.deepEqual(run.inconsistent, [], `consistency (n=${n} seed=${seed})`);
        assert.deepEqual(run.otherFailures, [], `n=${n} seed=${seed}`);
      }
    });

    test(`N=${n}: with the echo quorum weakened to ⌈(N+1)/2⌉ the same runs break consistency`, (t) => {
      const weak = Math.ceil((n + 1) / 2);
      assert.ok(weak < brachaQuorums(n).echo, "the weakened quorum really is weaker");
      let broken = 0;
      for (let seed = 0; seed < COORDINATED_SEEDS; seed++) {
        if (coordinatedRun(n, seed, true).inconsistent.length > 0) broken++;
      }
      t.diagnostic(`N=${n}: echo quorum ${weak}: ${broken}/${COORDINATED_SEEDS} seeds delivered two digests`);
      assert.ok(broken > 0, `no seed of ${COORDINATED_SEEDS} caught the weakened echo quorum at N=${n}`);
    });
  }
});
