import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  decodeEnvelope,
  decodeErrorBody,
  type Envelope,
  encodeEnvelope,
  encodeErrorBody,
  MAX_ERROR_TEXT_BYTES,
  WireErrorCode,
  type WireErrorName,
} from "../../src/channels/envelope.ts";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";

const kindArb = fc.constantFrom("message", "request", "response", "error" as const);
const wireCodeArb = fc.constantFrom(...(Object.keys(WireErrorCode) as WireErrorName[]));

const envelopeArb: fc.Arbitrary<Envelope> = fc
  .record({
    protocolCode: fc.integer({ min: 1, max: 255 }),
    version: fc.integer({ min: 0, max: 255 }),
    kind: kindArb,
    requestId: fc.integer({ min: 1, max: 0xffff_ffff }),
    body: fc.uint8Array({ maxLength: 64 }),
    errorCode: wireCodeArb,
    text: fc.string({ unit: "grapheme", maxLength: 80 }),
  })
  .map((r) => ({
    protocolCode: r.protocolCode,
    version: r.version,
    kind: r.kind,
    requestId: r.kind === "message" ? 0 : r.requestId,
    body: r.kind === "error" ? encodeErrorBody(r.errorCode, r.text) : r.body,
  }));

function rejects(bytes: Uint8Array): void {
  assert.throws(
    () => decodeEnvelope(bytes),
    (e) => isTallyError(e, ErrorCode.ChannelMalformedEnvelope),
  );
}

describe("envelope", () => {
  it("lays out header fields as specified", () => {
    const msg = encodeEnvelope({
      protocolCode: 1,
      version: 2,
      kind: "message",
      requestId: 0,
      body: Uint8Array.of(9),
    });
    assert.deepEqual([...msg], [1, 2, 0, 9]);
    const req = encodeEnvelope({
      protocolCode: 3,
      version: 0,
      kind: "request",
      requestId: 0x01020304,
      body: Uint8Array.of(7, 8),
    });
    assert.deepEqual([...req], [3, 0, 1, 1, 2, 3, 4, 7, 8]);
    const err = encodeEnvelope({
      protocolCode: 3,
      version: 0,
      kind: "error",
      requestId: 5,
      body: encodeErrorBody("overloaded", "hi"),
    });
    assert.deepEqual([...err], [3, 0, 3, 0, 0, 0, 5, 4, 0x68, 0x69]);
  });

  it("round-trips every envelope", () => {
    fc.assert(
      fc.property(envelopeArb, (env) => {
        const bytes = encodeEnvelope(env);
        const back = decodeEnvelope(bytes);
        assert.deepEqual({ ...back, body: [...back.body] }, { ...env, body: [...env.body] });
      }),
    );
  });

  it("whatever decodes re-encodes to the same bytes; anything else is a TallyError", () => {
    const hostile = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      // Plausible headers with random tails reach the deeper checks.
      fc
        .tuple(
          fc.integer({ min: 0, max: 4 }),
          fc.uint8Array({ maxLength: 30 }),
          fc.integer({ min: 0, max: 9 }),
        )
        .map(([kind, tail, code]) => Uint8Array.of(1, 1, kind, 0, 0, 0, 1, code, ...tail)),
    );
    fc.assert(
      fc.property(hostile, (bytes) => {
        let env: Envelope;
        try {
          env = decodeEnvelope(bytes);
        } catch (e) {
          assert.ok(isTallyError(e), `not a TallyError: ${String(e)}`);
          return;
        }
        assert.deepEqual([...encodeEnvelope(env)], [...bytes]);
        if (env.kind === "error") {
          const { code, text } = decodeErrorBody(env.body);
          assert.deepEqual([...encodeErrorBody(code, text)], [...env.body]);
        }
      }),
      { numRuns: 5_000 },
    );
  });

  it("rejects each malformation", () => {
    rejects(Uint8Array.of(1, 1)); // short header
    rejects(Uint8Array.of(0, 1, 0, 5)); // protocol code 0
    rejects(Uint8Array.of(1, 1, 4)); // unknown kind
    rejects(Uint8Array.of(1, 1, 1, 0, 0, 1)); // short request header
    rejects(Uint8Array.of(1, 1, 2, 0, 0, 0, 0)); // request id 0
    rejects(Uint8Array.of(1, 1, 3, 0, 0, 0, 1)); // error without a code
    rejects(Uint8Array.of(1, 1, 3, 0, 0, 0, 1, 7)); // unknown error code
    rejects(Uint8Array.of(1, 1, 3, 0, 0, 0, 1, 0)); // error code 0
    rejects(Uint8Array.of(1, 1, 3, 0, 0, 0, 1, 1, 0xc0, 0x80)); // overlong UTF-8
    rejects(new Uint8Array([1, 1, 3, 0, 0, 0, 1, 1, ...new Uint8Array(201).fill(0x61)])); // text too long
  });

  it("accepts an empty message body and a BOM in error text, byte for byte", () => {
    assert.equal(decodeEnvelope(Uint8Array.of(1, 1, 0)).body.length, 0);
    const bytes = Uint8Array.of(1, 1, 3, 0, 0, 0, 1, 1, 0xef, 0xbb, 0xbf, 0x61);
    assert.deepEqual([...encodeEnvelope(decodeEnvelope(bytes))], [...bytes]);
    assert.equal(decodeErrorBody(decodeEnvelope(bytes).body).text, "\ufeffa");
  });

  it("cuts error text at 200 bytes on a character boundary", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 300 }), wireCodeArb, (text, code) => {
        const body = encodeErrorBody(code, text);
        assert.ok(body.length - 1 <= MAX_ERROR_TEXT_BYTES);
        const back = decodeErrorBody(body);
        assert.ok(text.startsWith(back.text));
      }),
    );
    const body = encodeErrorBody("internal", "é".repeat(150)); // 300 bytes; 100 characters fit
    assert.equal(decodeErrorBody(body).text, "é".repeat(100));
  });

  it("refuses to encode an invalid header", () => {
    const bad = [
      { protocolCode: 0, version: 1, kind: "message" as const, requestId: 0 },
      { protocolCode: 1, version: 256, kind: "message" as const, requestId: 0 },
      { protocolCode: 1, version: 1, kind: "request" as const, requestId: 0 },
      { protocolCode: 1, version: 1, kind: "message" as const, requestId: 3 },
    ];
    for (const h of bad) {
      assert.throws(
        () => encodeEnvelope({ ...h, body: new Uint8Array(0) }),
        (e) => isTallyError(e),
      );
    }
  });
});
