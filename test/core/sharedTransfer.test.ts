import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sha256 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import { AddressVersion, decodeAddress, encodeAddress } from "../../src/core/address.ts";
import { compareBytes, toHex } from "../../src/core/bytes.ts";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";
import {
  assembleSharedTransfer,
  assembleTransfer,
  decodeTransfer,
  type EncodedTransfer,
  encodeTransfer,
  encodeTransferBody,
  type Transfer,
  type UnsignedTransfer,
} from "../../src/core/transfer.ts";
import { transferFromJson, transferToJson } from "../../src/core/transferJson.ts";
import type { Certificate } from "../../src/kshared/committeeTypes.ts";
import { type SharedDefinition, sharedAccountId, sharedAddress } from "../../src/kshared/definition.ts";
import { requestDigest } from "../../src/kshared/requestDigest.ts";
import { MAX_SHARED_AUTHORIZATION_BYTES } from "../../src/kshared/sharedAuthorization.ts";
import { makeSharedTransfer, sharedAccount } from "../support/sharedAccounts.ts";

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const sig64 = fc.uint8Array({ minLength: 64, maxLength: 64 });
const definitionArb: fc.Arbitrary<SharedDefinition> = fc
  .record({
    owners: fc.uniqueArray(key32, { minLength: 1, maxLength: 32, selector: toHex }),
    label: fc.string({ maxLength: 20 }).filter((l) => Buffer.byteLength(l) <= 64),
  })
  .map((d) => ({ owners: [...d.owners].sort(compareBytes), label: d.label }));

/**
 * A shared transfer whose certificate names its own (account, seq, id), as every valid one does (the
 * JSON view can only express those). Signatures are random: the format does not verify them.
 */
const sharedTransferArb: fc.Arbitrary<Transfer> = fc
  .record({
    definition: definitionArb,
    network: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,31}$/),
    seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    to: key32,
    amount: fc.bigInt({ min: 1n, max: (1n << 120n) - 1n }),
    deps: fc.uniqueArray(key32.map(toHex), { maxLength: 3 }),
    memo: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
    round: fc.nat({ max: 0xffff_fffe }),
    signerBits: fc.integer({ min: 1, max: 0xffff_ffff }),
    requesterSeed: fc.nat(),
    signatures: fc.array(sig64, { minLength: 32, maxLength: 32 }),
  })
  .chain((r) => {
    const k = r.definition.owners.length;
    const signers = Array.from({ length: k }, (_, i) => i).filter((i) => (r.signerBits >>> i) & 1);
    if (signers.length === 0) signers.push(k - 1);
    const unsigned: UnsignedTransfer = {
      version: 1,
      network: r.network,
      source: sharedAddress(r.definition),
      seq: r.seq,
      outputs: [{ to: encodeAddress(AddressVersion.Ed25519, r.to), amount: r.amount }],
      deps: [...r.deps].sort(),
      memo: r.memo === "" ? undefined : r.memo,
    };
    const requester = r.requesterSeed % k;
    const certificate: Certificate = {
      phase: "commit",
      account: sharedAccountId(r.definition),
      seq: r.seq,
      round: r.round,
      digest: requestDigest(requester, encodeTransferBody(unsigned)),
      signers,
      signatures: signers.map((i) => r.signatures[i]!),
    };
    return fc.constant({
      ...unsigned,
      signature: new Uint8Array(0),
      sharedAuthorization: { definition: r.definition, requester, certificate },
    });
  });

function decodeOrTypedError(bytes: Uint8Array): void {
  let decoded: EncodedTransfer;
  try {
    decoded = decodeTransfer(bytes);
  } catch (e) {
    assert.ok(isTallyError(e), `untyped error ${(e as Error)?.stack}`);
    return;
  }
  assert.deepEqual(encodeTransfer(decoded.transfer).bytes, Uint8Array.from(bytes), "non-canonical");
}

function code(fn: () => unknown): string {
  try {
    fn();
    return "accepted";
  } catch (e) {
    return isTallyError(e) ? e.code : `untyped ${(e as Error).stack}`;
  }
}

const recipient = encodeAddress(AddressVersion.Ed25519, new Uint8Array(32).fill(7));

describe("shared-account transfers in the wire format", () => {
  it("round-trip through bytes and JSON with the id of their body", () => {
    fc.assert(
      fc.property(sharedTransferArb, (t) => {
        const encoded = encodeTransfer(t);
        const decoded = decodeTransfer(encoded.bytes);
        assert.equal(decoded.id, toHex(sha256(encodeTransferBody(t))));
        assert.deepEqual(decoded.transfer, t);
        const viaJson = transferFromJson(JSON.parse(JSON.stringify(transferToJson(decoded.transfer))));
        assert.deepEqual(viaJson.bytes, encoded.bytes);
      }),
      { numRuns: 150 },
    );
  });

  it("refuses every mutation or decodes it to another canonical transfer", () => {
    const mutation = fc.record({
      at: fc.nat(),
      kind: fc.constantFrom("flip", "truncate", "insert", "delete", "set"),
      value: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(sharedTransferArb, fc.array(mutation, { minLength: 1, maxLength: 3 }), (t, mutations) => {
        const original = encodeTransfer(t).bytes;
        let bytes = Array.from(original);
        // Half the mutations land in the authorization, the rest anywhere.
        for (const m of mutations) {
          const span = m.value % 2 === 0 ? bytes.length - encodeTransferBody(t).length : bytes.length;
          const i = bytes.length - span + (m.at % (span + 1));
          if (m.kind === "flip" && i < bytes.length) bytes[i]! ^= 1 << (m.value % 8);
          if (m.kind === "set" && i < bytes.length) bytes[i] = m.value;
          if (m.kind === "truncate") bytes = bytes.slice(0, i);
          if (m.kind === "insert") bytes.splice(i, 0, m.value);
          if (m.kind === "delete") bytes.splice(i, 1);
        }
        decodeOrTypedError(Uint8Array.from(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it("throws only typed errors on random authorization bytes after a shared body", () => {
    const body = encodeTransferBody({
      version: 1,
      network: "tally-test",
      source: sharedAddress({ owners: [new Uint8Array(32).fill(1)], label: "" }),
      seq: 1,
      outputs: [{ to: recipient, amount: 1n }],
      deps: [],
    });
    const trailer = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      fc.uint8Array({ maxLength: 400 }).map((rest) => {
        // A well-formed length and definition prefix, so the certificate decoder is reached.
        const inner = Uint8Array.from([1, 1, ...new Uint8Array(32).fill(1), 0, ...rest]);
        return Uint8Array.from([inner.length >> 8, inner.length & 0xff, ...inner]);
      }),
    );
    fc.assert(
      fc.property(trailer, (t) => decodeOrTypedError(Uint8Array.from([...body, ...t]))),
      { numRuns: 4000 },
    );
  });

  it("bounds the authorization at 3,222 bytes: 32 owners, a 64-byte label, the requester, 32 signatures", () => {
    const owners = Array.from({ length: 32 }, (_, i) => new Uint8Array(32).fill(i + 1));
    const definition = { owners, label: "l".repeat(64) };
    const unsigned: UnsignedTransfer = {
      version: 1,
      network: "tally-test",
      source: sharedAddress(definition),
      seq: 9,
      outputs: [{ to: recipient, amount: 1n }],
      deps: [],
    };
    const body = encodeTransferBody(unsigned);
    const signers = owners.map((_, i) => i);
    const certificate: Certificate = {
      phase: "commit",
      account: sharedAccountId(definition),
      seq: 9,
      round: 3,
      digest: requestDigest(31, body),
      signers,
      signatures: signers.map(() => new Uint8Array(64).fill(5)),
    };
    const largest = assembleSharedTransfer(unsigned, body, { definition, requester: 31, certificate });
    assert.equal(largest.bytes.length - body.length - 2, MAX_SHARED_AUTHORIZATION_BYTES);
    assert.equal(MAX_SHARED_AUTHORIZATION_BYTES, 3222);
    const decoded = decodeTransfer(largest.bytes);
    assert.deepEqual(decoded.transfer.sharedAuthorization, largest.transfer.sharedAuthorization);
    assert.deepEqual(encodeTransfer(decoded.transfer).bytes, largest.bytes);
    // One more byte (say, a longer account in the certificate) is over the bound, whatever it holds.
    const over = Uint8Array.from([...largest.bytes, 0]);
    new DataView(over.buffer).setUint16(body.length, MAX_SHARED_AUTHORIZATION_BYTES + 1);
    assert.equal(
      code(() => decodeTransfer(over)),
      ErrorCode.LimitExceeded,
    );
  });

  it("keeps signatures and certificates apart: each source kind accepts only its own", () => {
    const account = sharedAccount([1, 2, 3, 4]);
    const shared = makeSharedTransfer(account, 1, [{ to: recipient, amount: 5n }]);
    // The old form (a 64-byte signature) no longer decodes for a shared source.
    const withSignature = Uint8Array.from([...shared.body, ...new Uint8Array(64)]);
    assert.notEqual(
      code(() => decodeTransfer(withSignature)),
      "accepted",
    );
    assert.equal(
      code(() => assembleTransfer(shared.transfer, shared.body, new Uint8Array(64))),
      ErrorCode.InvalidField,
    );
    assert.equal(
      code(() => encodeTransfer({ ...shared.transfer, signature: new Uint8Array(64) })),
      ErrorCode.InvalidField,
    );
    const single = {
      ...shared.transfer,
      source: encodeAddress(AddressVersion.Ed25519, account.owners[0]!.publicKey),
    };
    assert.equal(
      code(() => encodeTransfer({ ...single, signature: new Uint8Array(64) })),
      ErrorCode.InvalidField,
    );
    // A certificate signer outside the owners cannot even be encoded.
    const certificate = shared.transfer.sharedAuthorization!.certificate;
    const stray = { ...certificate, signers: [0, 1, 4], signatures: certificate.signatures };
    assert.equal(
      code(() =>
        encodeTransfer({
          ...shared.transfer,
          sharedAuthorization: { definition: account.definition, requester: 0, certificate: stray },
        }),
      ),
      ErrorCode.MalformedEncoding,
    );
    // So can a requester that is not an owner.
    assert.equal(
      code(() =>
        encodeTransfer({
          ...shared.transfer,
          sharedAuthorization: { definition: account.definition, requester: 4, certificate },
        }),
      ),
      ErrorCode.MalformedEncoding,
    );
  });

  it("reads the JSON view strictly", () => {
    const account = sharedAccount([1, 2, 3, 4], "ops");
    const shared = makeSharedTransfer(account, 2, [{ to: recipient, amount: 5n }]);
    const json = transferToJson(shared.transfer);
    assert.equal(json.signature, undefined);
    assert.deepEqual(json.authorization?.definition, {
      owners: account.owners.map((o) => toHex(o.publicKey)),
      label: "ops",
    });
    assert.deepEqual(json.authorization?.certificate.signers, [0, 1, 2]);
    assert.equal(transferFromJson(json).id, shared.id);
    const authorization = json.authorization!;
    const bad: unknown[] = [
      { ...json, signature: "00".repeat(64) },
      { ...json, authorization: undefined },
      { ...json, authorization: { ...authorization, extra: 1 } },
      { ...json, authorization: { ...authorization, requester: undefined } },
      { ...json, authorization: { ...authorization, requester: 4 } },
      { ...json, authorization: { ...authorization, requester: -1 } },
      { ...json, authorization: { ...authorization, requester: "0" } },
      {
        ...json,
        authorization: { ...authorization, definition: { owners: authorization.definition.owners } },
      },
      {
        ...json,
        authorization: {
          ...authorization,
          definition: {
            ...authorization.definition,
            owners: authorization.definition.owners.map((o) => o.toUpperCase()),
          },
        },
      },
      {
        ...json,
        authorization: {
          ...authorization,
          definition: { ...authorization.definition, owners: [...authorization.definition.owners].reverse() },
        },
      },
      {
        ...json,
        authorization: { ...authorization, certificate: { ...authorization.certificate, round: -1 } },
      },
      {
        ...json,
        authorization: { ...authorization, certificate: { ...authorization.certificate, signers: [0, 1] } },
      },
      {
        ...json,
        authorization: {
          ...authorization,
          certificate: { ...authorization.certificate, signers: [2, 1, 0] },
        },
      },
    ];
    for (const value of bad) {
      assert.throws(
        () => transferFromJson(value),
        (e: unknown) => isTallyError(e),
        JSON.stringify(value),
      );
    }
    const single = { ...json, source: encodeAddress(AddressVersion.Ed25519, account.owners[0]!.publicKey) };
    assert.throws(() => transferFromJson({ ...single, signature: "00".repeat(64) }), /authorization/);
    assert.equal(decodeAddress(json.source).version, AddressVersion.SharedAccount);
  });
});
