import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ChannelAction } from "../../src/channels/channels.ts";
import { encodeEnvelope } from "../../src/channels/envelope.ts";
import { PeerScores } from "../../src/channels/peerScores.ts";
import type { ProtocolSpec } from "../../src/channels/protocolSpec.ts";
import { counterCodec, makeChannels } from "./helpers.ts";

describe("peer scores", () => {
  it("decay by half each half-life", () => {
    const s = new PeerScores({ halfLifeMs: 10_000 });
    s.record("p", "malformedEnvelope", 0);
    assert.equal(s.score("p", 0), -20);
    assert.ok(Math.abs(s.score("p", 10_000) - -10) < 1e-9);
    assert.ok(Math.abs(s.score("p", 30_000) - -2.5) < 1e-9);
  });

  it("ban at the threshold, refuse traffic for the ban period, unban on tick after it", () => {
    const ch = makeChannels();
    const garbage = Uint8Array.of(0, 0, 0);
    const actions = [];
    for (let i = 0; i < 5; i++) actions.push(...ch.offer("x", garbage, 1_000));
    assert.deepEqual(actions, [{ type: "disconnect", peer: "x", untilMs: 61_000 }], "5 × −20 reaches −100");
    assert.equal(ch.isBanned("x", 1_000), true);
    // Its well-formed traffic is refused too while banned.
    assert.deepEqual(ch.offer("A", ch.encodeMessage("broadcast", 1), 1_000), []);
    ch.offer(
      "x",
      encodeEnvelope({ protocolCode: 3, version: 2, kind: "message", requestId: 0, body: Uint8Array.of(1) }),
      2_000,
    );
    const x = ch.peerStats(2_000).find((p) => p.peer === "x")!;
    assert.equal(x.counters.dropped.banned, 1);
    assert.equal(x.bannedUntilMs, 61_000);
    assert.deepEqual(ch.tick(60_999).unbanned, []);
    assert.deepEqual(ch.tick(61_000).unbanned, ["x"]);
    assert.equal(ch.isBanned("x", 61_000), false);
    assert.equal(ch.peerStats(61_000).find((p) => p.peer === "x")!.score, 0, "starts over after the ban");
  });

  it("offences spread out in time decay and never ban", () => {
    const s = new PeerScores();
    for (let t = 0; t < 600_000; t += 5_000) assert.equal(s.record("p", "malformedEnvelope", t), undefined);
    assert.ok(s.score("p", 600_000) > -100);
  });

  it("five forged payloads in a burst ban the peer that relayed them", () => {
    const s = new PeerScores();
    for (let i = 0; i < 4; i++) assert.equal(s.record("p", "forgedPayload", 0), undefined);
    assert.equal(s.record("p", "forgedPayload", 0)?.type, "ban");
  });

  it("banning purges the peer's queued items", () => {
    const ch = makeChannels();
    for (let i = 0; i < 10; i++) ch.offer("A", ch.encodeMessage("broadcast", i), 0);
    assert.equal(ch.stats().bufferedMessages, 10);
    const actions = ch.penalize("A", "contradiction", 0).concat(ch.penalize("A", "contradiction", 0));
    assert.equal(actions.length, 1);
    assert.equal(ch.stats().bufferedMessages, 0);
    assert.equal(ch.take(10, 0).length, 0);
  });

  it("queue overruns score strangers per 256 drops, members not at all; rate overruns score anyone", () => {
    const spec = (rate: number): ProtocolSpec => ({
      id: "broadcast",
      code: 1,
      version: 1,
      access: "anyone",
      budget: {
        member: { maxQueuedMessages: 1, maxQueuedBytes: 1e6, maxMessagesPerSecond: rate },
        stranger: { maxQueuedMessages: 1, maxQueuedBytes: 1e6, maxMessagesPerSecond: rate },
      },
      message: counterCodec,
    });
    const bans = (actions: readonly ChannelAction[]) => actions.filter((a) => a.type === "disconnect").length;
    const ch = makeChannels({ protocols: [spec(1e6)] });
    const msg = ch.encodeMessage("broadcast", 1);
    let memberBans = 0;
    let throttles = 0;
    for (let i = 0; i < 100_000; i++) {
      const actions = ch.offer("A", msg, 0);
      memberBans += bans(actions);
      throttles += actions.filter((a) => a.type === "throttle").length;
    }
    assert.equal(memberBans, 0);
    assert.equal(throttles, 100_000 - 1, "a full queue stops reading the member instead");
    assert.equal(ch.peerStats(0).find((p) => p.peer === "A")!.score, 0);
    let bannedAfter = 0;
    for (let i = 1; i <= 100_000 && bannedAfter === 0; i++)
      if (bans(ch.offer("s", msg, 0)) > 0) bannedAfter = i;
    // First message admitted, then every 256 drops cost −5: 20 × 256 drops reach −100.
    assert.equal(bannedAfter, 1 + 20 * 256);

    // Over its rate (1 message/s, a burst of 1), a member is scored like anyone: its queue is drained each time.
    const rated = makeChannels({ protocols: [spec(1)] });
    let memberBannedAfter = 0;
    for (let i = 1; i <= 100_000 && memberBannedAfter === 0; i++) {
      if (bans(rated.offer("A", msg, 0)) > 0) memberBannedAfter = i;
      rated.take(10, 0);
    }
    assert.equal(memberBannedAfter, 1 + 20 * 256);
  });

  it("the score map is bounded and forgets neutral peers first", () => {
    const s = new PeerScores({ maxTrackedPeers: 3 });
    s.record("n1", "requestOverload", 0); // −1, decays to neutral quickly
    s.record("n2", "requestOverload", 0);
    s.record("bad", "malformedEnvelope", 50_000);
    s.record("n3", "requestOverload", 60_000);
    assert.equal(s.trackedPeers, 3);
    assert.ok(s.score("bad", 60_000) < 0, "bad is remembered");
    assert.equal(s.score("n1", 60_000), 0, "n1 was forgotten");
    assert.ok(s.score("n2", 60_000) < 0, "n2 was not needed");
  });
});
