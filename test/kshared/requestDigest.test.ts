/**
 * The request digest binds the requesting owner to the proposal: its layout is part of what every owner
 * signs and what the ledger recomputes, so it is pinned here byte for byte.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { toHex } from "../../src/core/bytes.ts";
import { requestDigest, requestDigestOfHash } from "../../src/kshared/requestDigest.ts";

const sha256 = (bytes: Uint8Array) => new Uint8Array(createHash("sha256").update(bytes).digest());

describe("request digest", () => {
  it("is sha256(tag ‖ owner u8 ‖ sha256(proposal))", () => {
    const proposal = new TextEncoder().encode("1 to W, seq 0");
    const tag = new TextEncoder().encode("tally/kshared/request-digest/v1\0");
    const expected = sha256(Uint8Array.from([...tag, 7, ...sha256(proposal)]));
    assert.equal(toHex(requestDigest(7, proposal)), toHex(expected));
    assert.equal(toHex(requestDigestOfHash(7, sha256(proposal))), toHex(expected));
  });

  it("differs for every owner of the same bytes, and for every bytes of the same owner", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.nat({ max: 31 }),
        fc.nat({ max: 31 }),
        (a, b, x, y) => {
          const same = toHex(requestDigest(x, a)) === toHex(requestDigest(y, b));
          return same === (x === y && toHex(a) === toHex(b));
        },
      ),
    );
  });

  it("is never the proposal's own hash (a digest of the old form certifies nothing)", () => {
    const proposal = Uint8Array.of(1, 2, 3);
    for (let owner = 0; owner < 32; owner++)
      assert.notEqual(toHex(requestDigest(owner, proposal)), toHex(sha256(proposal)));
  });

  it("refuses an owner index outside a byte and a hash that is not 32 bytes", () => {
    assert.throws(() => requestDigest(256, Uint8Array.of(1)), RangeError);
    assert.throws(() => requestDigest(-1, Uint8Array.of(1)), RangeError);
    assert.throws(() => requestDigest(1.5, Uint8Array.of(1)), RangeError);
    assert.throws(() => requestDigestOfHash(0, new Uint8Array(31)), RangeError);
  });
});
