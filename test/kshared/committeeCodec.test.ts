import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";
import {
  decodeCertificate,
  decodeCommitteeMessage,
  encodeCertificate,
  encodeCommitteeMessage,
} from "../../src/kshared/committeeCodec.ts";
import type {
  Certificate,
  CommitteeMessage,
  SignedRequest,
  TimeoutCertificate,
  TimeoutVote,
  Vote,
} from "../../src/kshared/committeeTypes.ts";

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const seq = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const round = fc.nat({ max: 0xffff_fffe });
const owner = fc.nat({ max: 31 });
const phase = fc.constantFrom("prepare" as const, "commit" as const);

const request: fc.Arbitrary<SignedRequest> = fc.record({
  owner,
  proposal: fc.uint8Array({ maxLength: 300 }),
  digest: bytes(32),
  signature: bytes(64),
});

const vote: fc.Arbitrary<Vote> = fc.record({
  phase,
  seq,
  round,
  digest: bytes(32),
  voter: owner,
  signature: bytes(64),
});

const signerSet = fc.uniqueArray(owner, { maxLength: 32 }).map((s) => s.sort((a, b) => a - b));

const certificate: fc.Arbitrary<Certificate> = fc
  .record({
    phase,
    account: fc.uint8Array({ minLength: 1, maxLength: 255 }),
    seq,
    round,
    digest: bytes(32),
    signers: signerSet,
  })
  .chain((c) =>
    fc.array(bytes(64), { minLength: c.signers.length, maxLength: c.signers.length }).map((signatures) => ({
      ...c,
      signatures,
    })),
  );

const timeoutVote: fc.Arbitrary<TimeoutVote> = fc
  .record({ seq, round, voter: owner, signature: bytes(64), high: fc.option(fc.nat(), { nil: null }) })
  .map(({ high, ...v }) => ({ ...v, highPrepareRound: high === null ? null : high % (v.round + 1) }));

const timeoutCertificate: fc.Arbitrary<TimeoutCertificate> = fc
  .record({ seq, round, voters: signerSet, highPrepare: fc.option(certificate, { nil: null }) })
  .chain(({ seq, round, voters, highPrepare }) =>
    fc
      .array(fc.tuple(bytes(64), fc.option(fc.nat(), { nil: null })), {
        minLength: voters.length,
        maxLength: voters.length,
      })
      .map((extras) => ({
        seq,
        round,
        highPrepare,
        votes: voters.map((voter, i) => ({
          seq,
          round,
          voter,
          signature: extras[i]![0],
          highPrepareRound: extras[i]![1] === null ? null : extras[i]![1]! % (round + 1),
        })),
      })),
  );

const message: fc.Arbitrary<CommitteeMessage> = fc.oneof(
  request.map((r) => ({ kind: "request" as const, request: r })),
  fc
    .record({
      seq,
      round,
      request,
      justify: fc.option(certificate, { nil: null }),
      entry: fc.option(timeoutCertificate, { nil: null }),
    })
    .map((p) => ({ kind: "propose" as const, ...p })),
  vote.map((v) => ({ kind: "vote" as const, vote: v })),
  fc
    .record({ vote: timeoutVote, highPrepare: fc.option(certificate, { nil: null }) })
    .map((t) => ({ kind: "timeout" as const, ...t })),
  certificate.map((c) => ({ kind: "certificate" as const, certificate: c })),
  timeoutCertificate.map((c) => ({ kind: "timeoutCertificate" as const, certificate: c })),
);

function decodesStrictlyOrRefuses(input: Uint8Array): void {
  let decoded: CommitteeMessage;
  try {
    decoded = decodeCommitteeMessage(input);
  } catch (error) {
    assert.ok(isTallyError(error, ErrorCode.KsharedMalformedMessage), String(error));
    return;
  }
  // Anything accepted has exactly this one spelling.
  assert.deepEqual(encodeCommitteeMessage(decoded), Uint8Array.from(input));
}

describe("kshared committee codec", () => {
  it("round-trips every message", () => {
    fc.assert(
      fc.property(message, (m) => {
        const encoded = encodeCommitteeMessage(m);
        assert.deepEqual(decodeCommitteeMessage(encoded), structuredClone(m));
      }),
      { numRuns: 300 },
    );
  });

  it("round-trips a certificate on its own (the ledger's format)", () => {
    fc.assert(
      fc.property(certificate, (c) =>
        assert.deepEqual(decodeCertificate(encodeCertificate(c)), structuredClone(c)),
      ),
      { numRuns: 200 },
    );
  });

  it("refuses garbage with its typed error only", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), decodesStrictlyOrRefuses), { numRuns: 500 });
  });

  it("refuses every truncation, any trailing byte, and never accepts a second spelling after a byte flip", () => {
    fc.assert(
      fc.property(message, fc.nat(), fc.nat({ max: 255 }), (m, at, value) => {
        const encoded = encodeCommitteeMessage(m);
        const cut = at % encoded.length;
        assert.throws(
          () => decodeCommitteeMessage(encoded.subarray(0, cut)),
          (e) => isTallyError(e),
        );
        const longer = new Uint8Array([...encoded, value]);
        assert.throws(
          () => decodeCommitteeMessage(longer),
          (e) => isTallyError(e),
        );
        const flipped = Uint8Array.from(encoded);
        flipped[cut] = value;
        decodesStrictlyOrRefuses(flipped);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a proposal length beyond 64 KiB before reading it", () => {
    const header = Uint8Array.of(1, 0, 0x00, 0x01, 0x00, 0x01); // request, owner 0, length 65 537
    assert.throws(() => decodeCommitteeMessage(header), /proposal too large/);
  });
});
