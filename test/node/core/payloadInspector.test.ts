import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sodiumVerifier } from "../../../src/crypto/ed25519Sodium.ts";
import { SignatureAuthorizer } from "../../../src/ledger/authorization.ts";
import { PayloadInspector } from "../../../src/node/core/payloadInspector.ts";
import { makeTransfer, TEST_NETWORK, testKey } from "../../support/fixtures.ts";

const alice = testKey(1);
const bob = testKey(2);

/** Counts signature checks, so a test can tell a cached verdict from a fresh one. */
function countingInspector(): { inspector: PayloadInspector; verifies: () => number } {
  let count = 0;
  const authorizer = new SignatureAuthorizer({
    name: "counting",
    verify: (signature, message, publicKey) => {
      count++;
      return sodiumVerifier.verify(signature, message, publicKey);
    },
  });
  return { inspector: new PayloadInspector(TEST_NETWORK, authorizer), verifies: () => count };
}

describe("PayloadInspector", () => {
  it("judges a copy of a valid payload from its cache: same verdict, no second signature check", () => {
    const { inspector, verifies } = countingInspector();
    const t = makeTransfer(alice, 1, [{ to: bob.address, amount: 5n }]);
    const first = inspector.inspect(new Uint8Array(t.bytes));
    const second = inspector.inspect(new Uint8Array(t.bytes));
    assert.deepEqual(first, { instance: { source: alice.address, seq: 1 }, digest: t.id });
    assert.equal(second, first);
    assert.equal(verifies(), 1);
  });

  it("never hands a cached verdict to other bytes that share its key (the signature's last bytes)", () => {
    const { inspector, verifies } = countingInspector();
    const t = makeTransfer(alice, 1, [{ to: bob.address, amount: 5n }]);
    assert.notEqual(inspector.inspect(new Uint8Array(t.bytes)), null);
    // Same signature, one byte of the body changed: the same cache key, and no longer signed.
    const tampered = new Uint8Array(t.bytes);
    tampered[tampered.length - 64 - 1]! ^= 1;
    assert.equal(inspector.inspect(tampered), null);
    // A longer payload with the same last bytes is no match either.
    const longer = new Uint8Array(t.bytes.length + 1);
    longer.set(t.bytes, 1);
    assert.equal(inspector.inspect(longer), null);
    // The original is still recognised.
    const checks = verifies();
    assert.notEqual(inspector.inspect(new Uint8Array(t.bytes)), null);
    assert.equal(verifies(), checks);
  });

  it("refuses another network's transfer and short garbage without throwing", () => {
    const { inspector } = countingInspector();
    const other = makeTransfer(alice, 1, [{ to: bob.address, amount: 5n }], [], { network: "elsewhere" });
    assert.equal(inspector.inspect(other.bytes), null);
    for (const bytes of [new Uint8Array(0), Uint8Array.of(1), Uint8Array.of(1, 2, 3, 4, 5)]) {
      assert.equal(inspector.inspect(bytes), null);
    }
  });
});
