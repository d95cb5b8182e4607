import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toHex } from "../../src/core/bytes.ts";
import type { Vote } from "../../src/kshared/committeeTypes.ts";
import { requestDigest } from "../../src/kshared/requestDigest.ts";
import { forgedRequest } from "./committeeAdversaries.ts";
import { doubleSignedSlots, Network, proposalBytes } from "./committeeHarness.ts";

describe("k-shared committee: crash and restart from persisted records", () => {
  for (const seed of [51, 52, 53]) {
    it(`a restarted owner never signs two digests in one (seq, round, phase) (seed ${seed})`, () => {
      const net = new Network({ k: 4, seed, dropRate: 0.1, duplicateRate: 0.05, maxDelayMs: 60 });
      for (let n = 0; n < 30; n++) net.submit(n % 4, proposalBytes(n % 4, n), n * 600);
      // Owner 1 crashes eight times mid-run (each at an event, cut at a random action), down 0.3–2.3 s.
      for (let c = 0; c < 8; c++)
        net.crash(1, 300 + c * 2_500 + net.random() * 200, 300 + net.random() * 2_000);
      net.run(600_000, () => net.nowMs > 20_000 && net.allAcceptedDecided());
      assert.ok(
        net.allAcceptedDecided(),
        `decided: ${net.decisions.map((d) => d.size)} of ${net.accepted.size}`,
      );
      assert.ok(net.accepted.size >= 20, `accepted ${net.accepted.size} (submits to a down owner are lost)`);
      assert.ok(net.crashes >= 8, `crashes: ${net.crashes}`);
      for (const owner of net.correctOwners()) {
        const signed = [...net.signedVotes[owner]!, ...net.sentVotes[owner]!];
        assert.deepEqual(doubleSignedSlots(signed), [], `owner ${owner}`);
      }
      const reference = [...net.decisions[0]!];
      for (const owner of net.correctOwners()) assert.deepEqual([...net.decisions[owner]!], reference);
    });
  }

  it("an owner that slept through a decision learns it after restarting, with nobody else active", () => {
    const net = new Network({ k: 4, seed: 56, maxDelayMs: 20 });
    net.crash(3, 0, 5_000);
    net.submit(0, proposalBytes(0, 0), 10);
    net.run(4_000, () => false);
    assert.equal(net.decisions[3]!.size, 0, "owner 3 was down during the decision");
    assert.ok(
      [0, 1, 2].every((i) => net.decisions[i]!.size === 1),
      "the others decided without it",
    );
    net.run(30_000, () => net.decisions[3]!.size === 1);
    assert.equal(net.decisions[3]!.get(0), net.decisions[0]!.get(0));
  });

  it("restores the lock, round and own votes of the undecided seq, so it re-sends instead of re-signing", () => {
    const net = new Network({ k: 4, seed: 54, maxDelayMs: 30 });
    net.submit(0, proposalBytes(0, 0), 10);
    // Owner 2 never hears a commit: it locks and commits but cannot decide.
    net.linkFilter = (_from, to, m) =>
      to !== 2 || !((m.kind === "vote" && m.vote.phase === "commit") || m.kind === "certificate");
    net.run(60_000, () => net.records[2]!.some((r) => r.kind === "vote" && r.vote.phase === "commit"));
    const before = net.nodes[2]!;
    const restarted = net.newCommittee(2);
    restarted.restore(net.records[2]!);
    assert.equal(restarted.currentSeq, before.currentSeq);
    assert.equal(restarted.currentRound, before.currentRound);
    assert.equal(toHex(restarted.lock!.digest), toHex(before.lock!.digest));
    const sent: Vote[] = [];
    for (let t = 0; t < 40; t++) {
      for (const a of restarted.handle({ type: "tick", nowMs: 100_000 + t * 500 })) {
        if (a.type === "send" && a.message.kind === "vote") sent.push(a.message.vote);
        assert.ok(!(a.type === "persist" && a.record.kind === "vote"), "no new vote was signed");
      }
    }
    assert.ok(
      sent.some((v) => v.phase === "commit"),
      "the restored commit vote is re-sent on timeout",
    );
  });
});

describe("k-shared committee: restart under an equivocating leader", () => {
  it("a restarted owner refuses the leader's second proposal of a round it already prepared in", () => {
    const net = new Network({ k: 4, seed: 55 });
    const leader = 0; // leaderOf(0, 0)
    const propose = (request: ReturnType<typeof forgedRequest>) =>
      ({ kind: "propose", seq: 0, round: 0, request, justify: null, entry: null }) as const;
    const first = propose(forgedRequest(net, leader));
    const second = propose(forgedRequest(net, leader));
    const owner = net.newCommittee(2);
    const records = owner
      .handle({ type: "message", from: leader, message: first, nowMs: 10 })
      .flatMap((a) => (a.type === "persist" ? [a.record] : []));
    assert.ok(records.some((r) => r.kind === "vote" && r.vote.phase === "prepare"));
    const signsOnSecond = (restoredFrom: typeof records) => {
      const restarted = net.newCommittee(2);
      restarted.restore(restoredFrom);
      const actions = restarted.handle({ type: "message", from: leader, message: second, nowMs: 20 });
      return actions.some((a) => a.type === "persist" && a.record.kind === "vote");
    };
    assert.equal(signsOnSecond(records), false, "restored: no second prepare in (seq 0, round 0)");
    assert.equal(signsOnSecond([]), true, "control: an owner that forgot its vote would double-sign");
  });
});

describe("k-shared committee: fairness across requesting owners", () => {
  it("an owner flooding 60 requests delays another owner's request by at most k decisions", () => {
    const net = new Network({ k: 4, seed: 61, maxDelayMs: 20 });
    for (let n = 0; n < 60; n++) net.submit(0, proposalBytes(0, n, "flood"), 1 + n * 0.01);
    const victim = toHex(requestDigest(3, proposalBytes(3, 0)));
    let decidedBeforeVictim = -1;
    net.at(200, () => {
      decidedBeforeVictim = net.decisions[3]!.size;
      net.deliver(3, { type: "submit", proposal: proposalBytes(3, 0), nowMs: net.nowMs });
    });
    net.run(120_000, () => net.allDecided(61));
    assert.ok(net.allDecided(61));
    const seqOfVictim = [...net.decisions[3]!].find(([, digest]) => digest === victim)![0];
    assert.ok(decidedBeforeVictim >= 0 && decidedBeforeVictim < 50, "the flood was still queued");
    assert.ok(
      seqOfVictim - decidedBeforeVictim <= 4,
      `victim decided at seq ${seqOfVictim}, ${decidedBeforeVictim} decided when it was submitted`,
    );
  });
});
