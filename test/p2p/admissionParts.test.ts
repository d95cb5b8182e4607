import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";
import { BanList } from "../../src/p2p/banList.ts";
import { encodeFrameOf, FrameDecoder } from "../../src/p2p/framing.ts";
import { InboundBufferBudget } from "../../src/p2p/inboundBufferBudget.ts";
import { InboundIpLimit } from "../../src/p2p/inboundIpLimit.ts";
import { resolveLimits } from "../../src/p2p/limits.ts";
import { PeerInboundStats } from "../../src/p2p/peerInboundStats.ts";

describe("BanList", () => {
  test("a ban holds until its end, keeps the later end, counts refusals, and expires", () => {
    const bans = new BanList(10);
    bans.ban("p", 1_000, "spam", 0);
    assert.equal(bans.refuse("p", 999), true);
    bans.ban("p", 500, "again", 100);
    assert.deepEqual(bans.list(100), [{ peerId: "p", untilMs: 1_000, reason: "again", refusals: 1 }]);
    assert.equal(bans.refuse("p", 1_000), false);
    assert.deepEqual(bans.list(1_000), []);
    bans.ban("q", 50, "past", 100);
    assert.equal(bans.get("q", 100), undefined);
  });

  test("when full, the ban that ends first makes room", () => {
    const bans = new BanList(2);
    bans.ban("a", 300, "", 0);
    bans.ban("b", 100, "", 0);
    bans.ban("c", 200, "", 0);
    assert.deepEqual(
      bans.list(0).map((b) => b.peerId),
      ["a", "c"],
    );
  });
});

describe("InboundIpLimit", () => {
  test("counts per IP, frees on release, exempts allow-listed ranges", () => {
    const limit = new InboundIpLimit(2, ["/ip4/10.0.0.0/ipcidr/8", "/ip6/::1/ipcidr/128"]);
    assert.equal(limit.tryAcquire("1.2.3.4"), true);
    assert.equal(limit.tryAcquire("1.2.3.4"), true);
    assert.equal(limit.tryAcquire("1.2.3.4"), false);
    assert.equal(limit.tryAcquire("1.2.3.5"), true);
    limit.release("1.2.3.4");
    assert.equal(limit.tryAcquire("1.2.3.4"), true);
    assert.equal(limit.isExempt("10.9.8.7"), true);
    assert.equal(limit.isExempt("::1"), true);
    assert.equal(limit.isExempt("11.0.0.1"), false);
    assert.throws(
      () => new InboundIpLimit(1, ["/dns4/example.com"]),
      (e) => isTallyError(e, ErrorCode.InvalidOption),
    );
  });
});

describe("InboundBufferBudget", () => {
  test("caps the total, each peer, and keeps a share for members", () => {
    const budget = new InboundBufferBudget({
      maxBufferedInboundBytes: 100,
      maxBufferedInboundBytesPerPeer: 40,
      memberReservedInboundBytes: 30,
    });
    assert.equal(budget.tryReserve("s1", false, 40), true);
    assert.equal(budget.tryReserve("s1", false, 1), false, "per-peer cap");
    assert.equal(budget.tryReserve("s2", false, 30), true);
    assert.equal(budget.tryReserve("s3", false, 1), false, "strangers stop at 70");
    assert.equal(budget.tryReserve("m", true, 30), true, "members use the reserve");
    assert.equal(budget.tryReserve("m2", true, 1), false, "total cap");
    budget.release("s1", 40);
    assert.equal(budget.totalBytes, 60);
    assert.equal(budget.bytesOf("s1"), 0);
  });

  test("a decoder releases every reservation, whatever the chunking, and on dispose", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 50 }),
        (frames, cuts, keepTail) => {
          const bytes = Buffer.concat(
            frames.map((sizes) => encodeFrameOf(sizes.map((n) => new Uint8Array(n)))),
          );
          const budget = new InboundBufferBudget({
            maxBufferedInboundBytes: 1_000,
            maxBufferedInboundBytesPerPeer: 1_000,
            memberReservedInboundBytes: 0,
          });
          const decoder = new FrameDecoder(
            1_000,
            budget.forPeer("p", () => false),
          );
          const end = Math.max(0, bytes.length - keepTail);
          let off = 0;
          let i = 0;
          while (off < end) {
            const next = Math.min(end, off + cuts[i++ % cuts.length]!);
            decoder.push(bytes.subarray(off, next), () => {});
            assert.ok(budget.totalBytes <= 1_000);
            off = next;
          }
          decoder.dispose();
          assert.equal(budget.totalBytes, 0);
        },
      ),
    );
  });

  test("a decoder whose frame does not fit throws InboundBufferFull", () => {
    const budget = new InboundBufferBudget({
      maxBufferedInboundBytes: 100,
      maxBufferedInboundBytesPerPeer: 100,
      memberReservedInboundBytes: 0,
    });
    const decoder = new FrameDecoder(
      1_000,
      budget.forPeer("p", () => false),
    );
    const frame = encodeFrameOf([new Uint8Array(200)]);
    assert.throws(
      () => decoder.push(frame.subarray(0, 10), () => {}),
      (e) => isTallyError(e, ErrorCode.InboundBufferFull),
    );
    // A whole frame in one chunk is handed out as a view and needs no reservation.
    const whole = new FrameDecoder(
      1_000,
      budget.forPeer("p", () => false),
    );
    let frames = 0;
    whole.push(frame, () => frames++);
    assert.equal(frames, 1);
  });
});

describe("PeerInboundStats", () => {
  test("keeps members, forgets the idlest other peer beyond the bound", () => {
    const members = new Set(["m"]);
    const stats = new PeerInboundStats(2, (p) => members.has(p));
    stats.touch("m").framesIn++;
    stats.touch("a").framesIn++;
    stats.touch("b").framesIn++;
    stats.touch("a").framesIn++;
    stats.touch("c").framesIn++;
    assert.deepEqual([...stats.snapshot().keys()], ["m", "a", "c"]);
    assert.equal(stats.get("a")?.framesIn, 2);
    members.delete("m");
    stats.membershipChanged();
    assert.deepEqual([...stats.snapshot().keys()], ["a", "c"]);
  });
});

test("limits: defaults, and inconsistent buffer caps are refused", () => {
  const limits = resolveLimits(undefined, undefined, 1024 * 1024);
  assert.equal(limits.maxConnections, 300);
  assert.equal(limits.maxInboundConnectionsPerIp, 8);
  assert.equal(limits.maxBufferedInboundBytes, 64 * 1024 * 1024);
  assert.deepEqual(resolveLimits(undefined, ["/ip4/10.0.0.0/ipcidr/8"], 1024).perIpAllowList, [
    "/ip4/10.0.0.0/ipcidr/8",
  ]);
  for (const bad of [
    { maxBufferedInboundBytesPerPeer: 1000 },
    { maxBufferedInboundBytes: 2048, maxBufferedInboundBytesPerPeer: 4096 },
    { memberReservedInboundBytes: 64 * 1024 * 1024 },
    { maxConnections: 0 },
  ]) {
    assert.throws(
      () => resolveLimits(bad, undefined, 4096),
      (e) => isTallyError(e, ErrorCode.InvalidOption),
      JSON.stringify(bad),
    );
  }
});
