import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sodiumVerifier } from "../../src/crypto/ed25519Sodium.ts";
import { type CommitteeKeys, verifyCertificate, voteSigningBytes } from "../../src/kshared/certificate.ts";
import type { Certificate } from "../../src/kshared/committeeTypes.ts";
import { committeeQuorum } from "../../src/kshared/quorum.ts";
import { ACCOUNT, ownerKeys } from "./committeeHarness.ts";

describe("kshared quorums", () => {
  it("q = ⌈(k+f+1)/2⌉: two quorums share a correct owner, and the correct owners alone form one", () => {
    assert.deepEqual(committeeQuorum(4), { k: 4, f: 1, q: 3 });
    assert.deepEqual(committeeQuorum(6), { k: 6, f: 1, q: 4 }); // 2f+1 = 3 would let two quorums of 3 be disjoint
    assert.deepEqual(committeeQuorum(7), { k: 7, f: 2, q: 5 });
    for (let k = 1; k <= 32; k++) {
      const { f, q } = committeeQuorum(k);
      assert.ok(2 * q - k >= f + 1, `k=${k}: intersection beyond f`);
      assert.ok(q <= k - f, `k=${k}: live without the faulty`);
      if (k === 3 * f + 1) assert.equal(q, 2 * f + 1);
    }
    assert.throws(() => committeeQuorum(33), RangeError);
  });
});

describe("kshared verifyCertificate", () => {
  const keys = ownerKeys(4, 7);
  const committee: CommitteeKeys = {
    account: ACCOUNT,
    owners: keys.map((k) => k.publicKey),
    verifier: sodiumVerifier,
  };
  const quorum = committeeQuorum(4);
  const digest = new Uint8Array(32).fill(9);
  const signed = (signers: number[], account = ACCOUNT): Certificate => ({
    phase: "commit",
    account,
    seq: 5,
    round: 2,
    digest,
    signers,
    signatures: signers.map((i) => keys[i]!.sign(voteSigningBytes(account, "commit", 5, 2, digest))),
  });

  it("accepts q distinct owners' signatures over (account, phase, seq, round, digest)", () => {
    assert.equal(verifyCertificate(signed([0, 1, 3]), committee, quorum), true);
    assert.equal(verifyCertificate(signed([0, 1, 2, 3]), committee, quorum), true);
  });

  it("refuses too few, repeated, unordered or unknown signers, a bad signature, another account or phase", () => {
    assert.equal(verifyCertificate(signed([0, 1]), committee, quorum), false);
    const twice = signed([0, 1, 2]);
    assert.equal(verifyCertificate({ ...twice, signers: [0, 1, 1] }, committee, quorum), false);
    assert.equal(verifyCertificate({ ...twice, signers: [1, 0, 2] }, committee, quorum), false);
    assert.equal(verifyCertificate({ ...signed([0, 1, 2]), signers: [0, 1, 4] }, committee, quorum), false);
    const bad = signed([0, 1, 2]);
    assert.equal(
      verifyCertificate(
        { ...bad, signatures: [bad.signatures[0]!, bad.signatures[0]!, bad.signatures[2]!] },
        committee,
        quorum,
      ),
      false,
    );
    const other = new TextEncoder().encode("another account");
    assert.equal(verifyCertificate(signed([0, 1, 2], other), committee, quorum), false);
    assert.equal(verifyCertificate({ ...signed([0, 1, 2]), phase: "prepare" }, committee, quorum), false);
    assert.equal(verifyCertificate({ ...signed([0, 1, 2]), round: 3 }, committee, quorum), false);
  });
});
