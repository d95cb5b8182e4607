import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  copyRef,
  INSTANCE_REF_CACHE_ENTRIES,
  instanceKey,
  instanceRef,
  instanceRefAt,
  sourceBytesOf,
  wireKey,
} from "../../src/broadcast/instance/instanceId.ts";
import { ADDRESS_BYTES, addressFromBytes, decodeAddress } from "../../src/core/address.ts";
import { ErrorCode, TallyError } from "../../src/core/errors.ts";
import { MAX_SEQ } from "../../src/core/limits.ts";
import { testKey } from "../support/fixtures.ts";

const malformed = (reason: string) => new TallyError(ErrorCode.MalformedEncoding, reason);

/** An instance's 41 wire bytes: the 33-byte address, then seq as a big-endian u64. */
function wireBytes(addressBytes: Uint8Array, seq: number): Buffer {
  const out = Buffer.alloc(ADDRESS_BYTES + 8);
  out.set(addressBytes, 0);
  out.writeUInt32BE(Math.floor(seq / 2 ** 32), ADDRESS_BYTES);
  out.writeUInt32BE(seq >>> 0, ADDRESS_BYTES + 4);
  return out;
}

const addressBytes = fc
  .tuple(fc.constantFrom(0, 1), fc.uint8Array({ minLength: 32, maxLength: 32 }))
  .map(([version, key]) => Uint8Array.of(version, ...key));

describe("instanceKey", () => {
  it("is `source:seq`, one key per instance, whatever else was asked in between", () => {
    const ref = fc.record({
      source: fc.constantFrom("a", "b", "a:1", "tly1xyz"),
      seq: fc.integer({ min: 1, max: 50 }),
    });
    fc.assert(
      fc.property(fc.array(ref, { maxLength: 200 }), (refs) => {
        for (const r of refs) assert.equal(instanceKey({ ...r }), `${r.source}:${r.seq}`);
      }),
    );
  });

  it("hands out the same string object for a recent instance, and a correct key for an old one", () => {
    const first = instanceKey({ source: "tly1recent", seq: 7 });
    assert.ok(Object.is(instanceKey({ source: "tly1recent", seq: 7 }), first));
    // Push it out of both generations: the key is built again, equal in value.
    for (let i = 0; i < 2 * INSTANCE_REF_CACHE_ENTRIES + 1; i++)
      instanceKey({ source: "tly1other", seq: i + 1 });
    assert.equal(instanceKey({ source: "tly1recent", seq: 7 }), "tly1recent:7");
  });
});

describe("instance references", () => {
  it("read as the plain { source, seq } they stand for: equality, spread and JSON see nothing else", () => {
    const ref = instanceRef("tly1plain", 3);
    assert.deepStrictEqual(ref, { source: "tly1plain", seq: 3 });
    assert.deepStrictEqual({ ...ref }, { source: "tly1plain", seq: 3 });
    assert.equal(JSON.stringify(ref), '{"source":"tly1plain","seq":3}');
    assert.ok(Object.isFrozen(ref));
    assert.equal(instanceKey(ref), "tly1plain:3");
  });

  it("are one object per recent instance, however they were asked for", () => {
    const { bytes } = decodeAddress(testKey(3).address);
    const fromBytes = instanceRefAt(wireBytes(bytes, 12), 0, malformed);
    assert.equal(fromBytes, instanceRef(testKey(3).address, 12));
    assert.equal(copyRef(fromBytes), fromBytes);
    // Another object for the same instance is replaced by the recent one, not copied.
    assert.equal(copyRef({ source: testKey(3).address, seq: 12 }), fromBytes);
  });

  it("carry their source's 33 bytes, the address cache's copy, however they were made", () => {
    const address = testKey(4).address;
    const { bytes } = decodeAddress(address);
    const wire = wireBytes(bytes, 5);
    const ref = instanceRefAt(wire, 0, malformed);
    assert.deepEqual(sourceBytesOf(ref), bytes);
    wire.fill(0);
    assert.deepEqual(sourceBytesOf(ref), bytes);
    assert.equal(sourceBytesOf(instanceRef(address, 6)), decodeAddress(address).bytes);
    // A source that is no address (the simulator's) has none; a plain object is not a reference.
    assert.equal(sourceBytesOf(instanceRef("alice", 1)), undefined);
    assert.equal(sourceBytesOf({ source: address, seq: 5 }), undefined);
  });

  it("decode any well-formed instance to its address and seq, at any offset, before and after turnover", () => {
    fc.assert(
      fc.property(
        addressBytes,
        fc.oneof(fc.integer({ min: 1, max: 2 ** 32 + 5 }), fc.integer({ min: 1, max: MAX_SEQ })),
        fc.integer({ min: 0, max: 7 }),
        (address, seq, pad) => {
          const bytes = Buffer.concat([Buffer.alloc(pad, 0xee), wireBytes(address, seq)]);
          const ref = instanceRefAt(bytes, pad, malformed);
          assert.deepStrictEqual(ref, { source: addressFromBytes(address), seq });
          assert.equal(instanceKey(ref), `${addressFromBytes(address)}:${seq}`);
        },
      ),
      { seed: 11, numRuns: 2 * INSTANCE_REF_CACHE_ENTRIES + 1_000 },
    );
  });

  it("refuse an unknown address version, a seq of 0 or one beyond 2^53 − 1, and cut-short bytes", () => {
    const { bytes } = decodeAddress(testKey(6).address);
    const badVersion = wireBytes(bytes, 1);
    badVersion[0] = 9;
    const tooHigh = wireBytes(bytes, 1);
    tooHigh.writeUInt32BE(2 ** 21, ADDRESS_BYTES);
    for (const wire of [badVersion, wireBytes(bytes, 0), tooHigh, wireBytes(bytes, 1).subarray(0, 40)]) {
      assert.throws(() => instanceRefAt(wire, 0, malformed), { code: ErrorCode.MalformedEncoding });
    }
  });

  it("never answer one instance for another whose bytes share its table key", () => {
    // A birthday search over addresses (keys that look random, ≈ 50,000 tries) finds two with one table key.
    const seq = 9;
    const addressOf = (n: number) =>
      Uint8Array.of(0, ...createHash("sha256").update(`collision ${n}`).digest());
    const seen = new Map<number, number>();
    let pair: [number, number] | undefined;
    for (let n = 0; pair === undefined; n++) {
      const key = wireKey(wireBytes(addressOf(n), seq), 0, 0, seq);
      const other = seen.get(key);
      if (other !== undefined) pair = [other, n];
      seen.set(key, n);
    }
    for (const n of [pair[0], pair[1], pair[0], pair[1]]) {
      const ref = instanceRefAt(wireBytes(addressOf(n), seq), 0, malformed);
      assert.deepStrictEqual(ref, { source: addressFromBytes(addressOf(n)), seq });
    }
  });
});
