import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeBroadcastMessage, encodeBroadcastMessage } from "../../src/broadcast/messageCodec.ts";
import type { BroadcastMessage } from "../../src/broadcast/types.ts";
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
});
