import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bech32, bech32m } from "@scure/base";
import fc from "fast-check";
import {
  ADDRESS_CACHE_ENTRIES,
  AddressVersion,
  addressAt,
  addressFromBytes,
  decodeAddress,
  encodeAddress,
  isValidAddress,
} from "../../src/core/address.ts";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";

function rejects(address: unknown, why: string): void {
  assert.throws(
    () => decodeAddress(address),
    (e: unknown) => isTallyError(e, ErrorCode.InvalidAddress),
    why,
  );
}

describe("addresses", () => {
  it("round-trip both versions", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(AddressVersion.Ed25519, AddressVersion.SharedAccount),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (version, key) => {
          const address = encodeAddress(version, key);
          assert.match(address, /^tly1[02-9ac-hj-np-z]{59}$/);
          const decoded = decodeAddress(address);
          assert.equal(decoded.version, version);
          assert.deepEqual(decoded.key, key);
        },
      ),
    );
  });

  it("spells each 33-byte form the same before, while and after its cached spelling is evicted", () => {
    const bytesOf = (n: number) => {
      const bytes = new Uint8Array(33);
      new DataView(bytes.buffer).setUint32(29, n);
      return bytes;
    };
    const uncached = (n: number) => bech32m.encode("tly", bech32m.toWords(bytesOf(n)));
    const first = bytesOf(0);
    assert.equal(addressFromBytes(first), uncached(0));
    first[32] = 1; // the cache keys by content, so a caller reusing its buffer gets the new content's address
    assert.equal(addressFromBytes(first), uncached(1));
    for (let n = 2; n < ADDRESS_CACHE_ENTRIES + 10; n++) addressFromBytes(bytesOf(n));
    for (const n of [0, 1, ADDRESS_CACHE_ENTRIES + 9]) {
      assert.equal(addressFromBytes(bytesOf(n)), uncached(n));
      assert.deepEqual(decodeAddress(addressFromBytes(bytesOf(n))).bytes, bytesOf(n));
    }
  });

  it("reads an address in place at any offset, as its own 33 bytes would spell it, and refuses one cut short", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat(40), (key, offset) => {
        const own = Uint8Array.from([AddressVersion.Ed25519, ...key]);
        const host = new Uint8Array(offset + 33 + 7).fill(0xee);
        host.set(own, offset);
        assert.equal(addressAt(host, offset), encodeAddress(AddressVersion.Ed25519, key));
        assert.equal(addressAt(host, offset), addressFromBytes(own));
      }),
      { seed: 3, numRuns: 300 },
    );
    const host = new Uint8Array(40);
    for (const offset of [-1, 8, 39]) {
      assert.throws(
        () => addressAt(host, offset),
        (e: unknown) => isTallyError(e, ErrorCode.InvalidAddress),
      );
    }
    host[2] = 0x7f;
    assert.throws(
      () => addressAt(host, 2),
      (e: unknown) => isTallyError(e, ErrorCode.InvalidAddress),
    );
  });

  it("rejects a bech32 (not bech32m) checksum, a wrong prefix, a bad checksum and uppercase", () => {
    const key = new Uint8Array(32).fill(5);
    const words = bech32m.toWords(Uint8Array.from([0, ...key]));
    rejects(bech32.encode("tly", words), "bech32 checksum");
    rejects(bech32m.encode("bc", words), "wrong prefix");
    const good = encodeAddress(AddressVersion.Ed25519, key);
    rejects(`${good.slice(0, -1)}${good.endsWith("q") ? "p" : "q"}`, "bad checksum");
    rejects(good.toUpperCase(), "uppercase");
  });

  it("rejects wrong lengths, unknown versions and non-strings", () => {
    rejects(bech32m.encode("tly", bech32m.toWords(new Uint8Array(32))), "32-byte payload");
    rejects(bech32m.encode("tly", bech32m.toWords(new Uint8Array(34))), "34-byte payload");
    rejects(bech32m.encode("tly", bech32m.toWords(Uint8Array.from([2, ...new Uint8Array(32)]))), "version 2");
    rejects(42, "number");
    rejects("", "empty");
    assert.throws(() => encodeAddress(AddressVersion.Ed25519, new Uint8Array(31)));
  });

  it("never throws anything but InvalidAddress on arbitrary strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (s) => {
        try {
          decodeAddress(s);
        } catch (e) {
          assert.ok(isTallyError(e, ErrorCode.InvalidAddress));
        }
      }),
      { numRuns: 2000 },
    );
    assert.equal(isValidAddress("tly1"), false);
  });
});
