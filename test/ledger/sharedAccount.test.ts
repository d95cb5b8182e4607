import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sha256 } from "@noble/hashes/sha2.js";
import { type ErrorCode as Code, ErrorCode, isTallyError } from "../../src/core/errors.ts";
import { assembleSharedTransfer, decodeTransfer, type EncodedTransfer } from "../../src/core/transfer.ts";
import { sodiumVerifier } from "../../src/crypto/ed25519Sodium.ts";
import { SignatureAuthorizer } from "../../src/ledger/authorization.ts";
import { Ledger } from "../../src/ledger/ledger.ts";
import { MemoryLedgerStore } from "../../src/ledger/memoryStore.ts";
import { countingVerifier, TEST_NETWORK, testKey } from "../support/fixtures.ts";
import {
  type CertifyOptions,
  certificateFor,
  makeSharedTransfer,
  sharedAccount,
  voteSignature,
} from "../support/sharedAccounts.ts";

const treasury = sharedAccount([1, 2, 3, 4], "treasury");
const bob = testKey(20);
const mallory = testKey(21);

function newLedger(authorizer = new SignatureAuthorizer(sodiumVerifier)): Ledger {
  return new Ledger(
    { network: TEST_NETWORK, balances: [{ address: treasury.address, amount: 100n }] },
    new MemoryLedgerStore(),
    authorizer,
  );
}

function pay(seq: number, options: CertifyOptions = {}, amount = 30n): EncodedTransfer {
  return makeSharedTransfer(treasury, seq, [{ to: bob.address, amount }], [], options);
}

function refusedWith(transfer: EncodedTransfer, code: Code, message?: RegExp): void {
  const ledger = newLedger();
  assert.throws(
    () => ledger.precheck(transfer),
    (e: unknown) => isTallyError(e, code) && (message === undefined || message.test(e.message)),
    `expected ${code}`,
  );
  assert.equal(ledger.account(treasury.address).balance, 100n, "nothing moved");
}

/** The same transfer with its certificate altered (what no encoder would produce, but a hostile caller could). */
function withSigners(e: EncodedTransfer, signers: number[], signatures: Uint8Array[]): EncodedTransfer {
  const authorization = e.transfer.sharedAuthorization!;
  return {
    ...e,
    transfer: {
      ...e.transfer,
      sharedAuthorization: {
        ...authorization,
        certificate: { ...authorization.certificate, signers, signatures },
      },
    },
  };
}

describe("ledger: shared-account transfers", () => {
  it("spends from a genesis-funded 4-owner account with 3 owners' commit certificate", () => {
    const ledger = newLedger();
    const t1 = pay(1);
    // What travels is bytes: the decoded transfer is the one the ledger judges.
    const decoded = decodeTransfer(t1.bytes);
    assert.deepEqual(
      ledger.deliver(decoded).map((c) => c.status),
      ["applied"],
    );
    assert.equal(ledger.account(treasury.address).balance, 70n);
    assert.equal(ledger.account(treasury.address).nextSeq, 2);
    assert.deepEqual(ledger.account(bob.address).pendingDeps, [t1.id]);
    // Any 3 of the 4 owners will do, in any later round.
    const t2 = pay(2, { signers: [0, 2, 3], round: 5 }, 10n);
    assert.deepEqual(
      ledger.deliver(t2).map((c) => c.status),
      ["applied"],
    );
    assert.equal(ledger.account(treasury.address).balance, 60n);
  });

  it("refuses a certificate with too few owners: 2 of 4", () => {
    refusedWith(pay(1, { signers: [0, 1] }), ErrorCode.SharedInvalidCertificate, /needs 3/);
  });

  it("refuses a repeated signer counted twice toward the quorum", () => {
    const good = pay(1);
    const { signatures } = good.transfer.sharedAuthorization!.certificate;
    refusedWith(
      withSigners(good, [0, 1, 1], [signatures[0]!, signatures[1]!, signatures[1]!]),
      ErrorCode.SharedInvalidCertificate,
      /distinct/,
    );
  });

  it("refuses a non-owner's signature, in an owner's place or at an index beyond the owners", () => {
    refusedWith(pay(1, { signWith: new Map([[2, mallory]]) }), ErrorCode.BadSignature);
    const good = pay(1);
    const { signatures } = good.transfer.sharedAuthorization!.certificate;
    const stranger = voteSignature(mallory, { ...good.transfer.sharedAuthorization!.certificate, round: 0 });
    refusedWith(
      withSigners(good, [0, 1, 4], [signatures[0]!, signatures[1]!, stranger]),
      ErrorCode.SharedInvalidCertificate,
      /not one of the account's 4 owners/,
    );
  });

  it("refuses a certificate for another seq, another transfer, another requester or another account", () => {
    refusedWith(pay(1, { seq: 2 }), ErrorCode.SharedInvalidCertificate, /seq 2/);
    refusedWith(
      pay(1, { digest: sha256(new Uint8Array(1)) }),
      ErrorCode.SharedInvalidCertificate,
      /another request/,
    );
    // The digest names the requester: owner 1's decided request cannot be passed off as owner 0's, and the
    // transfer id alone (what certificates held before requesters were bound in) decides nothing.
    const ofOwnerOne = pay(1, { requester: 1 });
    assert.deepEqual(
      newLedger()
        .deliver(decodeTransfer(ofOwnerOne.bytes))
        .map((c) => c.status),
      ["applied"],
    );
    const claimed = ofOwnerOne.transfer.sharedAuthorization!;
    refusedWith(
      decodeTransfer(
        assembleSharedTransfer(ofOwnerOne.transfer, ofOwnerOne.body, { ...claimed, requester: 0 }).bytes,
      ),
      ErrorCode.SharedInvalidCertificate,
      /owner 0's request/,
    );
    refusedWith(
      pay(1, { digest: sha256(ofOwnerOne.body) }),
      ErrorCode.SharedInvalidCertificate,
      /another request/,
    );
    const other = sharedAccount([1, 2, 3, 4], "another label, another account");
    refusedWith(pay(1, { account: other.id }), ErrorCode.SharedInvalidCertificate, /another account/);
  });

  it("refuses a prepare certificate: prepared is not decided", () => {
    refusedWith(pay(1, { phase: "prepare" }), ErrorCode.SharedInvalidCertificate, /prepare/);
  });

  it("refuses a definition that does not hash to the source address", () => {
    const good = pay(1);
    const authorization = good.transfer.sharedAuthorization!;
    const relabelled: EncodedTransfer = {
      ...good,
      transfer: {
        ...good.transfer,
        sharedAuthorization: {
          ...authorization,
          definition: { ...authorization.definition, label: "other" },
        },
      },
    };
    refusedWith(relabelled, ErrorCode.SharedDefinitionMismatch);
    // Three owners who drop the fourth from the definition describe another account, whatever they sign.
    const three = sharedAccount([1, 2, 3], "treasury");
    const certificate = certificateFor(three, 1, good.body, { account: treasury.id, signers: [0, 1, 2] });
    const stolen = assembleSharedTransfer(good.transfer, good.body, {
      definition: three.definition,
      requester: 0,
      certificate,
    });
    refusedWith(decodeTransfer(stolen.bytes), ErrorCode.SharedDefinitionMismatch);
  });

  it("verifies a certificate once: the same (id, authorization) is answered from the cache", () => {
    const { verifier, checks } = countingVerifier();
    const authorizer = new SignatureAuthorizer(verifier);
    const t = pay(1);
    authorizer.authorize(t);
    assert.equal(checks(), 3);
    authorizer.authorize(decodeTransfer(t.bytes));
    assert.equal(checks(), 3, "cached");
    // A different certificate for the same transfer is verified on its own.
    authorizer.authorize(pay(1, { signers: [1, 2, 3] }));
    assert.equal(checks(), 6);
    assert.equal(authorizer.checks, 6, "one check per owner's signature, in the authorizer's count too");
    const forged = pay(1, { signWith: new Map([[1, mallory]]) });
    assert.throws(
      () => authorizer.authorize(forged),
      (e: unknown) => isTallyError(e, ErrorCode.BadSignature),
    );
  });
});
