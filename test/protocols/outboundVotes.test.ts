import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  decodeBroadcastMessage,
  encodeBroadcastMessage,
  MAX_VOTES_PER_BATCH,
} from "../../src/broadcast/messageCodec.ts";
import type { VoteMessage } from "../../src/broadcast/types.ts";
import { OutboundVotes } from "../../src/protocols/broadcast/outboundVotes.ts";
import { testKey } from "../support/fixtures.ts";

const source = testKey(1).address;
const vote = (seq: number, kind: VoteMessage["kind"] = "echo"): VoteMessage => ({
  kind,
  instance: { source, seq },
  digest: "ab".repeat(32),
});

describe("outbound vote batches", () => {
  it("gives each peer its votes in order, in batches of at most 64, and keeps nothing", () => {
    const votes = new OutboundVotes();
    for (let seq = 1; seq <= 150; seq++) votes.add("P", vote(seq, seq % 2 === 0 ? "ready" : "echo"));
    votes.add("Q", vote(9, "request"));
    assert.equal(votes.peers, 2);
    const all = new Map(votes.takeAll());
    assert.equal(votes.peers, 0);
    assert.deepEqual(votes.takeAll(), []);
    const toP = all.get("P")!;
    assert.deepEqual(
      toP.map((b) => b.votes.length),
      [MAX_VOTES_PER_BATCH, MAX_VOTES_PER_BATCH, 150 - 2 * MAX_VOTES_PER_BATCH],
    );
    assert.deepEqual(
      toP.flatMap((b) => b.votes.map((v) => v.instance.seq)),
      Array.from({ length: 150 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      all.get("Q")!.map((b) => b.votes),
      [[vote(9, "request")]],
    );
  });

  it("encodes a vote sent to several peers once, and its batches encode to the same bytes as without", () => {
    const votes = new OutboundVotes();
    const shared = vote(3, "ready");
    for (const peer of ["P", "Q", "R"]) votes.add(peer, shared);
    votes.add("P", vote(4));
    const all = new Map(votes.takeAll());
    const [p] = all.get("P")!;
    const [q] = all.get("Q")!;
    assert.equal(p!.encoded!.slab, q!.encoded!.slab, "one buffer for the step's votes");
    assert.equal(
      p!.encoded!.offsets[0],
      q!.encoded!.offsets[0],
      "one encoding, shared by both peers' batches",
    );
    for (const [batch] of all.values()) {
      const plain = encodeBroadcastMessage({ kind: "votes", votes: batch!.votes });
      assert.deepEqual(encodeBroadcastMessage(batch!), plain);
      assert.deepEqual(decodeBroadcastMessage(plain), { kind: "votes", votes: batch!.votes });
    }
  });

  it("keeps every vote's bytes when a step's votes outgrow the first buffer", () => {
    const votes = new OutboundVotes();
    const sent = Array.from({ length: 700 }, (_, i) => vote(i + 1, i % 2 === 0 ? "echo" : "ready"));
    for (const v of sent) for (const peer of ["P", "Q"]) votes.add(peer, v);
    for (const [, batches] of votes.takeAll()) {
      assert.deepEqual(
        batches.flatMap((b) => (decodeBroadcastMessage(encodeBroadcastMessage(b)) as typeof b).votes),
        sent,
      );
    }
  });

  it("refuses a batch whose encoded votes do not match its votes", () => {
    const one = vote(1);
    const slab = Buffer.alloc(74);
    assert.throws(
      () => encodeBroadcastMessage({ kind: "votes", votes: [one], encoded: { slab, offsets: [] } }),
      /match/,
    );
    assert.throws(
      () => encodeBroadcastMessage({ kind: "votes", votes: [one], encoded: { slab, offsets: [1] } }),
      /74 bytes/,
    );
  });
});
