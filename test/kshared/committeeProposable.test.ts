import assert from "node:assert/strict";
import { test } from "node:test";
import { toHex } from "../../src/core/bytes.ts";
import { sodiumVerifier } from "../../src/crypto/ed25519Sodium.ts";
import { requestSigningBytes } from "../../src/kshared/certificate.ts";
import { Committee } from "../../src/kshared/committee.ts";
import { decodeCommitteeMessage, encodeCommitteeMessage } from "../../src/kshared/committeeCodec.ts";
import type { CommitteeAction, OwnerIndex } from "../../src/kshared/committeeTypes.ts";
import { requestDigest } from "../../src/kshared/requestDigest.ts";
import { ACCOUNT, ownerKeys } from "./committeeHarness.ts";

// A proposal's first byte is the seq it was built for: proposable only at that seq, expired after it.
const isProposable = (seq: number, p: Uint8Array) => p[0] === seq;
const isExpired = (seq: number, p: Uint8Array) => (p[0] ?? 0) < seq;

function owners(k: number) {
  const keys = ownerKeys(k, 7);
  const committees = keys.map(
    (key, self) =>
      new Committee({
        account: ACCOUNT,
        owners: keys.map((o) => o.publicKey),
        self,
        sign: (m) => key.sign(m),
        verifier: sodiumVerifier,
        isProposable,
        isExpired,
      }),
  );
  return { keys, committees };
}

/** Delivers every send synchronously (through the codec) until nothing moves; returns decisions per owner. */
function run(committees: Committee[], first: { owner: OwnerIndex; actions: CommitteeAction[] }[]) {
  const decided = committees.map(() => new Map<number, string>());
  const work = [...first];
  while (work.length > 0) {
    const { owner, actions } = work.shift()!;
    for (const action of actions) {
      if (action.type === "decided") decided[owner]!.set(action.seq, toHex(action.digest));
      if (action.type !== "send") continue;
      const to = action.to === "all" ? committees.map((_, i) => i).filter((i) => i !== owner) : action.to;
      const message = decodeCommitteeMessage(encodeCommitteeMessage(action.message));
      for (const peer of to) {
        work.push({
          owner: peer,
          actions: committees[peer]!.handle({ type: "message", from: owner, message, nowMs: 0 }),
        });
      }
    }
  }
  return decided;
}

test("a leader proposes only a request proposable at the instance's seq; the other waits for its seq", () => {
  const { committees } = owners(4);
  const later = Uint8Array.of(1, 0xaa);
  const now = Uint8Array.of(0, 0xbb);
  // Owner 0 leads seq 0: the request for seq 1 is queued first, yet seq 0 decides the one built for seq 0.
  const a = committees[0]!.handle({ type: "submit", proposal: later, nowMs: 0 });
  const b = committees[0]!.handle({ type: "submit", proposal: now, nowMs: 0 });
  const decided = run(committees, [
    { owner: 0, actions: a },
    { owner: 0, actions: b },
  ]);
  for (const d of decided) {
    assert.equal(d.get(0), toHex(requestDigest(0, now)));
    assert.equal(d.get(1), toHex(requestDigest(0, later)));
  }
});

test("owners refuse to prepare a leader's proposal the predicate refuses, and drop expired requests", () => {
  const { keys, committees } = owners(4);
  const proposal = Uint8Array.of(5, 1);
  const digest = requestDigest(0, proposal);
  const request = {
    owner: 0,
    proposal,
    digest,
    signature: keys[0]!.sign(requestSigningBytes(ACCOUNT, digest)),
  };
  const propose = { kind: "propose", seq: 0, round: 0, request, justify: null, entry: null } as const;
  const actions = committees[1]!.handle({ type: "message", from: 0, message: propose, nowMs: 0 });
  assert.equal(
    actions.some((a) => a.type === "send" && a.message.kind === "vote"),
    false,
  );
  assert.equal(committees[1]!.counters().dropped.notProposable, 1);
  // A request built for a seq already passed is refused outright.
  const staleProposal = Uint8Array.of(0, 2);
  const staleDigest = requestDigest(0, staleProposal);
  const stale = {
    owner: 0,
    proposal: staleProposal,
    digest: staleDigest,
    signature: keys[0]!.sign(requestSigningBytes(ACCOUNT, staleDigest)),
  };
  const fresh = new Committee({
    account: ACCOUNT,
    owners: keys.map((o) => o.publicKey),
    self: 2,
    sign: (m) => keys[2]!.sign(m),
    verifier: sodiumVerifier,
    isProposable,
    isExpired,
    firstSeq: 3,
  });
  fresh.handle({ type: "message", from: 0, message: { kind: "request", request: stale }, nowMs: 0 });
  assert.equal(fresh.pendingRequests, 0);
  assert.equal(fresh.counters().dropped.notProposable, 1);
});
