import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";
import { decodeTransfer, type EncodedTransfer } from "../../src/core/transfer.ts";
import { SignatureAuthorizer } from "../../src/ledger/authorization.ts";
import { countingVerifier, makeTransfer, testKey } from "../support/fixtures.ts";

const alice = testKey(1);
const bob = testKey(2);

const flipped = (e: EncodedTransfer): EncodedTransfer => {
  const signature = Uint8Array.from(e.transfer.signature);
  signature[5]! ^= 1;
  return { ...e, transfer: { ...e.transfer, signature } };
};

describe("SignatureAuthorizer's cache", () => {
  it("verifies a transfer once however often and from whichever copy it is asked, and never vouches for another signature", () => {
    const { verifier, checks: calls } = countingVerifier();
    const authorizer = new SignatureAuthorizer(verifier);
    const t = makeTransfer(alice, 1, [{ to: bob.address, amount: 5n }]);
    authorizer.authorize(t);
    authorizer.authorize(decodeTransfer(Uint8Array.from(t.bytes))); // a peer's copy: other objects, same bytes
    authorizer.authorize(t);
    assert.equal(calls(), 1);
    assert.throws(
      () => authorizer.authorize(flipped(t)),
      (e) => isTallyError(e) && e.code === ErrorCode.BadSignature,
    );
    assert.equal(
      calls(),
      2,
      "a different signature over the same body is verified, not taken from the cache",
    );
    authorizer.authorize(t);
    assert.equal(calls(), 2, "the forged attempt did not evict the verified signature");
    assert.equal(authorizer.checks, calls(), "its count of checks is the verifier's");
  });

  it("keeps at most cacheEntries transfers", () => {
    const { verifier, checks: calls } = countingVerifier();
    const authorizer = new SignatureAuthorizer(verifier, { cacheEntries: 2 });
    const ts = [1, 2, 3].map((seq) => makeTransfer(alice, seq, [{ to: bob.address, amount: 1n }]));
    for (const t of ts) authorizer.authorize(t);
    authorizer.authorize(ts[2]!);
    assert.equal(calls(), 3);
    authorizer.authorize(ts[0]!); // evicted: verified again
    assert.equal(calls(), 4);
    assert.equal(authorizer.checks, 4);
  });
});
