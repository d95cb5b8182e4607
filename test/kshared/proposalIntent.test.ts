/**
 * Proposal intents: the wallet's signature (noble) verifies under the node's verifier (libsodium) for the
 * owner's key only, and changing any byte of what was signed, or of the signature, breaks it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromHex, toHex } from "../../src/core/bytes.ts";
import { isTallyError } from "../../src/core/errors.ts";
import { publicKeyOf } from "../../src/crypto/ed25519Noble.ts";
import { sodiumVerifier } from "../../src/crypto/ed25519Sodium.ts";
import {
  INTENT_DOMAIN,
  intentSignatureValid,
  intentSigningBytes,
  type ProposalIntent,
  signIntent,
} from "../../src/kshared/proposalIntent.ts";
import { testKey } from "../support/fixtures.ts";
import { sharedAccount } from "../support/sharedAccounts.ts";

const account = sharedAccount([1, 2, 3]);
const seed = new Uint8Array(32).fill(7);
const owner = publicKeyOf(seed);
const intent: ProposalIntent = {
  account: account.address,
  to: testKey(9).address,
  amount: 12_345n,
  memo: "rent",
  issuedAtMs: 1_700_000_000_000,
};

describe("proposal intents", () => {
  it("lays out domain ‖ account id ‖ to ‖ u128 amount ‖ u8 memo length ‖ memo ‖ u64 issuedAtMs", () => {
    const bytes = intentSigningBytes(intent);
    const domain = new TextEncoder().encode(INTENT_DOMAIN);
    assert.equal(bytes.length, domain.length + 32 + 33 + 16 + 1 + 4 + 8);
    let at = domain.length;
    assert.deepEqual(bytes.subarray(0, at), domain);
    assert.equal(toHex(bytes.subarray(at, at + 32)), toHex(account.id));
    at += 32 + 33;
    assert.equal(Buffer.from(bytes.subarray(at, at + 16)).readBigUInt64BE(8), 12_345n);
    at += 16;
    assert.equal(bytes[at], 4);
    assert.equal(Buffer.from(bytes.subarray(at + 1, at + 5)).toString("utf8"), "rent");
    assert.equal(Buffer.from(bytes.subarray(at + 5)).readBigUInt64BE(0), 1_700_000_000_000n);
  });

  it("a wallet's signature verifies under the node's verifier, for the owner's key only", () => {
    const signature = signIntent(seed, intent);
    assert.match(signature, /^[0-9a-f]{128}$/);
    assert.ok(intentSignatureValid(sodiumVerifier, owner, intent, signature));
    assert.equal(intentSignatureValid(sodiumVerifier, testKey(1).publicKey, intent, signature), false);
  });

  it("a byte flipped anywhere in the signed bytes or the signature fails", () => {
    const message = intentSigningBytes(intent);
    const signature = fromHex(signIntent(seed, intent), 64, "signature");
    for (let i = 0; i < message.length; i++) {
      const flipped = Uint8Array.from(message);
      flipped[i]! ^= 0x01;
      assert.equal(sodiumVerifier.verify(signature, flipped, owner), false, `message byte ${i}`);
    }
    for (let i = 0; i < signature.length; i++) {
      const flipped = Uint8Array.from(signature);
      flipped[i]! ^= 0x01;
      assert.equal(
        intentSignatureValid(sodiumVerifier, owner, intent, toHex(flipped)),
        false,
        `sig byte ${i}`,
      );
    }
  });

  it("every field of the intent is covered by the signature", () => {
    const signature = signIntent(seed, intent);
    const changed: ProposalIntent[] = [
      { ...intent, account: sharedAccount([1, 2, 4]).address },
      { ...intent, to: testKey(10).address },
      { ...intent, amount: 12_346n },
      { ...intent, memo: "Rent" },
      { ...intent, memo: undefined },
      { ...intent, issuedAtMs: intent.issuedAtMs + 1 },
    ];
    for (const other of changed)
      assert.equal(intentSignatureValid(sodiumVerifier, owner, other, signature), false);
  });

  it("refuses what has no encoding, and never throws when verifying it", () => {
    const bad: ProposalIntent[] = [
      { ...intent, account: testKey(1).address },
      { ...intent, amount: 1n << 128n },
      { ...intent, memo: "é".repeat(128) },
      { ...intent, issuedAtMs: -1 },
      { ...intent, issuedAtMs: 1.5 },
    ];
    for (const b of bad) {
      assert.throws(
        () => intentSigningBytes(b),
        (e: unknown) => isTallyError(e),
      );
      assert.equal(intentSignatureValid(sodiumVerifier, owner, b, "00".repeat(64)), false);
    }
    assert.equal(intentSignatureValid(sodiumVerifier, owner, intent, "zz"), false);
  });
});
