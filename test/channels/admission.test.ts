import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Channels } from "../../src/channels/channels.ts";
import { encodeEnvelope } from "../../src/channels/envelope.ts";
import { ITEM_OVERHEAD_BYTES } from "../../src/channels/protocolSpec.ts";
import { budget, counterCodec, gossipSpec, MEMBERS, makeChannels, syncSpec } from "./helpers.ts";

function gossip(ch: Channels, n: number): Uint8Array {
  return ch.encodeMessage("broadcast", n);
}

function offerMany(ch: Channels, from: string, count: number, nowMs = 0, start = 0): void {
  for (let i = 0; i < count; i++) ch.offer(from, gossip(ch, start + i), nowMs);
}

describe("admission: budgets, fairness, caps", () => {
  it("a peer over its budget loses only its own excess (drop-new)", () => {
    const ch = makeChannels(); // member budget 1,000 messages
    offerMany(ch, "A", 1_500);
    offerMany(ch, "B", 10);
    const stats = new Map(ch.peerStats(0).map((p) => [p.peer, p]));
    assert.equal(stats.get("A")!.counters.admitted, 1_000);
    assert.equal(stats.get("A")!.counters.dropped.budget, 500);
    assert.equal(stats.get("B")!.counters.admitted, 10);
    assert.equal(stats.get("B")!.counters.dropped.budget, 0);
    const taken = ch.take(10_000, 0);
    const fromA = taken.filter((i) => i.from === "A").map((i) => counterCodec.decode(i.body));
    assert.deepEqual(fromA, [...Array(1_000).keys()], "A keeps its first 1,000 in order");
    assert.equal(taken.filter((i) => i.from === "B").length, 10);
    assert.deepEqual(ch.sheddingMembers(0, 1_000), ["A"]);
    assert.deepEqual(ch.sheddingMembers(5_000, 1_000), []);
  });

  it("a peer over its rate is dropped at admission, refills at the rate, and others are untouched", () => {
    const ch = new Channels({
      protocols: [gossipSpec({ budget: { member: budget(50, 1 << 30, 100), stranger: budget(1) } })],
      isMember: () => true,
    });
    // The bucket starts full at its burst (the queue bound, 50); the queue is drained between offers.
    for (let i = 0; i < 200; i++) {
      ch.offer("A", gossip(ch, i), 0);
      ch.take(10, 0);
    }
    offerMany(ch, "B", 20);
    let stats = new Map(ch.peerStats(0).map((p) => [p.peer, p]));
    assert.equal(stats.get("A")!.counters.admitted, 50);
    assert.equal(stats.get("A")!.counters.dropped.rate, 150);
    assert.equal(stats.get("B")!.counters.admitted, 20, "another member keeps its whole rate");
    ch.take(1_000, 0);
    // 100 ms at 100 messages/s earns 10 more.
    for (let i = 0; i < 30; i++) ch.offer("A", gossip(ch, 1_000 + i), 100);
    stats = new Map(ch.peerStats(100).map((p) => [p.peer, p]));
    assert.equal(stats.get("A")!.counters.admitted, 60);
    assert.deepEqual(ch.sheddingMembers(100, 1_000), ["A"]);
  });

  it("a batch costs its units of the rate: batching does not buy a peer more items per second", () => {
    // Bodies: one byte saying how many items the message carries.
    const batchCodec = {
      encode: (n: number) => Uint8Array.of(n),
      decode: (b: Uint8Array) => b[0]!,
      units: (b: Uint8Array) => Math.max(1, b[0] ?? 1),
    };
    const ch = new Channels({
      protocols: [
        gossipSpec({
          message: batchCodec,
          budget: { member: budget(1_000, 1 << 30, 100), stranger: budget(1) },
        }),
      ],
      isMember: () => true,
    });
    const offer = (items: number, nowMs: number) => {
      ch.offer("A", ch.encodeMessage("broadcast", items), nowMs);
      ch.take(10, nowMs);
    };
    offer(64, 0); // the bucket starts at its burst, 100 units
    offer(64, 0); // 36 left: refused
    for (let i = 0; i < 36; i++) offer(1, 0);
    offer(1, 0); // empty: refused
    let a = ch.peerStats(0).find((p) => p.peer === "A")!.counters;
    assert.equal(a.admitted, 37);
    assert.equal(a.dropped.rate, 2);
    offer(64, 630); // 63 units earned
    offer(64, 640); // 64
    a = ch.peerStats(640).find((p) => p.peer === "A")!.counters;
    assert.equal(a.admitted, 38, "a batch waits until its units have been earned");
    assert.equal(a.dropped.rate, 3);
    // A batch larger than the burst costs the whole burst, so it is admissible at all (once per second).
    offer(200, 1_640);
    offer(1, 1_640);
    a = ch.peerStats(1_640).find((p) => p.peer === "A")!.counters;
    assert.equal(a.admitted, 39);
    assert.equal(a.dropped.rate, 4);
  });

  it("byte budgets count body plus per-item overhead", () => {
    const ch = new Channels({
      protocols: [
        gossipSpec({
          budget: { member: budget(1_000, 10 * (4 + ITEM_OVERHEAD_BYTES)), stranger: budget(1) },
        }),
      ],
      isMember: () => true,
    });
    offerMany(ch, "A", 11);
    assert.equal(ch.stats().bufferedMessages, 10);
    assert.equal(ch.stats().bufferedBytes, 10 * (4 + ITEM_OVERHEAD_BYTES));
  });

  it("fairness: one peer with 100k queued and three with 10 each → a take of 40 has all 30", () => {
    const ch = new Channels({
      protocols: [gossipSpec({ budget: { member: budget(200_000), stranger: budget(1) } })],
      isMember: () => true,
    });
    offerMany(ch, "A", 100_000);
    for (const p of ["B", "C", "D"]) offerMany(ch, p, 10);
    const batch = ch.take(40, 0);
    assert.equal(batch.length, 40);
    for (const p of ["B", "C", "D"]) assert.equal(batch.filter((i) => i.from === p).length, 10, p);
    assert.equal(ch.stats().bufferedMessages, 100_000 - 10);
  });

  it("round-robin across a peer's protocols too", () => {
    const ch = makeChannels();
    offerMany(ch, "A", 5);
    for (let id = 1; id <= 3; id++) {
      ch.offer(
        "A",
        encodeEnvelope({
          protocolCode: 3,
          version: 2,
          kind: "request",
          requestId: id,
          body: Uint8Array.of(1),
        }),
        0,
      );
    }
    const kinds = ch.take(4, 0).map((i) => i.protocol.id);
    assert.deepEqual(kinds, ["broadcast", "sync", "broadcast", "sync"]);
  });

  it("strangers get at most their share of a batch while members have work, all of it otherwise", () => {
    const spec = gossipSpec({ access: "anyone", budget: { member: budget(10_000), stranger: budget(100) } });
    const ch = new Channels({ protocols: [spec], isMember: (p) => p.startsWith("m") });
    for (let s = 0; s < 50; s++) offerMany(ch, `s${s}`, 20);
    offerMany(ch, "m1", 1_000);
    offerMany(ch, "m2", 1_000);
    const batch = ch.take(80, 0);
    assert.equal(batch.length, 80);
    assert.equal(batch.filter((i) => i.from.startsWith("s")).length, 10, "1/8 of 80");
    // Small batches accumulate the share instead of rounding it away.
    let strangers = 0;
    for (let i = 0; i < 80; i++) strangers += ch.take(1, 0).filter((it) => it.from.startsWith("s")).length;
    assert.equal(strangers, 10);
    ch.take(10_000, 0); // drain members and strangers
    offerMany(ch, "s1", 5, 0, 100);
    assert.equal(ch.take(40, 0).length, 5, "no members busy: strangers get the whole batch");
  });

  it("strangers as a class share one budget; sybils cannot grow it", () => {
    const spec = gossipSpec({ access: "anyone", budget: { member: budget(10_000), stranger: budget(16) } });
    const ch = new Channels({
      protocols: [spec],
      isMember: (p) => p === "m",
      scheduler: { strangerClassBudget: budget(100), maxTrackedStrangers: 10_000 },
    });
    for (let s = 0; s < 1_000; s++) offerMany(ch, `sybil${s}`, 16);
    offerMany(ch, "m", 500);
    const stats = ch.stats();
    assert.equal(stats.strangerMessages, 100);
    assert.equal(stats.bufferedMessages, 600, "the member lost nothing");
  });

  it("the global cap refuses new items and charges the peer that offered them", () => {
    const itemBytes = 4 + ITEM_OVERHEAD_BYTES;
    const ch = new Channels({
      protocols: [gossipSpec({ budget: { member: budget(1_000), stranger: budget(1) } })],
      isMember: () => true,
      scheduler: { maxBufferedBytes: 25 * itemBytes },
    });
    offerMany(ch, "A", 20);
    offerMany(ch, "B", 20, 7);
    const stats = new Map(ch.peerStats(7).map((p) => [p.peer, p.counters]));
    assert.equal(stats.get("A")!.admitted, 20);
    assert.equal(stats.get("B")!.admitted, 5);
    assert.equal(stats.get("B")!.dropped.globalCap, 15);
    assert.equal(ch.stats().bufferedBytes, 25 * itemBytes);
    assert.deepEqual(ch.sheddingMembers(7, 1), ["B"]);
    ch.take(10, 7);
    offerMany(ch, "B", 10, 8);
    assert.equal(ch.stats().bufferedMessages, 25, "room again after a take");
  });

  it("admitted bodies are copies: a small message never pins its frame", () => {
    const ch = makeChannels();
    const frame = new Uint8Array(1 << 20);
    const msg = gossip(ch, 42);
    frame.set(msg, 1000);
    ch.offer("A", frame.subarray(1000, 1000 + msg.length), 0);
    frame.fill(0xff); // the transport reuses its buffer
    const [item] = ch.take(1, 0);
    assert.ok(item);
    assert.notEqual(item.body.buffer, frame.buffer);
    assert.equal(item.body.buffer.byteLength, 4);
    assert.equal(counterCodec.decode(item.body), 42);
  });

  it("a member whose record just lapsed is refused without a penalty; a stranger is banned for the same traffic", () => {
    const lapsed = new Set(["L"]);
    const ch = makeChannels({ wasMember: (peer) => lapsed.has(peer) });
    const banned = (peer: string) =>
      ch.peerStats(0).find((p) => p.peer === peer)?.bannedUntilMs !== undefined;
    for (let i = 0; i < 50; i++) {
      ch.offer("L", gossip(ch, i), 0);
      ch.offer("x", gossip(ch, i), 0);
    }
    assert.equal(ch.bufferedMessages, 0, "neither is admitted: the broadcast is for members only");
    assert.equal(banned("L"), false, "50 refused messages of a lapsed member cost it nothing");
    assert.equal(banned("x"), true, "a stranger is banned after ten");
  });

  it("access, protocol and version checks answer requests and drop messages", () => {
    const ch = makeChannels();
    // A stranger on a members-only protocol: dropped, counted.
    assert.deepEqual(ch.offer("x", gossip(ch, 1), 0), []);
    // Unknown protocol and wrong version: a request gets a typed error reply on our own stream.
    const unknown = ch.offer(
      "A",
      encodeEnvelope({ protocolCode: 9, version: 1, kind: "request", requestId: 7, body: Uint8Array.of(1) }),
      0,
    );
    const wrongVersion = ch.offer(
      "A",
      encodeEnvelope({ protocolCode: 3, version: 1, kind: "request", requestId: 8, body: Uint8Array.of(1) }),
      0,
    );
    const forbidden = makeChannels({
      protocols: [syncSpec({ access: "members" })],
    }).offer(
      "x",
      encodeEnvelope({ protocolCode: 3, version: 2, kind: "request", requestId: 9, body: Uint8Array.of(1) }),
      0,
    );
    const codes = [unknown, wrongVersion, forbidden].map((actions) => {
      assert.equal(actions.length, 1);
      const a = actions[0]!;
      assert.equal(a.type, "reply");
      assert.ok(a.type === "reply");
      const [code, version, kind] = a.bytes;
      assert.equal(kind, 3);
      return { code, version, reason: a.bytes[7] };
    });
    assert.deepEqual(codes, [
      { code: 9, version: 1, reason: 1 }, // unknownProtocol
      { code: 3, version: 2, reason: 2 }, // unsupportedVersion, answered in the version we speak
      { code: 3, version: 2, reason: 3 }, // forbidden
    ]);
    const stats = new Map(ch.peerStats(0).map((p) => [p.peer, p.counters.dropped]));
    assert.equal(stats.get("x")!.forbidden, 1);
    assert.equal(stats.get("A")!.unknownProtocol, 1);
    assert.equal(stats.get("A")!.unsupportedVersion, 1);
    assert.equal(ch.take(10, 0).length, 0);
  });

  it("tracks at most maxTrackedStrangers strangers, forgetting idle ones first", () => {
    const spec = gossipSpec({ access: "anyone" });
    const ch = new Channels({
      protocols: [spec],
      isMember: (p) => MEMBERS.includes(p),
      scheduler: { maxTrackedStrangers: 4 },
    });
    for (const s of ["s1", "s2", "s3", "s4"]) offerMany(ch, s, 1);
    offerMany(ch, "s5", 1);
    assert.equal(ch.stats().untrackedStrangerDrops, 1, "all four have work queued: the fifth is refused");
    ch.take(100, 0);
    for (let s = 5; s < 200; s++) {
      offerMany(ch, `s${s}`, 1);
      ch.take(1, 0);
    }
    assert.ok(ch.stats().trackedStrangers <= 4);
    offerMany(ch, "A", 1);
    assert.ok(
      ch.peerStats(0).some((p) => p.peer === "A"),
      "members are always tracked",
    );
  });

  it("forgets peers that are members no more and have nothing queued, so churn does not grow the member map", () => {
    const members = new Set<string>();
    const ch = new Channels({ protocols: [gossipSpec()], isMember: (p) => members.has(p) });
    // 10,000 identities of an open network, one after the other: each is a member, sends once, expires.
    for (let i = 0; i < 10_000; i++) {
      const peer = `id-${i}`;
      members.add(peer);
      ch.offer(peer, gossip(ch, i), i);
      ch.take(10, i);
      members.delete(peer);
    }
    for (let i = 0; i < 5_000; i++) {
      members.add(`late-${i}`);
      ch.offer(`late-${i}`, gossip(ch, i), 10_001);
      ch.take(10, 10_001);
      members.delete(`late-${i}`);
      if (i === 0) members.add("still");
    }
    ch.offer("still", gossip(ch, 2), 10_002);
    const tracked = ch.stats().trackedMembers;
    assert.ok(tracked <= 2 * 4_096, `${tracked} member entries after 15,000 identities`);
    const peers = new Set(ch.peerStats(10_002).map((p) => p.peer));
    assert.ok(!peers.has("id-0"), "an expired identity's entry went");
    assert.ok(peers.has("still"), "a member's entry stays");
  });
});
