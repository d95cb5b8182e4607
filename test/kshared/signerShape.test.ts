import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { signerFault } from "../../src/kshared/signerShape.ts";

const sig = () => new Uint8Array(64);

describe("signerFault: the one shape check of a certificate's signers", () => {
  it("accepts strictly ascending owners below k, one 64-byte signature each", () => {
    assert.equal(signerFault([0, 2, 3], 4, [sig(), sig(), sig()]), undefined);
    assert.equal(signerFault([0, 2, 3], 4), undefined, "without signatures only the indices are checked");
    assert.equal(signerFault([], 4, []), undefined, "how many are enough is the caller's rule");
  });

  it("names the first fault, signer by signer", () => {
    assert.deepEqual(signerFault([0, 1], 4, [sig()]), { kind: "unpaired" });
    assert.deepEqual(signerFault([0, 4], 4, [sig(), sig()]), { kind: "notOwner", signer: 4 });
    assert.deepEqual(signerFault([-1], 4), { kind: "notOwner", signer: -1 });
    assert.deepEqual(signerFault([1.5], 4), { kind: "notOwner", signer: 1.5 });
    assert.deepEqual(
      signerFault([2, 2], 4),
      { kind: "notAscending" },
      "a repeated owner counts once at most",
    );
    assert.deepEqual(signerFault([3, 1], 4), { kind: "notAscending" });
    assert.deepEqual(signerFault([0, 1], 4, [sig(), new Uint8Array(63)]), { kind: "signatureLength" });
    // Signer 1's short signature comes before signer 9's index: the earlier signer's fault is named.
    assert.deepEqual(signerFault([1, 9], 4, [new Uint8Array(1), sig()]), { kind: "signatureLength" });
  });
});
