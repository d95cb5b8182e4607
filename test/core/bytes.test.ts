import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesEqual, latin1Of, sameLatin1Bytes } from "../../src/core/bytes.ts";

describe("bytes kept as one-byte strings", () => {
  it("match exactly the bytes they were made from, every byte value included", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), fc.uint8Array({ maxLength: 96 }), (a, b) => {
        const kept = latin1Of(a);
        assert.equal(kept.length, a.length);
        assert.equal(sameLatin1Bytes(kept, a), true);
        assert.equal(sameLatin1Bytes(kept, b), bytesEqual(a, b));
      }),
    );
  });

  it("tell apart two signatures one bit apart, and a view from a copy of other bytes", () => {
    const frame = new Uint8Array(256).map((_, i) => i);
    const signature = frame.subarray(100, 164);
    const kept = latin1Of(signature);
    const flipped = new Uint8Array(signature);
    flipped[63]! ^= 1;
    assert.equal(sameLatin1Bytes(kept, signature), true);
    assert.equal(sameLatin1Bytes(kept, flipped), false);
    assert.equal(sameLatin1Bytes(kept, signature.subarray(0, 63)), false);
    // A copy: changing the frame afterwards does not change what was kept.
    frame[100] = 0;
    assert.equal(sameLatin1Bytes(kept, new Uint8Array(256).map((_, i) => i).subarray(100, 164)), true);
  });
});
