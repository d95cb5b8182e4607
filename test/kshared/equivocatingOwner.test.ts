/**
 * The equivocating owner shared by the devnet, the simulator and the committee tests: what it sends in place
 * of each committee message.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Certificate, CommitteeMessage, SignedRequest, Vote } from "../../src/kshared/committeeTypes.ts";
import { EquivocatingOwner } from "../../src/kshared/equivocatingOwner.ts";

function request(tag: number): SignedRequest {
  return {
    owner: 0,
    proposal: Uint8Array.of(tag),
    digest: new Uint8Array(32).fill(tag),
    signature: new Uint8Array(64).fill(tag),
  };
}

function propose(seq: number, round: number, justified = false): CommitteeMessage {
  const justify: Certificate | null = justified
    ? {
        phase: "prepare",
        account: new Uint8Array(32),
        seq,
        round: 0,
        digest: request(1).digest,
        signers: [],
        signatures: [],
      }
    : null;
  return { kind: "propose", seq, round, request: request(1), justify, entry: null };
}

function prepare(seq: number, round: number): CommitteeMessage {
  const vote: Vote = {
    phase: "prepare",
    seq,
    round,
    digest: request(1).digest,
    voter: 0,
    signature: new Uint8Array(64),
  };
  return { kind: "vote", vote };
}

/** Twins are numbered from 100; a vote's "signature" records the digest it was signed for. */
function owner(firstGroup?: number[]) {
  let next = 100;
  return new EquivocatingOwner({
    ...(firstGroup === undefined ? {} : { firstGroup }),
    twinOf: () => request(next++),
    signVote: (_vote, digest) => Uint8Array.of(digest[0]!),
  });
}

test("a fresh proposal: the fair one to the first half, the twin to the rest, then the twin to the first half", () => {
  const o = owner();
  const sends = o.rewrite([1, 2, 3], propose(5, 0));
  assert.deepEqual(
    sends.map((s) => [s.to, s.message.kind === "propose" ? s.message.request.digest[0] : -1]),
    [
      [[1, 2], 1],
      [[3], 100],
      [[1, 2], 100],
    ],
  );
  assert.equal(o.counts.proposals, 1);
});

test("its Prepare in that round goes out, then a second Prepare for the twin, signed for the twin's digest", () => {
  const o = owner();
  o.rewrite([1, 2, 3], propose(5, 0));
  const sends = o.rewrite([1, 2, 3], prepare(5, 0));
  assert.equal(sends.length, 2);
  assert.deepEqual(sends[0], { to: [1, 2, 3], message: prepare(5, 0) });
  const second = sends[1]!.message;
  assert.ok(second.kind === "vote");
  assert.equal(second.vote.digest[0], 100);
  assert.deepEqual(second.vote.signature, Uint8Array.of(100));
  assert.deepEqual(sends[1]!.to, [1, 2, 3]);
  assert.equal(o.counts.votes, 1);
});

test("justified proposals and votes of other rounds go out unchanged", () => {
  const o = owner();
  o.rewrite([1, 2, 3], propose(5, 0));
  for (const message of [propose(5, 1, true), prepare(5, 1), prepare(6, 0)]) {
    assert.deepEqual(o.rewrite([1, 2, 3], message), [{ to: [1, 2, 3], message }]);
  }
  assert.deepEqual(o.counts, { proposals: 1, votes: 0 });
});

test("a given first group decides who hears both proposals", () => {
  const sends = owner([3]).rewrite([1, 2, 3], propose(1, 0));
  assert.deepEqual(
    sends.map((s) => s.to),
    [[3], [1, 2], [3]],
  );
});

test("a single recipient cannot be split: no twin", () => {
  const o = owner();
  assert.equal(o.rewrite([1], propose(1, 0)).length, 1);
  assert.equal(o.counts.proposals, 0);
});

test("twins are kept for the last 64 rounds only", () => {
  const o = owner();
  for (let seq = 0; seq < 65; seq++) o.rewrite([1, 2], propose(seq, 0));
  assert.equal(o.rewrite([1, 2], prepare(0, 0)).length, 1, "the oldest round's twin is forgotten");
  assert.equal(o.rewrite([1, 2], prepare(1, 0)).length, 2);
});
