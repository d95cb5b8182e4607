import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ChannelAction } from "../../src/channels/channels.ts";
import { decodeEnvelope, decodeErrorBody, encodeEnvelope } from "../../src/channels/envelope.ts";
import { RequestTracker } from "../../src/channels/requestTracker.ts";
import { makeChannels, rawCodec, syncSpec } from "./helpers.ts";

function replies(actions: ChannelAction[]): Uint8Array[] {
  return actions.flatMap((a) => (a.type === "reply" ? [a.bytes] : []));
}

function requestFrom(id: number, body = Uint8Array.of(1)): Uint8Array {
  return encodeEnvelope({ protocolCode: 3, version: 2, kind: "request", requestId: id, body });
}

function errorCodeOf(bytes: Uint8Array): string {
  return decodeErrorBody(decodeEnvelope(bytes).body).code;
}

/** The id of a request that must have been accepted. */
function idOf(req: { ok: boolean; requestId?: number }): number {
  assert.ok(req.ok);
  return req.requestId!;
}

describe("requests", () => {
  it("request → response round trip between two nodes, on each side's own stream", () => {
    // Node A and node B; each is a member of the other's membership.
    const a = makeChannels();
    const b = makeChannels();
    const req = a.request("B", "sync", Uint8Array.of(7, 7), 0);
    assert.ok(req.ok);
    assert.deepEqual(b.offer("A", req.bytes, 1), []);
    const [inbound] = b.take(10, 1);
    assert.ok(inbound && inbound.kind === "request");
    const decoded = b.decodeItem(inbound, rawCodec, 1);
    assert.ok(decoded.ok);
    assert.deepEqual([...decoded.value], [7, 7]);
    const answer = b.encodeResponse("A", "sync", inbound.requestId, Uint8Array.of(9));
    assert.deepEqual(a.offer("B", answer, 2), []);
    const [resp] = a.take(10, 2);
    assert.ok(resp);
    assert.equal(resp.kind, "response");
    assert.equal(resp.requestId, req.requestId);
    assert.deepEqual([...resp.body], [9]);
    assert.equal(a.stats().outstandingRequests, 0);
    assert.equal(b.stats().pendingInboundRequests, 0);
    assert.deepEqual(a.tick(10_000).expired, [], "answered requests never time out");
  });

  it("ids are u32, never 0, wrap around, unique among outstanding requests", () => {
    const t = new RequestTracker(0xffff_fffe);
    const spec = syncSpec({
      request: { request: rawCodec, response: rawCodec, timeoutMs: 10, maxOutstandingPerPeer: 100 },
    });
    const ids = [0, 1, 2].map(() => t.open("p", spec, 0)!.requestId);
    assert.deepEqual(ids, [0xffff_fffe, 0xffff_ffff, 1]);
    const many = new Set<number>();
    for (let i = 0; i < 100; i++) many.add(t.open(`peer${i}`, spec, 0)!.requestId);
    assert.equal(many.size, 100);
    assert.ok(!many.has(0));
    assert.ok(!t.resolve("q", 3, 0xffff_ffff), "an answer from the wrong peer matches nothing");
    assert.ok(t.resolve("p", 3, 0xffff_ffff));
  });

  it("outstanding requests are bounded per peer and protocol (refused locally with overloaded)", () => {
    const a = makeChannels(); // maxOutstandingPerPeer 4
    for (let i = 0; i < 4; i++) idOf(a.request("B", "sync", Uint8Array.of(i), 0));
    const fifth = a.request("B", "sync", Uint8Array.of(5), 0);
    assert.ok(!fifth.ok);
    assert.equal(fifth.error.code, "overloaded");
    assert.ok(a.request("C", "sync", Uint8Array.of(5), 0).ok, "another peer has its own bound");
  });

  it("a request refused for want of a slot costs no encode, and a codec that throws takes no slot", () => {
    let encodes = 0;
    let failNext = false;
    const countingCodec = {
      encode: (v: Uint8Array) => {
        encodes++;
        if (failNext) throw new Error("codec broke");
        return v;
      },
      decode: rawCodec.decode,
    };
    const spec = syncSpec({
      request: { request: countingCodec, response: rawCodec, timeoutMs: 1_000, maxOutstandingPerPeer: 1 },
    });
    const a = makeChannels({ protocols: [spec] });
    failNext = true;
    assert.throws(() => a.request("B", "sync", Uint8Array.of(1), 0), /codec broke/);
    failNext = false;
    idOf(a.request("B", "sync", Uint8Array.of(1), 0));
    assert.equal(encodes, 2);
    for (let tick = 0; tick < 10; tick++) assert.ok(!a.request("B", "sync", Uint8Array.of(2), tick).ok);
    assert.equal(encodes, 2, "ten refusals, no encode");
  });

  it("timeouts expire requests, free their slots, and a late answer is dropped quietly", () => {
    const a = makeChannels(); // timeout 1,000 ms
    const ids = [0, 1, 2, 3].map((i) => idOf(a.request("B", "sync", Uint8Array.of(i), 100)));
    assert.deepEqual(a.tick(1_099).expired, []);
    const expired = a.tick(1_100).expired;
    assert.deepEqual(
      expired.map((e) => [e.to, e.protocolId, e.requestId, e.error.code]),
      ids.map((id) => ["B", "sync", id, "timeout"]),
    );
    assert.ok(a.request("B", "sync", Uint8Array.of(9), 1_100).ok, "slots are free again");
    const late = encodeEnvelope({
      protocolCode: 3,
      version: 2,
      kind: "response",
      requestId: ids[0]!,
      body: Uint8Array.of(1),
    });
    assert.deepEqual(a.offer("B", late, 1_200), []);
    const b = a.peerStats(1_200).find((p) => p.peer === "B")!;
    assert.equal(b.counters.dropped.unsolicited, 1);
    assert.equal(b.score, 0, "late is not misbehaviour");
    assert.equal(a.take(10, 1_200).length, 0);
  });

  it("a restarted node drops answers to its predecessor's requests unscored, for two timeouts after its start", () => {
    // A peer answering what this node's previous process asked (same peer id, before a crash) is not
    // misbehaving, and nothing in this process can tell that answer from an unsolicited one.
    const a = makeChannels({ startedMs: 5_000 }); // timeout 1,000 ms
    const answer = (requestId: number) =>
      encodeEnvelope({ protocolCode: 3, version: 2, kind: "response", requestId, body: Uint8Array.of(1) });
    const scoreOfB = (nowMs: number) => a.peerStats(nowMs).find((p) => p.peer === "B")!;
    assert.deepEqual(a.offer("B", answer(77), 5_010), []);
    assert.deepEqual(a.offer("B", answer(78), 6_999), []);
    assert.equal(scoreOfB(6_999).counters.dropped.unsolicited, 2);
    assert.equal(scoreOfB(6_999).score, 0);
    assert.equal(a.take(10, 6_999).length, 0, "dropped, never handed to a handler");
    a.offer("B", answer(79), 7_000);
    assert.equal(scoreOfB(7_000).counters.dropped.unsolicited, 3);
    assert.equal(scoreOfB(7_000).score, -10, "after the window an unmatched answer is misbehaviour again");
  });

  it("an unmatched answer is dropped and scored; a matching id from the wrong peer is unmatched", () => {
    const a = makeChannels();
    const id = idOf(a.request("B", "sync", Uint8Array.of(1), 0));
    const forged = encodeEnvelope({
      protocolCode: 3,
      version: 2,
      kind: "response",
      requestId: id,
      body: Uint8Array.of(1),
    });
    a.offer("C", forged, 0);
    const c = a.peerStats(0).find((p) => p.peer === "C")!;
    assert.equal(c.counters.dropped.unsolicited, 1);
    assert.equal(c.score, -10);
    assert.equal(a.stats().outstandingRequests, 1, "B's request is still open");
    // An error answer from B resolves it and surfaces its code and text.
    const err = encodeEnvelope({
      protocolCode: 3,
      version: 2,
      kind: "error",
      requestId: id,
      body: Uint8Array.of(4, 0x68),
    });
    a.offer("B", err, 0);
    const [item] = a.take(10, 0);
    assert.deepEqual(item?.error, { code: "overloaded", text: "h" });
    assert.equal(a.stats().outstandingRequests, 0);
  });

  it("a peer cannot have more than maxOutstandingPerPeer of our answers pending", () => {
    const b = makeChannels();
    for (let id = 1; id <= 4; id++) assert.deepEqual(b.offer("A", requestFrom(id), 0), []);
    const over = replies(b.offer("A", requestFrom(5), 0));
    assert.equal(over.length, 1);
    assert.equal(errorCodeOf(over[0]!), "overloaded");
    assert.equal(decodeEnvelope(over[0]!).requestId, 5);
    // Answering one frees a slot.
    const [first] = b.take(1, 0);
    b.encodeResponse("A", "sync", first!.requestId, Uint8Array.of(1));
    assert.deepEqual(b.offer("A", requestFrom(6), 0), []);
    // Never answering frees it after the protocol timeout, and the stale request is not handed out.
    assert.deepEqual(replies(b.offer("A", requestFrom(7), 0)).map(errorCodeOf), ["overloaded"]);
    b.tick(1_000);
    assert.deepEqual(b.take(10, 1_000), []);
    assert.deepEqual(b.offer("A", requestFrom(8), 1_000), []);
  });

  it("a reused id while the first is pending is dropped without a reply", () => {
    const b = makeChannels();
    b.offer("A", requestFrom(1), 0);
    assert.deepEqual(b.offer("A", requestFrom(1), 0), []);
    assert.equal(b.peerStats(0).find((p) => p.peer === "A")!.counters.dropped.malformed, 1);
  });

  it("decodeItem: an undecodable request body is answered badRequest and scored", () => {
    const b = makeChannels();
    b.offer("A", requestFrom(3, new Uint8Array(0)), 0); // rawCodec rejects empty bodies
    const [item] = b.take(1, 0);
    const res = b.decodeItem(item!, rawCodec, 0);
    assert.ok(!res.ok);
    const [reply] = replies(res.actions);
    assert.equal(errorCodeOf(reply!), "badRequest");
    assert.equal(decodeEnvelope(reply!).requestId, 3);
    assert.equal(b.peerStats(0).find((p) => p.peer === "A")!.score, -20);
    assert.equal(b.stats().pendingInboundRequests, 0);
  });

  it("decodeItem: a codec that breaks without a TallyError answers internal and spares the peer", () => {
    const b = makeChannels();
    b.offer("A", requestFrom(3), 0);
    const [item] = b.take(1, 0);
    const broken = {
      encode: (v: number) => Uint8Array.of(v),
      decode: (): number => {
        throw new RangeError("bug");
      },
    };
    const res = b.decodeItem(item!, broken, 0);
    assert.ok(!res.ok);
    assert.equal(errorCodeOf(replies(res.actions)[0]!), "internal");
    assert.equal(b.peerStats(0).find((p) => p.peer === "A")!.score, 0);
  });
});
