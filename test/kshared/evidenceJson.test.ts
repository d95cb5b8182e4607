import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sha256 } from "@noble/hashes/sha2.js";
import sodium from "sodium-native";
import { fromHex, toHex } from "../../src/core/bytes.ts";
import { nobleVerifier } from "../../src/crypto/ed25519Noble.ts";
import { sodiumVerifier } from "../../src/crypto/ed25519Sodium.ts";
import { timeoutSigningBytes, voteSigningBytes } from "../../src/kshared/certificate.ts";
import type { SignedRequest, Vote } from "../../src/kshared/committeeTypes.ts";
import { checkEquivocation } from "../../src/kshared/evidenceCheck.ts";
import { type EquivocationJson, equivocationToJson } from "../../src/kshared/evidenceJson.ts";
import { sharedAccount, voteSignature } from "../support/sharedAccounts.ts";

const treasury = sharedAccount([1, 2, 3, 4], "treasury");
const owners = treasury.definition.owners;

function vote(voter: number, digest: Uint8Array): Vote {
  const statement = { account: treasury.id, phase: "prepare" as const, seq: 7, round: 2, digest };
  return { ...statement, voter, signature: voteSignature(treasury.owners[voter]!, statement) };
}

/** Leader 3 proposed owner 1's request and then its own for seq 4, round 0 (requests signed with filler). */
function proposalProof(): EquivocationJson {
  const request = (owner: number, byte: number): SignedRequest => ({
    owner,
    proposal: Uint8Array.of(byte),
    digest: sha256(Uint8Array.of(byte)),
    signature: new Uint8Array(64).fill(byte),
  });
  const [first, second] = [request(1, 5), request(3, 6)];
  return equivocationToJson({ kind: "proposal", seq: 4, round: 0, leader: 3, first, second }, owners);
}

describe("equivocation proofs as JSON", () => {
  it("a vote proof names the owner and carries both signed votes, checkable with the definition alone", () => {
    const [a, b] = [sha256(Uint8Array.of(1)), sha256(Uint8Array.of(2))];
    const json = equivocationToJson({ kind: "vote", first: vote(2, a), second: vote(2, b) }, owners);
    assert.equal(json.kind, "vote");
    if (json.kind !== "vote") return;
    assert.deepEqual(
      { owner: json.owner, ownerKey: json.ownerKey, phase: json.phase, seq: json.seq, round: json.round },
      { owner: 2, ownerKey: toHex(owners[2]!), phase: "prepare", seq: 7, round: 2 },
    );
    assert.deepEqual(json.digests, [toHex(a), toHex(b)]);
    for (const i of [0, 1]) {
      const message = voteSigningBytes(
        treasury.id,
        json.phase,
        json.seq,
        json.round,
        fromHex(json.digests[i]!, 32, "d"),
      );
      const signature = fromHex(json.signatures[i]!, 64, "s");
      assert.ok(sodiumVerifier.verify(signature, message, fromHex(json.ownerKey, 32, "k")));
      // Only that owner's key: the proof cannot be pinned on another owner.
      assert.ok(!sodiumVerifier.verify(signature, message, owners[1]!));
    }
  });

  it("timeout and proposal proofs keep what tells the two statements apart", () => {
    const timeout = (highPrepareRound: number | null) => ({
      seq: 3,
      round: 1,
      highPrepareRound,
      voter: 0,
      signature: new Uint8Array(64).fill(highPrepareRound ?? 9),
    });
    const t = equivocationToJson({ kind: "timeout", first: timeout(null), second: timeout(0) }, owners);
    assert.deepEqual(t.kind === "timeout" && [t.owner, t.seq, t.round, t.highPrepareRounds], [
      0,
      3,
      1,
      [null, 0],
    ]);

    const p = proposalProof();
    assert.ok(p.kind === "proposal");
    assert.deepEqual([p.owner, p.ownerKey, p.requesters], [3, toHex(owners[3]!), [1, 3]]);
    assert.deepEqual(p.digests, [toHex(sha256(Uint8Array.of(5))), toHex(sha256(Uint8Array.of(6)))]);
  });

  it("refuses an owner index outside the definition", () => {
    const digest = sha256(Uint8Array.of(1));
    const outside = { ...vote(0, digest), voter: 4 };
    assert.throws(
      () => equivocationToJson({ kind: "vote", first: outside, second: outside }, owners),
      RangeError,
    );
  });
});

function timeoutVote(voter: number, highPrepareRound: number | null) {
  const signature = Buffer.alloc(64);
  const message = timeoutSigningBytes(treasury.id, 3, 1, highPrepareRound);
  sodium.crypto_sign_detached(
    signature,
    Buffer.from(message),
    Buffer.from(treasury.owners[voter]!.secretKey),
  );
  return { seq: 3, round: 1, highPrepareRound, voter, signature: new Uint8Array(signature) };
}

describe("checking a served proof without trusting the node", () => {
  const check = (proof: unknown) => checkEquivocation(proof, treasury.id, owners, nobleVerifier);
  const [a, b] = [sha256(Uint8Array.of(1)), sha256(Uint8Array.of(2))];
  const votes = equivocationToJson({ kind: "vote", first: vote(2, a), second: vote(2, b) }, owners);
  const timeouts = equivocationToJson(
    { kind: "timeout", first: timeoutVote(1, null), second: timeoutVote(1, 0) },
    owners,
  );

  it("proves vote and timeout proofs whose two statements are the named owner's", () => {
    assert.deepEqual(check(votes), { verdict: "proven" });
    assert.deepEqual(check(timeouts), { verdict: "proven" });
  });

  it("finds invalid what a lying node could serve", () => {
    const v = votes as Extract<EquivocationJson, { kind: "vote" }>;
    const lies: [string, unknown, RegExp][] = [
      ["pinned on another owner", { ...v, owner: 1 }, /does not have key/],
      ["another key for the owner", { ...v, ownerKey: toHex(owners[1]!) }, /does not have key/],
      ["an owner the account lacks", { ...v, owner: 4 }, /does not have key/],
      ["no contradiction", { ...v, digests: [v.digests[0], v.digests[0]] }, /the same/],
      [
        "a signature flipped",
        { ...v, signatures: [v.signatures[0], `00${v.signatures[1].slice(2)}`] },
        /statement 2 is not signed/,
      ],
      ["another round", { ...v, round: 3 }, /statement 1 is not signed/],
      ["bad hex", { ...v, digests: ["zz", v.digests[1]] }, /expected lowercase hex/],
      ["three digests", { ...v, digests: [...v.digests, v.digests[0]] }, /not a well-formed proof/],
      ["a round past the wire's range", { ...timeouts, round: 2 ** 32 }, /not a well-formed proof/],
      ["no kind", { ...v, kind: "gossip" }, /not a well-formed proof/],
      ["not an object", "proof", /not a well-formed proof/],
    ];
    for (const [what, proof, reason] of lies) {
      const verdict = check(proof);
      assert.equal(verdict.verdict, "invalid", what);
      assert.match(verdict.verdict === "invalid" ? verdict.reason : "", reason, what);
    }
  });

  it("leaves a proposal proof as the serving node's word", () => {
    assert.deepEqual(check(proposalProof()), { verdict: "nodesWord" });
  });
});
