import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  broadcastMessageUnits,
  decodeBroadcastMessage,
  encodeBroadcastMessage,
  MAX_PAYLOAD_BATCH_BYTES,
  MAX_PAYLOADS_PER_BATCH,
  MAX_VOTES_PER_BATCH,
  type PayloadMessage,
} from "../../src/broadcast/messageCodec.ts";
import type { BroadcastMessage, VoteMessage } from "../../src/broadcast/types.ts";
import { MAX_SEQ } from "../../src/core/limits.ts";
import { testKey } from "../support/fixtures.ts";

const source = testKey(1).address;
const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex"));

describe("broadcast message codec", () => {
  it("round-trips every vote, whatever the seq up to 2^53 − 1", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("echo", "ready", "request"),
        fc.oneof(fc.integer({ min: 1, max: 2 ** 32 + 5 }), fc.integer({ min: 1, max: MAX_SEQ })),
        hex32,
        (kind, seq, digest) => {
          const message = { kind, instance: { source, seq }, digest } as BroadcastMessage;
          assert.deepEqual(decodeBroadcastMessage(encodeBroadcastMessage(message)), message);
        },
      ),
      { seed: 5, numRuns: 500 },
    );
  });

  it("refuses a seq of 0 or one beyond 2^53 − 1 with a typed error", () => {
    const bytes = encodeBroadcastMessage({
      kind: "echo",
      instance: { source, seq: 1 },
      digest: "ab".repeat(32),
    });
    for (const [high, low] of [
      [0, 0],
      [2 ** 21, 0],
      [0xffff_ffff, 0xffff_ffff],
    ] as const) {
      const forged = Buffer.from(bytes);
      forged.writeUInt32BE(high, 34);
      forged.writeUInt32BE(low, 38);
      assert.throws(() => decodeBroadcastMessage(forged), { code: "MALFORMED_ENCODING" });
    }
  });

  it("refuses to encode a digest that is not 32 bytes of hex", () => {
    for (const digest of ["ab".repeat(31), "zz".repeat(32), `${"ab".repeat(31)}g0`]) {
      assert.throws(() => encodeBroadcastMessage({ kind: "ready", instance: { source, seq: 1 }, digest }), {
        code: "INVALID_FIELD",
      });
    }
  });

  const vote = fc
    .tuple(fc.constantFrom("echo", "ready", "request"), fc.integer({ min: 1, max: MAX_SEQ }), hex32)
    .map(([kind, seq, digest]) => ({ kind, instance: { source, seq }, digest }) as VoteMessage);

  it("round-trips vote batches of 1 to 64 votes, in order, and counts one admission unit per vote", () => {
    fc.assert(
      fc.property(fc.array(vote, { minLength: 1, maxLength: MAX_VOTES_PER_BATCH }), (votes) => {
        const bytes = encodeBroadcastMessage({ kind: "votes", votes });
        assert.equal(bytes.length, 2 + 74 * votes.length, "each vote keeps its 74-byte form");
        assert.deepEqual(decodeBroadcastMessage(bytes), { kind: "votes", votes });
        assert.equal(broadcastMessageUnits(bytes), votes.length);
      }),
      { seed: 6, numRuns: 200 },
    );
  });

  it("refuses vote batches that are empty, too long, cut short, padded or hold a non-vote", () => {
    const one: VoteMessage = { kind: "echo", instance: { source, seq: 7 }, digest: "cd".repeat(32) };
    assert.throws(() => encodeBroadcastMessage({ kind: "votes", votes: [] }), { code: "INVALID_FIELD" });
    const tooMany = Array.from({ length: MAX_VOTES_PER_BATCH + 1 }, () => one);
    assert.throws(() => encodeBroadcastMessage({ kind: "votes", votes: tooMany }), { code: "INVALID_FIELD" });
    const two = Buffer.from(encodeBroadcastMessage({ kind: "votes", votes: [one, one] }));
    const forged = [
      Uint8Array.of(6),
      Uint8Array.of(6, 0),
      Buffer.concat([Uint8Array.of(6, 65), Buffer.alloc(65 * 74)]),
      two.subarray(0, two.length - 1),
      Buffer.concat([two, Uint8Array.of(0)]),
      Buffer.concat([Uint8Array.of(6, 3), two.subarray(2)]), // count says 3, two votes follow
      Buffer.from(two).fill(5, 2, 3), // a "payload" tag where a vote belongs
      Buffer.from(two).fill(6, 76, 77), // a batch inside a batch
    ];
    for (const bytes of forged) {
      assert.throws(() => decodeBroadcastMessage(bytes), { code: "MALFORMED_ENCODING" });
      assert.ok(broadcastMessageUnits(bytes) >= 1, "a malformed body still costs a unit");
    }
  });

  const payloadItem = fc
    .tuple(fc.constantFrom("send", "payload", "gossip"), fc.uint8Array({ maxLength: 600 }))
    .map(([kind, payload]) => ({ kind, payload }) as PayloadMessage);

  it("round-trips payload batches of 1 to 64 items, in order, and counts one admission unit per item", () => {
    fc.assert(
      fc.property(fc.array(payloadItem, { minLength: 1, maxLength: MAX_PAYLOADS_PER_BATCH }), (items) => {
        const bytes = encodeBroadcastMessage({ kind: "payloads", items });
        const size = items.reduce((n, item) => n + 3 + item.payload.length, 2);
        assert.equal(bytes.length, size, "each item is its tag, a u16 length and its bytes");
        const decoded = decodeBroadcastMessage(bytes);
        assert.equal(decoded.kind, "payloads");
        assert.deepEqual(
          decoded.kind === "payloads" ? decoded.items.map((i) => [i.kind, Buffer.from(i.payload)]) : [],
          items.map((i) => [i.kind, Buffer.from(i.payload)]),
        );
        assert.equal(broadcastMessageUnits(bytes), items.length);
      }),
      { seed: 8, numRuns: 200 },
    );
  });

  it("refuses payload batches that are empty, too long, too large, cut short, padded or hold a non-payload", () => {
    const item = (kind: PayloadMessage["kind"], n: number): PayloadMessage => ({
      kind,
      payload: new Uint8Array(n).fill(9),
    });
    assert.throws(() => encodeBroadcastMessage({ kind: "payloads", items: [] }), { code: "INVALID_FIELD" });
    const tooMany = Array.from({ length: MAX_PAYLOADS_PER_BATCH + 1 }, () => item("gossip", 1));
    assert.throws(() => encodeBroadcastMessage({ kind: "payloads", items: tooMany }), {
      code: "INVALID_FIELD",
    });
    const tooLarge = [item("gossip", MAX_PAYLOAD_BATCH_BYTES / 2), item("send", MAX_PAYLOAD_BATCH_BYTES / 2)];
    assert.throws(() => encodeBroadcastMessage({ kind: "payloads", items: tooLarge }), {
      code: "INVALID_FIELD",
    });
    const two = Buffer.from(
      encodeBroadcastMessage({ kind: "payloads", items: [item("send", 4), item("gossip", 5)] }),
    );
    const forged = [
      Uint8Array.of(7),
      Uint8Array.of(7, 0),
      Buffer.concat([Uint8Array.of(7, 65), Buffer.alloc(65 * 3, 0)]),
      two.subarray(0, two.length - 1),
      two.subarray(0, 2 + 3 + 4 + 2), // cut inside the second item's header
      Buffer.concat([two, Uint8Array.of(0)]),
      Buffer.concat([Uint8Array.of(7, 3), two.subarray(2)]), // count says 3, two items follow
      Buffer.from(two).fill(2, 2, 3), // an "echo" tag where a payload belongs
      Buffer.from(two).fill(7, 9, 10), // a batch inside a batch
      Buffer.concat([Uint8Array.of(7, 1, 16, 0xff, 0xff), Buffer.alloc(MAX_PAYLOAD_BATCH_BYTES)]), // oversized
    ];
    for (const bytes of forged) {
      assert.throws(() => decodeBroadcastMessage(bytes), { code: "MALFORMED_ENCODING" });
      assert.ok(broadcastMessageUnits(bytes) >= 1, "a malformed body still costs a unit");
    }
  });

  it("decodes arbitrary bytes to a message or a typed error, never another exception", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 0, max: 18 }), (tail, tag) => {
        const bytes = Buffer.concat([Uint8Array.of(tag), tail]);
        try {
          decodeBroadcastMessage(bytes);
        } catch (e) {
          assert.equal((e as { code?: string }).code, "MALFORMED_ENCODING");
        }
        const units = broadcastMessageUnits(bytes);
        assert.ok(Number.isInteger(units) && units >= 1 && units <= 255);
      }),
      { seed: 7, numRuns: 2_000 },
    );
  });
});
