import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toHex } from "../../src/core/bytes.ts";
import type { Certificate, CommitteeRecord, SignedRequest, Vote } from "../../src/kshared/committeeTypes.ts";
import {
  compactRecords,
  DECIDED_RECORDS_KEPT,
  type NumberedRecord,
  type RetentionRules,
} from "../../src/kshared/recordRetention.ts";
import { requestDigest } from "../../src/kshared/requestDigest.ts";
import { forgedRequest } from "./committeeAdversaries.ts";
import { ACCOUNT, doubleSignedSlots, Network, proposalBytes } from "./committeeHarness.ts";

/** decided ≤ 64, own requests ≤ 64 (maxPendingPerOwner), resume seq: 5 rounds × 4 + lock + 2 latest votes. */
const RECORDS_PER_ACCOUNT = 151;
const SEQ_STATEMENTS = 23;

const NO_EXPIRY: RetentionRules = { firstSeq: 0, isExpired: () => false };

function request(n: number): SignedRequest {
  const proposal = proposalBytes(0, n);
  return { owner: 0, proposal, digest: requestDigest(0, proposal), signature: new Uint8Array(64) };
}

function certificate(
  seq: number,
  round: number,
  digest: Uint8Array,
  phase: "prepare" | "commit",
): Certificate {
  return { phase, account: ACCOUNT, seq, round, digest, signers: [0, 1, 2], signatures: [] };
}

function vote(seq: number, round: number, phase: "prepare" | "commit"): CommitteeRecord {
  const v: Vote = { phase, seq, round, digest: new Uint8Array(32), voter: 0, signature: new Uint8Array(64) };
  return { kind: "vote", vote: v };
}

function timeout(seq: number, round: number): CommitteeRecord {
  const v = { seq, round, highPrepareRound: null, voter: 0, signature: new Uint8Array(64) };
  return { kind: "timeout", vote: v, highPrepare: null };
}

function decided(seq: number, n: number): CommitteeRecord {
  const r = request(n);
  return { kind: "decided", certificate: certificate(seq, 0, r.digest, "commit"), request: r };
}

function numbered(records: readonly CommitteeRecord[]): NumberedRecord[] {
  return records.map((record, counter) => ({ counter, record }));
}

/** The records left after compaction. */
function kept(records: readonly CommitteeRecord[], rules = NO_EXPIRY): CommitteeRecord[] {
  const all = numbered(records);
  const dropped = new Set(compactRecords(all, rules));
  return all.flatMap((n) => (dropped.has(n.counter) ? [] : [n.record]));
}

describe("k-shared committee records: what compaction keeps", () => {
  it("keeps the newest 64 decisions, with their request bytes", () => {
    const result = kept(Array.from({ length: 100 }, (_, seq) => decided(seq, seq)));
    const seqs = result.map((r) => (r.kind === "decided" ? r.certificate.seq : -1));
    assert.deepEqual(
      seqs,
      Array.from({ length: DECIDED_RECORDS_KEPT }, (_, i) => 100 - DECIDED_RECORDS_KEPT + i),
    );
    assert.ok(result.every((r) => r.kind === "decided" && r.request !== null));
  });

  it("drops every statement of a decided seq, and of seqs below the ledger's first seq", () => {
    const records = [vote(3, 0, "prepare"), timeout(3, 0), decided(3, 3), vote(4, 0, "prepare")];
    assert.deepEqual(kept(records), [records[2], records[3]]);
    const beforeLedger = [vote(7, 2, "prepare"), timeout(7, 2), vote(9, 0, "commit")];
    assert.deepEqual(kept(beforeLedger, { firstSeq: 9, isExpired: () => false }), [beforeLedger[2]]);
  });

  it("in the undecided seq keeps rounds R−4..R, the latest Prepare and Commit, and the highest lock", () => {
    const digest = new Uint8Array(32);
    const records: CommitteeRecord[] = [
      vote(0, 0, "prepare"),
      vote(0, 0, "commit"),
      { kind: "lock", certificate: certificate(0, 0, digest, "prepare") },
      vote(0, 1, "prepare"),
      { kind: "lock", certificate: certificate(0, 1, digest, "prepare") },
    ];
    for (let round = 0; round < 40; round++) records.push(timeout(0, round));
    const result = kept(records);
    const describe = (r: CommitteeRecord) =>
      r.kind === "vote"
        ? `${r.vote.phase}@${r.vote.round}`
        : r.kind === "timeout"
          ? `timeout@${r.vote.round}`
          : r.kind === "lock"
            ? `lock@${r.certificate.round}`
            : r.kind;
    assert.deepEqual(result.map(describe), [
      "commit@0",
      "prepare@1",
      "lock@1",
      "timeout@35",
      "timeout@36",
      "timeout@37",
      "timeout@38",
      "timeout@39",
    ]);
  });

  it("drops own requests once decided or expired at the resume seq, keeps the others in order", () => {
    const records: CommitteeRecord[] = [
      { kind: "request", request: request(10) },
      { kind: "request", request: request(11) },
      { kind: "request", request: request(12) },
      decided(0, 10),
    ];
    const expired = toHex(request(11).digest);
    const rules = {
      firstSeq: 0,
      isExpired: (_seq: number, p: Uint8Array) => toHex(requestDigest(0, p)) === expired,
    };
    assert.deepEqual(kept(records, rules), [records[2], records[3]]);
  });
});

describe("k-shared committee records: compaction in a running committee", () => {
  it("after 150 decided seqs each owner holds O(1) records, not O(seqs)", () => {
    const net = new Network({ k: 4, seed: 71, dropRate: 0.05, maxDelayMs: 30 });
    for (let n = 0; n < 150; n++) net.submit(n % 4, proposalBytes(n % 4, n), 10 + n * 150);
    net.run(600_000, () => net.allDecided(150));
    assert.ok(net.allDecided(150));
    for (let owner = 0; owner < 4; owner++) {
      const held = net.records[owner]!;
      const decisions = held.filter((r) => r.kind === "decided").length;
      assert.ok(net.log[owner]!.length > 450, `owner ${owner} wrote ${net.log[owner]!.length} records`);
      assert.equal(decisions, DECIDED_RECORDS_KEPT, `owner ${owner}`);
      assert.ok(held.length <= DECIDED_RECORDS_KEPT + 8, `owner ${owner} holds ${held.length}`);
    }
  });

  it("restored from its compacted records an owner resumes exactly as from its full log, and decides on", () => {
    const net = new Network({ k: 4, seed: 72, maxDelayMs: 20 });
    for (let n = 0; n < 80; n++) net.submit(n % 4, proposalBytes(n % 4, n), 10 + n * 100);
    net.run(300_000, () => net.allDecided(80));
    const fromFull = net.newCommittee(2);
    const fromCompacted = net.newCommittee(2);
    const replayedFull = fromFull.restore(net.log[2]!);
    const replayedCompacted = fromCompacted.restore(net.records[2]!);
    assert.ok(net.records[2]!.length < net.log[2]!.length / 3);
    // With firstSeq 0 (no ledger here) every kept decision is re-emitted: the compacted store keeps the newest
    // 64, so it re-emits the full log's last 64, ending with the same last decision.
    assert.equal(replayedCompacted.length, DECIDED_RECORDS_KEPT);
    assert.deepEqual(replayedCompacted, replayedFull.slice(-replayedCompacted.length));
    assert.equal(fromCompacted.currentSeq, 80);
    assert.equal(fromCompacted.currentSeq, fromFull.currentSeq);
    assert.equal(fromCompacted.currentRound, fromFull.currentRound);
    assert.equal(fromCompacted.pendingRequests, fromFull.pendingRequests);
    // Owner 2 restarts from the compacted store: the committee goes on at seq 80 and after.
    net.crash(2, net.nowMs + 1, 500);
    const others = [0, 1, 3]; // a submit to an owner while it is down is lost, as in life
    for (let n = 80; n < 90; n++)
      net.submit(others[n % 3]!, proposalBytes(others[n % 3]!, n), net.nowMs + 1_000 + n * 100);
    net.run(net.nowMs + 300_000, () => net.allDecided(90));
    assert.ok(net.allDecided(90), `decided: ${net.decisions.map((d) => d.size)}`);
    assert.deepEqual([...net.decisions[2]!], [...net.decisions[0]!]);
  });

  for (const seed of [73, 76]) {
    it(`an owner crashed right after each of 8 compactions never signs twice in one slot (seed ${seed})`, () => {
      const net = new Network({ k: 4, seed, dropRate: 0.1, duplicateRate: 0.05, maxDelayMs: 60 });
      for (let n = 0; n < 30; n++) net.submit(n % 4, proposalBytes(n % 4, n), n * 600);
      for (let c = 0; c < 8; c++) net.crashAfterCompaction(1, 300 + c * 2_500, 300 + net.random() * 2_000);
      // The durable decisions: a crash right after a batch that decided two seqs loses the first one's
      // `decided` action (restore re-emits the last only), never its record.
      const decidedSeqs = (owner: number) =>
        new Map(
          net.log[owner]!.flatMap((r) =>
            r.kind === "decided" ? [[r.certificate.seq, toHex(r.certificate.digest)] as const] : [],
          ),
        );
      const allDurable = () =>
        net.correctOwners().every((owner) => {
          const decided = new Set(decidedSeqs(owner).values());
          return [...net.accepted].every((digest) => decided.has(digest));
        });
      net.run(600_000, () => net.nowMs > 20_000 && allDurable());
      assert.ok(allDurable(), `decided: ${net.correctOwners().map((o) => decidedSeqs(o).size)}`);
      assert.ok(net.crashes >= 8, `crashes: ${net.crashes}`);
      assert.ok(net.compacted[1]! > 0);
      for (const owner of net.correctOwners()) {
        const signed = [...net.signedVotes[owner]!, ...net.sentVotes[owner]!];
        assert.deepEqual(doubleSignedSlots(signed), [], `owner ${owner}`);
      }
      const reference = [...decidedSeqs(0)].sort(([a], [b]) => a - b);
      for (const owner of net.correctOwners())
        assert.deepEqual(
          [...decidedSeqs(owner)].sort(([a], [b]) => a - b),
          reference,
        );
    });
  }

  it("after a compaction, a restarted owner still refuses a second proposal in a round it prepared in", () => {
    const net = new Network({ k: 4, seed: 76, maxDelayMs: 20 });
    net.submit(0, proposalBytes(0, 0), 10);
    net.run(30_000, () => net.allDecided(1));
    const owner = 2;
    const leader = net.nodes[owner]!.leaderOf(1, 0);
    const propose = (request: SignedRequest) =>
      ({ kind: "propose", seq: 1, round: 0, request, justify: null, entry: null }) as const;
    const message = (request: SignedRequest) =>
      ({ type: "message", from: leader, message: propose(request), nowMs: net.nowMs }) as const;
    net.deliver(owner, message(forgedRequest(net, leader)));
    assert.ok(net.compacted[owner]! > 0, "seq 0's statements were compacted away");
    assert.ok(net.records[owner]!.some((r) => r.kind === "vote" && r.vote.seq === 1));
    const signsOnSecond = (records: readonly CommitteeRecord[]) => {
      const restarted = net.newCommittee(owner);
      restarted.restore(records);
      assert.equal(restarted.currentSeq, 1);
      const actions = restarted.handle(message(forgedRequest(net, leader)));
      return actions.some((a) => a.type === "persist" && a.record.kind === "vote");
    };
    assert.equal(
      signsOnSecond(net.records[owner]!),
      false,
      "restored: no second prepare in (seq 1, round 0)",
    );
    const forgetful = net.records[owner]!.filter((r) => r.kind !== "vote");
    assert.equal(signsOnSecond(forgetful), true, "control: without its vote it would double-sign");
  });

  it("rounds forced without a decision cost at most 23 records of the undecided seq", () => {
    const net = new Network({ k: 4, seed: 75, maxDelayMs: 20, baseTimeoutMs: 100 });
    net.submit(0, proposalBytes(0, 0), 10);
    // No proposal ever arrives: every round times out, and the owners move on round after round.
    net.linkFilter = (_from, _to, m) => m.kind !== "propose";
    net.run(3_600_000, () => net.nodes[0]!.currentRound >= 60);
    assert.ok(net.nodes[0]!.currentRound >= 60, `round ${net.nodes[0]!.currentRound}`);
    for (let owner = 0; owner < 4; owner++) {
      assert.ok(net.log[owner]!.length >= 60, `owner ${owner} wrote ${net.log[owner]!.length}`);
      const held = net.records[owner]!.filter((r) => r.kind !== "request");
      assert.ok(held.length <= SEQ_STATEMENTS, `owner ${owner} holds ${held.length}`);
    }
    assert.ok(net.records.every((held) => held.length <= RECORDS_PER_ACCOUNT));
  });
});

describe("k-shared committee restore: decisions a crash cut off", () => {
  it("re-emits every decision the ledger has not applied, not only the last", () => {
    // One durable write decided seqs 5 and 6, then the process died before either was acted on: the node
    // restarts with its ledger at next seq 5, and both certified transfers must still be submitted.
    const net = new Network({ k: 4, seed: 9 });
    const restarted = net.newCommittee(2, 5);
    const actions = restarted.restore([decided(3, 3), decided(4, 4), decided(5, 5), decided(6, 6)]);
    const seqs = actions.flatMap((a) => (a.type === "decided" ? [a.certificate.seq] : []));
    assert.deepEqual(seqs, [5, 6], "seqs 5 and 6 again, in order; 3 and 4 are applied already");
    assert.equal(restarted.currentSeq, 7);
  });
});
