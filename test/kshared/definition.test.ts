import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sha256 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import { AddressVersion, decodeAddress } from "../../src/core/address.ts";
import { compareBytes, toHex } from "../../src/core/bytes.ts";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";
import {
  decodeDefinition,
  encodeDefinition,
  MAX_DEFINITION_BYTES,
  parseOwners,
  type SharedDefinition,
  sharedAccountId,
  sharedAddress,
} from "../../src/kshared/definition.ts";
import { testKey } from "../support/fixtures.ts";

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const labelArb = fc.string({ unit: "grapheme", maxLength: 30 }).filter((l) => Buffer.byteLength(l) <= 64);
const definitionArb: fc.Arbitrary<SharedDefinition> = fc
  .record({
    owners: fc.uniqueArray(key32, { minLength: 1, maxLength: 32, selector: toHex }),
    label: labelArb,
  })
  .map((d) => ({ owners: [...d.owners].sort(compareBytes), label: d.label }));

function code(fn: () => unknown): string {
  try {
    fn();
    return "accepted";
  } catch (e) {
    return isTallyError(e) ? e.code : `untyped ${(e as Error).message}`;
  }
}

const ownerA = new Uint8Array(32).fill(1);
const ownerB = new Uint8Array(32).fill(2);

describe("shared-account definition", () => {
  it("round-trips through its canonical encoding", () => {
    fc.assert(
      fc.property(definitionArb, (d) => {
        const bytes = encodeDefinition(d);
        assert.deepEqual(decodeDefinition(bytes), d);
        assert.ok(bytes.length <= MAX_DEFINITION_BYTES);
      }),
      { numRuns: 200 },
    );
  });

  it("is at most 1,091 bytes: 32 owners and a 64-byte label", () => {
    const owners = Array.from({ length: 32 }, (_, i) => new Uint8Array(32).fill(i));
    const bytes = encodeDefinition({ owners, label: "x".repeat(64) });
    assert.equal(bytes.length, 1091);
    assert.equal(MAX_DEFINITION_BYTES, 1091);
    assert.equal(
      code(() => encodeDefinition({ owners, label: "x".repeat(65) })),
      ErrorCode.LimitExceeded,
    );
    const tooMany = [...owners, new Uint8Array(32).fill(200)];
    assert.equal(
      code(() => encodeDefinition({ owners: tooMany, label: "" })),
      ErrorCode.LimitExceeded,
    );
  });

  it("has one spelling: unsorted or repeated owners, trailing bytes and other versions are refused", () => {
    const good = encodeDefinition({ owners: [ownerA, ownerB], label: "treasury" });
    assert.equal(
      code(() => encodeDefinition({ owners: [ownerB, ownerA], label: "" })),
      ErrorCode.NonCanonical,
    );
    assert.equal(
      code(() => encodeDefinition({ owners: [ownerA, ownerA], label: "" })),
      ErrorCode.NonCanonical,
    );
    const swapped = Uint8Array.from(good);
    swapped.set(ownerB, 2);
    swapped.set(ownerA, 34);
    assert.equal(
      code(() => decodeDefinition(swapped)),
      ErrorCode.NonCanonical,
    );
    assert.equal(
      code(() => decodeDefinition(Uint8Array.from([...good, 0]))),
      ErrorCode.MalformedEncoding,
    );
    assert.equal(
      code(() => decodeDefinition(good.subarray(0, good.length - 1))),
      ErrorCode.MalformedEncoding,
    );
    const v2 = Uint8Array.from(good);
    v2[0] = 2;
    assert.equal(
      code(() => decodeDefinition(v2)),
      ErrorCode.UnsupportedVersion,
    );
    const noOwners = Uint8Array.of(1, 0, 0);
    assert.equal(
      code(() => decodeDefinition(noOwners)),
      ErrorCode.LimitExceeded,
    );
    const badLabel = Uint8Array.from([...good.subarray(0, 66), 2, 0xc3, 0x28]);
    assert.equal(
      code(() => decodeDefinition(badLabel)),
      ErrorCode.MalformedEncoding,
    );
  });

  it("never crashes on hostile bytes and accepts only canonical encodings", () => {
    const prefixed = fc
      .tuple(fc.integer({ min: 1, max: 3 }), fc.uint8Array({ maxLength: 140 }))
      .map(([k, rest]) => Uint8Array.from([1, k, ...rest]));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), prefixed), (bytes) => {
        let decoded: SharedDefinition;
        try {
          decoded = decodeDefinition(bytes);
        } catch (e) {
          assert.ok(isTallyError(e), String(e));
          return;
        }
        assert.deepEqual(encodeDefinition(decoded), bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it("names a version-1 address: sha256 of the domain tag and the encoding", () => {
    const d = { owners: [ownerA, ownerB], label: "treasury" };
    const tag = new TextEncoder().encode("tally/shared-account/v1");
    const expected = sha256(Uint8Array.from([...tag, ...encodeDefinition(d)]));
    assert.deepEqual(sharedAccountId(d), expected);
    const address = decodeAddress(sharedAddress(d));
    assert.equal(address.version, AddressVersion.SharedAccount);
    assert.deepEqual(address.key, expected);
    assert.notEqual(sharedAddress({ ...d, label: "treasury2" }), sharedAddress(d), "the label is bound");
  });

  it("parses owner lists in any order into the canonical one, refusing bad or repeated keys", () => {
    const keys = [testKey(1), testKey(2), testKey(3)].map((k) => toHex(k.publicKey));
    const sorted = [...keys].sort();
    assert.deepEqual(parseOwners([keys[2], keys[0], keys[1]].join(",")).map(toHex), sorted);
    const two = [keys[0]!, keys[1]!].sort();
    assert.deepEqual(parseOwners(` ${keys[1]!.toUpperCase()} , ${keys[0]}`).map(toHex), two);
    const refuse = (text: string, fragment: RegExp) =>
      assert.throws(
        () => parseOwners(text),
        (e: unknown) => isTallyError(e) && fragment.test(e.message),
      );
    refuse(`${keys[0]},${keys[0]}`, /listed twice/);
    refuse(`${keys[0]},abc`, /entry 2/);
    refuse("", /comma-separated/);
    refuse("00".repeat(32), /cannot|can sign/);
    refuse(Array.from({ length: 33 }, () => keys[0]).join(","), /at most 32/);
  });
});
