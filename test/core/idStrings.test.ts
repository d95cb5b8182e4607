import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ID_STRING_CACHE_ENTRIES, idAt } from "../../src/core/idStrings.ts";

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
});
