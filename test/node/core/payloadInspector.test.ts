import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SignatureAuthorizer } from "../../../src/ledger/authorization.ts";
import { PayloadInspector } from "../../../src/node/core/payloadInspector.ts";
import { countingVerifier, makeTransfer, TEST_NETWORK, testKey } from "../../support/fixtures.ts";

const alice = testKey(1);
const bob = testKey(2);

/** Counts signature checks, so a test can tell a cached verdict from a fresh one. */
function countingInspector(): { inspector: PayloadInspector; verifies: () => number } {
  const { verifier, checks } = countingVerifier();
  return {
    inspector: new PayloadInspector(TEST_NETWORK, new SignatureAuthorizer(verifier)),
    verifies: checks,
  };
}

describe("PayloadInspector", () => {
  it("judges a copy of a valid payload from its cache: same verdict, no second signature check", () => {
    const { inspector, verifies } = countingInspector();
    const t = makeTransfer(alice, 1, [{ to: bob.address, amount: 5n }]);
    const first = inspector.inspect(new Uint8Array(t.bytes));
    const second = inspector.inspect(new Uint8Array(t.bytes));
    assert.deepEqual(first?.instance, { source: alice.address, seq: 1 });
    assert.equal(first?.digest, t.id);
    assert.equal(second, first);
    assert.equal(verifies(), 1);
  });

  it("hands delivery the transfer decoded when its payload was judged, once; later copies keep the verdict", () => {
    const { inspector, verifies } = countingInspector();
    const t = makeTransfer(alice, 1, [{ to: bob.address, amount: 5n }]);
    const payload = new Uint8Array(t.bytes);
    const decoded = inspector.decodeValid(payload);
    assert.ok(decoded !== null);
    assert.equal(inspector.takeDecoded(t.id, new Uint8Array(t.bytes)), decoded, "the same object: no decode");
    const again = inspector.takeDecoded(t.id, payload);
    assert.notEqual(again, decoded, "taken once: a second delivery decodes afresh");
    assert.equal(again.id, t.id);
    assert.notEqual(inspector.inspect(new Uint8Array(t.bytes)), null, "a late copy is still recognised");
    assert.equal(verifies(), 1);
  });

  it("never hands delivery a transfer decoded from other bytes or for another digest", () => {
    const { inspector } = countingInspector();
    const t = makeTransfer(alice, 1, [{ to: bob.address, amount: 5n }]);
    const u = makeTransfer(alice, 2, [{ to: bob.address, amount: 6n }]);
    const decoded = inspector.decodeValid(t.bytes);
    assert.notEqual(inspector.takeDecoded(u.id, t.bytes), decoded, "another digest");
    const other = inspector.takeDecoded(u.id, u.bytes);
    assert.equal(other.id, u.id, "other bytes: their own transfer");
    assert.equal(inspector.takeDecoded(t.id, t.bytes), decoded, "still there for its own delivery");
  });

  it("records a submission the node decoded itself: the broadcast's look at its encoding decodes nothing", () => {
    const { inspector, verifies } = countingInspector();
    const t = makeTransfer(alice, 1, [{ to: bob.address, amount: 5n }]);
    inspector.recordDecoded(t);
    assert.equal(verifies(), 1, "checked on the way in");
    const info = inspector.inspect(t.bytes);
    assert.equal(info?.digest, t.id);
    assert.equal(inspector.inspect(new Uint8Array(t.bytes)), info, "a peer's copy finds the same verdict");
    assert.equal(inspector.takeDecoded(t.id, t.bytes), t, "delivery gets the submitted object itself");
    assert.equal(verifies(), 1);
  });

  it("does not record a submission of another network or with a bad signature", () => {
    const { inspector, verifies } = countingInspector();
    const other = makeTransfer(alice, 1, [{ to: bob.address, amount: 5n }], [], { network: "elsewhere" });
    inspector.recordDecoded(other);
    assert.equal(inspector.inspect(other.bytes), null);
    const t = makeTransfer(alice, 1, [{ to: bob.address, amount: 5n }]);
    // The transfer says another signature than its bytes carry: what was checked is what would be recorded.
    const forged = { ...t, transfer: { ...t.transfer, signature: new Uint8Array(64) } };
    inspector.recordDecoded(forged);
    assert.equal(verifies(), 1, "the forged signature was checked and failed");
    assert.notEqual(inspector.inspect(t.bytes), null);
    assert.equal(verifies(), 2, "nothing was recorded for its bytes: they are judged afresh");
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
