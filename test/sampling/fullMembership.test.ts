import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { chooseParams } from "../../src/analysis/chooseParams.ts";
import {
  DEFAULT_EPSILON,
  defaultContagionParams,
  designByzantine,
  FULL_MEMBERSHIP_MAX_NODES,
  toleratedFaults,
} from "../../src/analysis/defaultParams.ts";
import { brachaQuorums } from "../../src/broadcast/bracha/quorums.ts";
import { ContagionBroadcast } from "../../src/broadcast/contagion/contagion.ts";
import type { ContagionParams } from "../../src/broadcast/contagion/contagionParams.ts";
import { instanceKey } from "../../src/broadcast/instance/instanceId.ts";
import type { BroadcastAction, Digest } from "../../src/broadcast/types.ts";
import { isTallyError } from "../../src/core/errors.ts";
import { parseGenesis } from "../../src/genesis/genesis.ts";
import {
  coversMembership,
  FullMembershipOracle,
  fullMembershipParams,
  fullMembershipQuorums,
} from "../../src/sampling/fullMembership.ts";
import { StaticMembership } from "../../src/sampling/staticMembership.ts";
import {
  type ByzantineStrategy,
  digestOf,
  inspectTestPayload,
  SIM_PULL_RETRY_MS,
  SimNetwork,
  seededRandom,
  testPayload,
} from "../broadcast/harness.ts";

const MEMBERS = ["p0", "p1", "p2", "p3"];
const FOUR = defaultContagionParams(4);

function node(params: ContagionParams, extra: { peerDownGraceMs?: number } = {}) {
  return new ContagionBroadcast({
    self: "p0",
    oracle: new StaticMembership({ self: "p0", members: MEMBERS, random: seededRandom(1) }),
    params,
    inspect: inspectTestPayload,
    random: seededRandom(2),
    ...extra,
  });
}

const subscribedTo = (actions: readonly BroadcastAction[], layer: string) =>
  actions
    .flatMap((a) =>
      a.type === "send" && a.message.kind === "subscribe" && a.message.layer === layer ? a.to : [],
    )
    .sort();

describe("full-membership oracle", () => {
  test("a sample is every other member exactly once, whatever the count; gossip draws stay uniform", () => {
    const inner = new StaticMembership({ self: "p0", members: MEMBERS, random: seededRandom(3) });
    const oracle = new FullMembershipOracle(inner);
    assert.equal(oracle.size, 3);
    for (const count of [1, 3, 59, 1_000]) assert.deepEqual(oracle.sample(count).sort(), ["p1", "p2", "p3"]);
    assert.equal(oracle.distinct(2).length, 2);
    assert.equal(new Set(oracle.distinct(2)).size, 2);
    assert.equal(oracle.isMember("p3"), true);
    assert.equal(oracle.isMember("stranger"), false);
  });
});

describe("full-membership quorums", () => {
  test("are Bracha's, less the node's own vote, and keep intersection and liveness with f = ⌊(N−1)/3⌋", () => {
    for (let n = 2; n <= 200; n++) {
      const { f, echo, readyAmplify, deliver } = brachaQuorums(n);
      const { Ehat, Rhat, Dhat } = fullMembershipQuorums(n);
      assert.equal(Ehat + 1, echo, `N=${n}: own ECHO + Ê others = Bracha's echo quorum`);
      assert.equal(Rhat, readyAmplify, `N=${n}`);
      assert.equal(Dhat, Math.max(1, deliver - 1), `N=${n}: own READY + D̂ others = Bracha's 2f+1`);
      // Consistency: two echo quorums (self included) share more than f members, so a correct one.
      assert.ok(2 * (Ehat + 1) - n >= f + 1, `N=${n}: echo quorums intersect in a correct member`);
      // Delivery: D̂ other READYs include ≥ 1 correct one once f ≥ 1 (and nobody lies when f = 0).
      assert.ok(Dhat - f >= (f === 0 ? 0 : 1), `N=${n}`);
      // Liveness: the N−1−f correct others reach every threshold.
      const correctOthers = n - 1 - f;
      assert.ok(correctOthers >= Ehat && correctOthers >= Rhat && correctOthers >= Dhat, `N=${n}`);
    }
  });

  test("E = R = D = every other member marks a full-membership set; its thresholds must be Bracha's", () => {
    assert.deepEqual(FOUR, { G: FOUR.G, E: 3, Ehat: 2, R: 3, Rhat: 2, D: 3, Dhat: 2 });
    assert.deepEqual(fullMembershipParams(4, FOUR.G), FOUR);
    assert.equal(coversMembership(FOUR, 3), true);
    assert.equal(coversMembership(FOUR, 4), false, "a five-member network: these are sampled params");
    const olderDevnet = chooseParams({ nodes: 4, byzantine: 0, epsilon: DEFAULT_EPSILON });
    assert.equal(coversMembership(olderDevnet, 3), false, "older 4-node devnets keep sampling");
    assert.throws(
      () => coversMembership({ ...FOUR, Ehat: 1 }, 3),
      (e) => isTallyError(e, "INVALID_CONFIG") && /Ehat = 2, Rhat = 2, Dhat = 2/.test((e as Error).message),
    );
    assert.throws(
      () => node({ ...FOUR, Dhat: 3 }),
      (e) => isTallyError(e, "INVALID_CONFIG"),
    );
  });
});

describe("defaults", () => {
  test("up to the crossover: full membership tolerating ⌊(N−1)/3⌋; beyond it: the calculator's samples", () => {
    for (const n of [2, 3, 4, 5, 7, 16, 64, FULL_MEMBERSHIP_MAX_NODES]) {
      const params = defaultContagionParams(n);
      assert.equal(coversMembership(params, n - 1), true, `N=${n}`);
      assert.equal(toleratedFaults(n), Math.floor((n - 1) / 3));
    }
    assert.deepEqual(defaultContagionParams(1), defaultContagionParams(2));
    const beyond = FULL_MEMBERSHIP_MAX_NODES + 1;
    assert.equal(coversMembership(defaultContagionParams(beyond), beyond - 1), false);
    assert.equal(toleratedFaults(beyond), designByzantine(beyond));
  });

  test("the crossover is where the sampled design's echo and ready samples start missing a member", () => {
    const missed = (n: number) => {
      const p = chooseParams({ nodes: n, byzantine: designByzantine(n) / n, epsilon: DEFAULT_EPSILON });
      const uncovered = (draws: number) => (n - 1) * (1 - 1 / (n - 1)) ** draws;
      return uncovered(p.E) + uncovered(p.R + p.D);
    };
    for (const n of [4, 16, 64, 128, FULL_MEMBERSHIP_MAX_NODES]) assert.ok(missed(n) < 1, `N=${n}`);
    for (let n = FULL_MEMBERSHIP_MAX_NODES + 1; n <= FULL_MEMBERSHIP_MAX_NODES + 30; n++) {
      assert.ok(missed(n) >= 1, `N=${n}: ${missed(n)}`);
    }
  });
});

describe("a full-membership node", () => {
  test("subscribes to each other member once per quorum layer", () => {
    const actions = node(FOUR).handle({ type: "start", nowMs: 0 });
    assert.deepEqual(subscribedTo(actions, "echo"), ["p1", "p2", "p3"]);
    assert.deepEqual(subscribedTo(actions, "ready"), ["p1", "p2", "p3"]);
  });

  test("stays ready with one member of four down, not with two, and never replaces the one down", () => {
    const protocol = node(FOUR, { peerDownGraceMs: 1 });
    protocol.handle({ type: "start", nowMs: 0 });
    assert.equal(
      protocol.quorumsReachable((peer) => peer !== "p3"),
      true,
    );
    assert.equal(
      protocol.quorumsReachable((peer) => peer === "p1"),
      false,
    );
    protocol.handle({ type: "peerDown", peer: "p3", nowMs: 0 });
    assert.deepEqual(protocol.handle({ type: "tick", nowMs: 10 * 24 * 3_600_000 }), []);
    assert.equal(protocol.counters().samplesReplaced ?? 0, 0);
  });

  test("an older devnet's genesis (sampled 4-node params) still loads and runs as before", () => {
    const older = { G: 15, E: 59, Ehat: 59, R: 34, Rhat: 1, D: 57, Dhat: 57 };
    const genesis = parseGenesis({
      network: "tally-devnet",
      balances: [],
      broadcast: { mode: "contagion", params: older },
      members: [{ peerId: "p0", multiaddrs: [] }],
    });
    assert.ok(genesis.broadcast.mode === "contagion");
    const protocol = node(genesis.broadcast.params);
    protocol.handle({ type: "start", nowMs: 0 });
    assert.equal(
      protocol.quorumsReachable((peer) => peer !== "p3"),
      false,
      "tolerates no fault, as before",
    );
  });
});

describe("full membership in seeded adversarial schedules", () => {
  const cases: { n: number; byzantine: ByzantineStrategy }[] = [
    { n: 4, byzantine: "silent" },
    { n: 4, byzantine: "forge" },
    { n: 4, byzantine: "equivocate" },
    { n: 7, byzantine: "silent" },
    { n: 7, byzantine: "forge" },
    { n: 10, byzantine: "equivocate" },
  ];
  for (const { n, byzantine } of cases) {
    test(`N = ${n}, f = ${Math.floor((n - 1) / 3)} ${byzantine}: every correct member delivers, none disagree`, () => {
      for (let seed = 1; seed <= 20; seed++) {
        const f = Math.floor((n - 1) / 3);
        const faulty = new Map<number, ByzantineStrategy>();
        for (let i = n - f; i < n; i++) faulty.set(i, byzantine);
        const params = defaultContagionParams(n);
        const net = new SimNetwork({
          n,
          seed,
          byzantine: faulty,
          payloadKind: "gossip",
          adversarySeesSubmissions: true,
          tickEverySteps: 20 * n,
          protocol: (member, { ids, random }) =>
            new ContagionBroadcast({
              self: member.id,
              oracle: new StaticMembership({ self: member.id, members: ids, random }),
              params,
              inspect: inspectTestPayload,
              random,
              pullRetryMs: SIM_PULL_RETRY_MS,
              isSettled: (instance) => member.store.has(instanceKey(instance)),
            }),
        });
        net.start();
        net.run();
        const honest: { key: string; digest: Digest }[] = [];
        for (const [source, seq] of [
          ["a", 1],
          ["a", 2],
          ["b", 1],
        ] as const) {
          const payload = testPayload(source, seq, `seed ${seed}`);
          net.submit(seed % (n - f), payload);
          honest.push({ key: instanceKey({ source, seq }), digest: digestOf(payload) });
        }
        if (byzantine === "equivocate") net.equivocate(n - 1, { source: "byz", seq: 1 });
        net.run();
        const agreed = new Map<string, Digest>();
        for (const member of net.correct) {
          for (const { key, digest } of honest) {
            assert.deepEqual(member.deliveries.get(key), [digest], `seed ${seed}: ${member.id} ${key}`);
          }
          for (const [key, digests] of member.deliveries) {
            assert.equal(digests.length, 1);
            const other = agreed.get(key);
            assert.ok(other === undefined || other === digests[0], `seed ${seed}: consistency of ${key}`);
            agreed.set(key, digests[0]!);
          }
        }
      }
    });
  }
});
