/**
 * One hosted shared account's proposals against the committee's decisions, in-process: which decided
 * digest makes this owner's payment, and what the node submits for it. A decided digest binds its requester
 * (src/kshared/requestDigest.ts), so the owner's node recognizes its own request by the digest alone.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sha256 } from "@noble/hashes/sha2.js";
import { toHex } from "../../../src/core/bytes.ts";
import type { CommitteeAction } from "../../../src/kshared/committeeTypes.ts";
import { requestDigest } from "../../../src/kshared/requestDigest.ts";
import { type AccountReader, HostedCommittee } from "../../../src/node/shared/hostedCommittee.ts";
import { hosted } from "../../support/committeeDriverHarness.ts";

const PAYEE = "tly1qr6jn7088qku6v58exgk5hnqphwr7euzmv24hd24eln2p70msyswz44yssn";
const reader: AccountReader = {
  account: async () => ({ balance: 1_000n, nextSeq: 1, pendingDeps: [] }),
  transfer: async () => undefined,
};

/** The decision of `digest` at `seq`, as an owner that never received the deciding proposal learns it. */
function decidedFromCertificate(
  committee: HostedCommittee,
  seq: number,
  digest: Uint8Array,
): Extract<CommitteeAction, { type: "decided" }> {
  const certificate = {
    phase: "commit" as const,
    account: committee.account.id,
    seq,
    round: 0,
    digest,
    signers: [0],
    signatures: [new Uint8Array(64)],
  };
  return { type: "decided", seq, digest, certificate, proposal: undefined, requester: undefined };
}

describe("HostedCommittee: whose payment a decision makes", () => {
  it("its own request, decided from a certificate alone, is made and submitted with this owner as requester", async () => {
    const committee = new HostedCommittee(hosted("own"), "test", 1);
    const id = await committee.propose(reader, PAYEE, 5n, undefined);
    const [body] = committee.outbox.splice(0);
    assert.ok(body !== undefined);
    assert.equal(toHex(sha256(body)), id);

    const self = committee.account.self;
    const transfer = committee.onDecided(decidedFromCertificate(committee, 1, requestDigest(self, body)));
    assert.equal(transfer?.id, id, "the certified transfer is the proposal");
    assert.equal(transfer?.transfer.sharedAuthorization?.requester, self);
    assert.deepEqual(
      committee.book.list().map((p) => [p.id, p.status]),
      [[id, "decided"]],
    );
  });

  it("another owner's identical request makes nothing here: ours is rebuilt, and the other's payment never marks it paid", async () => {
    const committee = new HostedCommittee(hosted("identical"), "test", 1);
    const id = await committee.propose(reader, PAYEE, 5n, undefined);
    const [body] = committee.outbox.splice(0);
    assert.ok(body !== undefined);
    const other = committee.account.self === 0 ? 1 : 0;

    // The committee decided the other owner's request for the same bytes at seq 1, and moved to seq 2 (as
    // a restore from that record does: it re-emits the decision).
    const { certificate } = decidedFromCertificate(committee, 1, requestDigest(other, body));
    const request = {
      owner: other,
      proposal: body,
      digest: certificate.digest,
      signature: new Uint8Array(64),
    };
    const actions = committee.restore([{ kind: "decided", certificate, request }]);
    assert.equal(committee.committee.currentSeq, 2);
    const decision = actions.find((a) => a.type === "decided");
    assert.ok(decision?.type === "decided" && decision.requester === other);
    const transfer = committee.onDecided(decision);
    assert.equal(transfer?.id, id, "the node still submits the decided transfer (it is the other owner's)");
    assert.equal(transfer?.transfer.sharedAuthorization?.requester, other);

    const book = new Map(committee.book.list().map((p) => [p.id, p]));
    assert.equal(book.get(id)?.status, "superseded", "ours was not the decided request");
    const rebuilt = book.get(id)?.supersededBy;
    assert.ok(rebuilt !== undefined && rebuilt !== id);
    // The other owner's payment (same transfer id) is applied: ours stays superseded, its rebuild pending.
    committee.onResolved(id, "applied");
    assert.equal(new Map(committee.book.list().map((p) => [p.id, p.status])).get(id), "superseded");
    assert.equal(new Map(committee.book.list().map((p) => [p.id, p.status])).get(rebuilt), "pending");
  });
});
