import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ByteReader } from "../../src/core/byteReader.ts";
import { ByteWriter } from "../../src/core/byteWriter.ts";
import { ErrorCode, TallyError } from "../../src/core/errors.ts";

const malformed = (message: string) => new TallyError(ErrorCode.MalformedEncoding, message);

describe("ByteWriter", () => {
  it("writes big-endian fields in order, exactly as many bytes as written", () => {
    const out = new ByteWriter()
      .u8(1)
      .u16(0x0203)
      .u32(0x04050607)
      .u64(0x08090a0b0c0dn)
      .bytes(Uint8Array.of(9))
      .finish();
    assert.deepEqual([...out], [1, 2, 3, 4, 5, 6, 7, 0, 0, 8, 9, 10, 11, 12, 13, 9]);
  });

  it("grows past its first buffer without losing what it holds", () => {
    const big = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    const out = new ByteWriter(2).u8(7).bytes(big).u32(0xdeadbeef).finish();
    assert.equal(out.length, 1 + 1000 + 4);
    assert.equal(out[0], 7);
    assert.deepEqual(out.subarray(1, 1001), big);
    assert.deepEqual([...out.subarray(1001)], [0xde, 0xad, 0xbe, 0xef]);
  });

  it("hands out a copy: writing on does not change an earlier result", () => {
    const w = new ByteWriter().u8(1);
    const first = w.finish();
    w.u8(2);
    assert.deepEqual([...first], [1]);
    assert.deepEqual([...w.finish()], [1, 2]);
  });

  it("a fraction for a u64 throws and writes nothing", () => {
    const w = new ByteWriter().u8(1);
    assert.throws(() => w.u64(1.5), RangeError);
    assert.deepEqual([...w.finish()], [1]);
  });

  it("reads back through ByteReader", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant("u8" as const), v: fc.integer({ min: 0, max: 0xff }) }),
            fc.record({ kind: fc.constant("u16" as const), v: fc.integer({ min: 0, max: 0xffff }) }),
            fc.record({ kind: fc.constant("u32" as const), v: fc.integer({ min: 0, max: 0xffff_ffff }) }),
            fc.record({ kind: fc.constant("u64" as const), v: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
            fc.record({ kind: fc.constant("bytes" as const), v: fc.uint8Array({ maxLength: 200 }) }),
          ),
          { maxLength: 40 },
        ),
        (fields) => {
          const w = new ByteWriter(1);
          for (const f of fields) {
            if (f.kind === "bytes") w.bytes(f.v);
            else if (f.kind === "u64") w.u64(f.v);
            else w[f.kind](f.v);
          }
          const r = new ByteReader(w.finish(), malformed);
          for (const f of fields) {
            if (f.kind === "bytes") assert.deepEqual(r.bytes(f.v.length, "bytes"), f.v);
            else assert.equal(r[f.kind](f.kind), f.v);
          }
          r.end();
        },
      ),
    );
  });
});
