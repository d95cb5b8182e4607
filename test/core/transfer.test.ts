import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { AddressVersion, decodeAddress, encodeAddress } from "../../src/core/address.ts";
import { toHex } from "../../src/core/bytes.ts";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";
import { MAX_DEPS, MAX_MEMO_BYTES, MAX_OUTPUTS } from "../../src/core/limits.ts";
import {
  decodeTransfer,
  type EncodedTransfer,
  encodeTransfer,
  encodeTransferBody,
  sourceBytesOf,
  type Transfer,
} from "../../src/core/transfer.ts";
import { transferFromJson, transferToJson } from "../../src/core/transferJson.ts";

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const addressArb = fc
  .tuple(fc.constantFrom(AddressVersion.Ed25519, AddressVersion.SharedAccount), key32)
  .map(([v, k]) => encodeAddress(v, k));
// A shared source is authorized by a certificate, not a signature (test/core/sharedTransfer.test.ts).
const singleKeySourceArb = key32.map((k) => encodeAddress(AddressVersion.Ed25519, k));
const amountArb = fc.bigInt({ min: 1n, max: (1n << 120n) - 1n });
const memoArb = fc
  .string({ unit: "grapheme", maxLength: 40 })
  .filter((m) => Buffer.byteLength(m) <= MAX_MEMO_BYTES);

const transferArb: fc.Arbitrary<Transfer> = fc
  .record({
    network: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,31}$/),
    source: singleKeySourceArb,
    seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    outputs: fc.uniqueArray(fc.record({ to: addressArb, amount: amountArb }), {
      minLength: 1,
      maxLength: 8,
      selector: (o) => o.to,
    }),
    deps: fc.uniqueArray(key32.map(toHex), { maxLength: 6 }),
    memo: fc.option(memoArb, { nil: undefined }),
    signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
  })
  .filter((t) => t.outputs.every((o) => o.to !== t.source))
  .map((t) => ({
    ...t,
    version: 1,
    // The format's canonical orders: outputs by recipient bytes, deps by id.
    outputs: t.outputs.map((o) => ({ to: o.to, amount: o.amount })).sort((a, b) => addressOrder(a.to, b.to)),
    deps: [...t.deps].sort(),
    memo: t.memo === "" ? undefined : t.memo,
  }));

function addressOrder(a: string, b: string): number {
  // The format orders outputs by address bytes, which is not the order of the bech32 strings.
  return Buffer.compare(decodeAddress(a).bytes, decodeAddress(b).bytes);
}

function sample(): EncodedTransfer {
  return encodeTransfer(fc.sample(transferArb, { numRuns: 1, seed: 42 })[0]!);
}

/** Decoding untrusted bytes either fails with a typed error or yields the unique canonical encoding. */
function decodeOrTypedError(bytes: Uint8Array): void {
  let decoded: EncodedTransfer;
  try {
    decoded = decodeTransfer(bytes);
  } catch (e) {
    assert.ok(isTallyError(e), `untyped error ${(e as Error)?.stack}`);
    return;
  }
  assert.deepEqual(
    encodeTransfer(decoded.transfer).bytes,
    Uint8Array.from(bytes),
    "accepted a non-canonical encoding",
  );
}

describe("transfer encoding", () => {
  it("round-trips through bytes and JSON with a stable id", () => {
    fc.assert(
      fc.property(transferArb, (t) => {
        const encoded = encodeTransfer(t);
        const decoded = decodeTransfer(encoded.bytes);
        assert.equal(decoded.id, encoded.id);
        assert.deepEqual(decoded.transfer, { ...t, memo: t.memo });
        const viaJson = transferFromJson(JSON.parse(JSON.stringify(transferToJson(decoded.transfer))));
        assert.equal(viaJson.id, encoded.id);
        assert.deepEqual(viaJson.bytes, encoded.bytes);
      }),
      { numRuns: 300 },
    );
  });

  it("reads the source's bytes from the body, or from the named source when a hand-built body disagrees", () => {
    fc.assert(
      fc.property(transferArb, (t) => {
        const decoded = decodeTransfer(encodeTransfer(t).bytes);
        assert.deepEqual(sourceBytesOf(decoded), decodeAddress(t.source).bytes);
      }),
      { numRuns: 100 },
    );
    const e = sample();
    const other = encodeAddress(AddressVersion.Ed25519, new Uint8Array(32).fill(7));
    const mismatched: EncodedTransfer = { ...e, transfer: { ...e.transfer, source: other } };
    assert.deepEqual(sourceBytesOf(mismatched), decodeAddress(other).bytes);
  });

  it("ids hash the body only, so the signature cannot change a transfer's id", () => {
    const e = sample();
    const resigned = encodeTransfer({ ...e.transfer, signature: new Uint8Array(64).fill(9) });
    assert.equal(resigned.id, e.id);
    assert.notDeepEqual(resigned.bytes, e.bytes);
  });

  it("never crashes on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => decodeOrTypedError(bytes)),
      { numRuns: 5000 },
    );
  });

  it("never crashes on mutated valid encodings and never accepts a second encoding", () => {
    const mutation = fc.record({
      at: fc.nat(),
      kind: fc.constantFrom("flip", "truncate", "insert", "delete", "set"),
      value: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(transferArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), (t, mutations) => {
        let bytes = Array.from(encodeTransfer(t).bytes);
        for (const m of mutations) {
          const i = m.at % (bytes.length + 1);
          if (m.kind === "flip" && i < bytes.length) bytes[i]! ^= 1 << (m.value % 8);
          if (m.kind === "set" && i < bytes.length) bytes[i] = m.value;
          if (m.kind === "truncate") bytes = bytes.slice(0, i);
          if (m.kind === "insert") bytes.splice(i, 0, m.value);
          if (m.kind === "delete") bytes.splice(i, 1);
        }
        decodeOrTypedError(Uint8Array.from(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  const a = encodeAddress(0, new Uint8Array(32).fill(1));
  const b = encodeAddress(0, new Uint8Array(32).fill(2));
  const c = encodeAddress(0, new Uint8Array(32).fill(3));
  const base: Transfer = {
    version: 1,
    network: "tally-test",
    source: a,
    seq: 1,
    outputs: [{ to: b, amount: 5n }],
    deps: [],
    signature: new Uint8Array(64).fill(0xab),
  };
  const cases: [string, Partial<Transfer>, string][] = [
    ["an unknown version", { version: 2 }, ErrorCode.UnsupportedVersion],
    ["seq 0", { seq: 0 }, ErrorCode.InvalidField],
    ["no outputs", { outputs: [] }, ErrorCode.LimitExceeded],
    ["a zero amount", { outputs: [{ to: b, amount: 0n }] }, ErrorCode.InvalidField],
    ["an amount of 2^128", { outputs: [{ to: b, amount: 1n << 128n }] }, ErrorCode.InvalidField],
    ["a payment to the source", { outputs: [{ to: a, amount: 1n }] }, ErrorCode.InvalidField],
    [
      "unsorted outputs",
      {
        outputs: [
          { to: c, amount: 1n },
          { to: b, amount: 1n },
        ],
      },
      ErrorCode.NonCanonical,
    ],
    [
      "a repeated recipient",
      {
        outputs: [
          { to: b, amount: 1n },
          { to: b, amount: 1n },
        ],
      },
      ErrorCode.NonCanonical,
    ],
    ["unsorted deps", { deps: ["bb".repeat(32), "aa".repeat(32)] }, ErrorCode.NonCanonical],
    ["uppercase dep hex", { deps: ["AA".repeat(32)] }, ErrorCode.InvalidField],
    ["a bad network id", { network: "Tally Net" }, ErrorCode.InvalidField],
    ["an oversized memo", { memo: "x".repeat(MAX_MEMO_BYTES + 1) }, ErrorCode.LimitExceeded],
    [
      "too many outputs",
      {
        outputs: Array.from({ length: MAX_OUTPUTS + 1 }, (_, i) => ({
          to: encodeAddress(0, new Uint8Array(32).fill(i + 10)),
          amount: 1n,
        })),
      },
      ErrorCode.LimitExceeded,
    ],
    [
      "too many deps",
      { deps: Array.from({ length: MAX_DEPS + 1 }, (_, i) => i.toString(16).padStart(64, "0")) },
      ErrorCode.LimitExceeded,
    ],
  ];
  for (const [what, change, code] of cases) {
    it(`rejects ${what} with ${code}`, () => {
      assert.throws(
        () => encodeTransfer({ ...base, ...change }),
        (e: unknown) => isTallyError(e) && e.code === code,
      );
    });
  }

  it("rejects malformed bytes: trailing data, truncation, invalid UTF-8 memo, oversized counts", () => {
    const good = encodeTransfer({ ...base, memo: "hi" }).bytes;
    const code = (bytes: Uint8Array) => {
      try {
        decodeTransfer(bytes);
        return "accepted";
      } catch (e) {
        return isTallyError(e) ? e.code : "untyped";
      }
    };
    assert.equal(code(Uint8Array.from([...good, 0])), ErrorCode.MalformedEncoding);
    assert.equal(code(good.subarray(0, good.length - 1)), ErrorCode.MalformedEncoding);
    const body = encodeTransferBody({ ...base, memo: "hi" });
    const badMemo = Uint8Array.from([
      ...body.subarray(0, body.length - 2),
      0xc3,
      0x28,
      ...new Uint8Array(64),
    ]);
    assert.equal(code(badMemo), ErrorCode.MalformedEncoding);
    const outputCountAt = 1 + 1 + "tally-test".length + 33 + 8;
    const manyOutputs = Uint8Array.from(good);
    manyOutputs[outputCountAt] = MAX_OUTPUTS + 1;
    assert.equal(code(manyOutputs), ErrorCode.LimitExceeded);
  });

  it("reads JSON strictly: unknown fields, leading zeros and wrong types are errors", () => {
    const json = transferToJson(base);
    const bad: unknown[] = [
      { ...json, extra: 1 },
      { ...json, outputs: [{ to: b, amount: "05" }] },
      { ...json, outputs: [{ to: b, amount: 5 }] },
      { ...json, outputs: [{ to: b, amount: "-5" }] },
      { ...json, seq: "1" },
      { ...json, signature: json.signature!.toUpperCase() },
      { ...json, signature: "00" },
      { ...json, source: a.toUpperCase() },
      null,
      [],
    ];
    for (const value of bad) {
      assert.throws(
        () => transferFromJson(value),
        (e: unknown) => isTallyError(e),
        JSON.stringify(value),
      );
    }
    assert.equal(
      transferFromJson({ ...json, memo: "" }).id,
      encodeTransfer(base).id,
      "an empty memo is no memo",
    );
  });
});
