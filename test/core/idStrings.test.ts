import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ID_STRING_CACHE_ENTRIES, idAt, internId } from "../../src/core/idStrings.ts";

const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe("idAt", () => {
  it("spells the 32 bytes at the offset as lowercase hex, also for ids that share their first bytes", () => {
    // Ids drawn from a few prefixes: the cache's key is 30 bits of the first four bytes, so these collide.
    const prefix = fc.constantFrom(
      Uint8Array.of(0, 0, 0, 0),
      Uint8Array.of(1, 2, 3, 4),
      Uint8Array.of(1, 2, 3, 5),
    );
    const id = fc
      .tuple(prefix, fc.uint8Array({ minLength: 28, maxLength: 28 }))
      .map(([p, rest]) => Uint8Array.from([...p, ...rest]));
    fc.assert(
      fc.property(fc.array(fc.tuple(id, fc.nat(8)), { maxLength: 100 }), (ids) => {
        for (const [bytes, pad] of ids) {
          const framed = new Uint8Array(pad + 32 + 3);
          framed.set(bytes, pad);
          assert.equal(idAt(framed, pad), hexOf(bytes));
          assert.equal(idAt(Buffer.from(framed), pad), hexOf(bytes));
        }
      }),
    );
  });

  it("returns the same string object for a recent id, and never reads past the bytes", () => {
    const bytes = new Uint8Array(32).fill(0xab);
    const first = idAt(bytes, 0);
    assert.ok(Object.is(idAt(new Uint8Array(bytes), 0), first));
    bytes[0] = 0; // the caller's bytes change: the cache kept a copy
    assert.equal(idAt(new Uint8Array(32).fill(0xab), 0), "ab".repeat(32));
    for (let i = 0; i < 2 * ID_STRING_CACHE_ENTRIES + 1; i++) {
      const other = new Uint8Array(32);
      new DataView(other.buffer).setUint32(0, i + 7);
      idAt(other, 0);
    }
    assert.equal(idAt(new Uint8Array(32).fill(0xab), 0), "ab".repeat(32));
    assert.throws(() => idAt(new Uint8Array(40), 9), RangeError);
    assert.throws(() => idAt(new Uint8Array(40), -1), RangeError);
  });

  it("interns an id spelled as hex into the string idAt hands out, and leaves anything else alone", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const hex = hexOf(bytes);
        const interned = internId(`${hex.slice(0, 10)}${hex.slice(10)}`);
        assert.equal(interned, hex);
        assert.ok(Object.is(idAt(bytes, 0), interned));
        assert.ok(Object.is(internId(hexOf(bytes)), interned));
      }),
    );
    const upper = "AB".repeat(32);
    assert.ok(Object.is(internId(upper), upper));
    assert.equal(internId("ab".repeat(31)), "ab".repeat(31));
    assert.equal(internId(`${"ab".repeat(31)}zz`), `${"ab".repeat(31)}zz`);
    // Cached as the lowercase id only: the upper-case spelling never comes back for it.
    assert.equal(idAt(Buffer.from(upper, "hex"), 0), "ab".repeat(32));
  });
});
