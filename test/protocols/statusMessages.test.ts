import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { AddressVersion, encodeAddress } from "../../src/core/address.ts";
import { toHex } from "../../src/core/bytes.ts";
import { type ErrorCode, isTallyError } from "../../src/core/errors.ts";
import { MAX_SEQ } from "../../src/core/limits.ts";
import {
  decodeStatusRequest,
  decodeStatusResponse,
  encodeStatusRequest,
  encodeStatusResponse,
  MAX_STATUS_PROTOCOLS,
  MAX_STATUS_RESPONSE_BYTES,
  type ProtocolVersion,
  type StatusResponse,
  statusRequestCodec,
  statusResponseCodec,
} from "../../src/protocols/status/statusMessages.ts";
import {
  type BucketSummary,
  EMPTY_DIGEST,
  MAX_BUCKET_ACCOUNTS,
  MAX_SEQ_SUM,
  WATERMARK_BUCKETS,
  WatermarkSummary,
} from "../../src/protocols/status/watermarkSummary.ts";

const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex);

const protocolsArb: fc.Arbitrary<ProtocolVersion[]> = fc
  .uniqueArray(
    fc.record({ id: fc.nat(0xffff), version: fc.integer({ min: 1, max: 0xffff }) }).map((p) => ({ ...p })),
    {
      minLength: 1,
      maxLength: MAX_STATUS_PROTOCOLS,
      selector: (p) => `${p.id}/${p.version}`,
    },
  )
  .map((ps) => ps.sort((a, b) => a.id - b.id || a.version - b.version));

// fc.record builds null-prototype objects; the decoder builds plain ones, and deepEqual compares prototypes.
/** Any bucket the codec can carry, including extremes no real ledger reaches. */
const bucketArb: fc.Arbitrary<BucketSummary> = fc
  .oneof(fc.constant(0), fc.integer({ min: 1, max: MAX_BUCKET_ACCOUNTS }), fc.constant(MAX_BUCKET_ACCOUNTS))
  .chain((accounts) => {
    if (accounts === 0) return fc.constant({ accounts, seqSum: 0n, digest: EMPTY_DIGEST });
    const cap = BigInt(accounts) * BigInt(MAX_SEQ);
    const max = cap < MAX_SEQ_SUM ? cap : MAX_SEQ_SUM;
    return fc.record({
      accounts: fc.constant(accounts),
      seqSum: fc.bigInt({ min: BigInt(accounts), max }),
      digest: hex32,
    });
  })
  .map((b) => ({ ...b }));

const responseArb: fc.Arbitrary<StatusResponse> = fc
  .record({
    network: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,31}$/),
    genesis: hex32,
    protocols: protocolsArb,
    watermarks: fc
      .array(bucketArb, { minLength: WATERMARK_BUCKETS, maxLength: WATERMARK_BUCKETS })
      .map((buckets) => ({ buckets })),
  })
  .map((r) => ({ ...r }));

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => isTallyError(e, code), `expected ${code}`);
}

function throwsOnlyTallyErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isTallyError(e), `expected a TallyError, got ${String(e)}`);
  }
}

/** Truncations, extensions and byte flips of valid encodings reach far deeper than uniform noise. */
const mutatedArb = fc
  .tuple(responseArb, fc.nat(), fc.nat(255), fc.constantFrom("flip", "truncate", "extend"))
  .map(([response, position, value, how]) => {
    const bytes = encodeStatusResponse(response);
    const at = position % bytes.length;
    if (how === "truncate") return bytes.subarray(0, at);
    if (how === "extend") return Uint8Array.from([...bytes, value]);
    const copy = Uint8Array.from(bytes);
    copy[at] = value;
    return copy;
  });

describe("status request codec", () => {
  it("encodes the empty request as zero bytes and accepts nothing else", () => {
    assert.equal(encodeStatusRequest({}).length, 0);
    assert.deepEqual(decodeStatusRequest(new Uint8Array(0)), {});
    throwsCode(() => decodeStatusRequest(Uint8Array.of(0)), "MALFORMED_ENCODING");
    assert.equal(statusRequestCodec.decode(statusRequestCodec.encode({})).constructor, Object);
  });
});

describe("status response codec", () => {
  it("round-trips every value it accepts", () => {
    fc.assert(
      fc.property(responseArb, (response) => {
        assert.deepEqual(statusResponseCodec.decode(statusResponseCodec.encode(response)), response);
      }),
      { numRuns: 300 },
    );
  });

  it("round-trips a summary built from a real watermark set", () => {
    const summary = WatermarkSummary.fromWatermarks(
      Array.from({ length: 500 }, (_, i) => {
        const key = new Uint8Array(32);
        new DataView(key.buffer).setUint32(0, i);
        return [encodeAddress(AddressVersion.Ed25519, key), 1 + (i % 17)] as const;
      }),
    );
    const response: StatusResponse = {
      network: "tally-devnet",
      genesis: "ab".repeat(32),
      protocols: [
        { id: 1, version: 1 },
        { id: 2, version: 1 },
      ],
      watermarks: summary.snapshot(),
    };
    assert.deepEqual(decodeStatusResponse(encodeStatusResponse(response)), response);
  });

  it("has one encoding per value: whatever decodes re-encodes to the same bytes", () => {
    const anyBytes = fc.oneof(mutatedArb, fc.uint8Array({ maxLength: MAX_STATUS_RESPONSE_BYTES + 2 }));
    let decodedCount = 0;
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        let decoded: StatusResponse;
        try {
          decoded = decodeStatusResponse(bytes);
        } catch (e) {
          assert.ok(isTallyError(e), `expected a TallyError, got ${String(e)}`);
          return;
        }
        decodedCount++;
        assert.deepEqual(encodeStatusResponse(decoded), Uint8Array.from(bytes));
      }),
      { numRuns: 2000 },
    );
    assert.ok(decodedCount > 100, `only ${decodedCount} inputs decoded: the property says little`);
  });

  it("throws only TallyError on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4000 }), (bytes) => {
        throwsOnlyTallyErrors(() => decodeStatusResponse(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it("stays within its stated maximum size and refuses anything longer before parsing", () => {
    const largest: StatusResponse = {
      network: "n".repeat(32),
      genesis: "00".repeat(32),
      protocols: Array.from({ length: MAX_STATUS_PROTOCOLS }, (_, i) => ({ id: i, version: 1 })),
      watermarks: {
        buckets: Array.from({ length: WATERMARK_BUCKETS }, () => ({
          accounts: MAX_BUCKET_ACCOUNTS,
          seqSum: MAX_SEQ_SUM,
          digest: "ff".repeat(32),
        })),
      },
    };
    assert.equal(MAX_STATUS_RESPONSE_BYTES, 3010);
    const bytes = encodeStatusResponse(largest);
    assert.equal(bytes.length, MAX_STATUS_RESPONSE_BYTES);
    throwsCode(() => decodeStatusResponse(Uint8Array.from([...bytes, 0])), "LIMIT_EXCEEDED");
  });

  it("decodes from a view into a larger buffer", () => {
    const response = fc.sample(responseArb, { numRuns: 1, seed: 3 })[0]!;
    const bytes = encodeStatusResponse(response);
    const framed = new Uint8Array(bytes.length + 10);
    framed.set(bytes, 7);
    assert.deepEqual(decodeStatusResponse(framed.subarray(7, 7 + bytes.length)), response);
  });

  describe("rejects with a typed error", () => {
    const valid = fc.sample(responseArb, { numRuns: 1, seed: 11 })[0]!;
    const withBucket = (b: BucketSummary): StatusResponse => ({
      ...valid,
      watermarks: { buckets: [b, ...valid.watermarks.buckets.slice(1)] },
    });

    it("unsorted or duplicate protocols (non-canonical)", () => {
      const twice = {
        ...valid,
        protocols: [
          { id: 3, version: 1 },
          { id: 3, version: 1 },
        ],
      };
      throwsCode(() => encodeStatusResponse(twice), "NON_CANONICAL");
      const bytes = encodeStatusResponse({
        ...valid,
        protocols: [
          { id: 3, version: 1 },
          { id: 4, version: 1 },
        ],
      });
      const at = 1 + valid.network.length + 32 + 1;
      const swapped = Uint8Array.from(bytes);
      swapped.set(bytes.subarray(at + 4, at + 8), at);
      swapped.set(bytes.subarray(at, at + 4), at + 4);
      throwsCode(() => decodeStatusResponse(swapped), "NON_CANONICAL");
    });

    it("values the codec cannot carry or no ledger can produce", () => {
      throwsCode(() => encodeStatusResponse({ ...valid, network: "Tally" }), "INVALID_FIELD");
      throwsCode(() => encodeStatusResponse({ ...valid, genesis: "AB".repeat(32) }), "INVALID_FIELD");
      throwsCode(() => encodeStatusResponse({ ...valid, protocols: [] }), "INVALID_FIELD");
      throwsCode(
        () => encodeStatusResponse({ ...valid, protocols: [{ id: 1, version: 0 }] }),
        "INVALID_FIELD",
      );
      throwsCode(
        () => encodeStatusResponse({ ...valid, watermarks: { buckets: valid.watermarks.buckets.slice(1) } }),
        "INVALID_FIELD",
      );
      throwsCode(
        () => encodeStatusResponse(withBucket({ accounts: 2, seqSum: 1n, digest: EMPTY_DIGEST })),
        "INVALID_FIELD",
      );
      throwsCode(
        () => encodeStatusResponse(withBucket({ accounts: 0, seqSum: 0n, digest: "01".repeat(32) })),
        "INVALID_FIELD",
      );
      throwsCode(
        () => encodeStatusResponse(withBucket({ accounts: 1, seqSum: 1n << 64n, digest: EMPTY_DIGEST })),
        "INVALID_FIELD",
      );
    });

    it("truncated input and trailing bytes", () => {
      const bytes = encodeStatusResponse(valid);
      throwsCode(() => decodeStatusResponse(bytes.subarray(0, bytes.length - 1)), "MALFORMED_ENCODING");
      throwsCode(() => decodeStatusResponse(new Uint8Array(0)), "MALFORMED_ENCODING");
      const longer = encodeStatusResponse({ ...valid, protocols: [{ id: 1, version: 1 }] });
      throwsCode(() => decodeStatusResponse(Uint8Array.from([...longer, 0])), "MALFORMED_ENCODING");
    });
  });
});
