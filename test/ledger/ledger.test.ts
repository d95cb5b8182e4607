import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AddressVersion, encodeAddress } from "../../src/core/address.ts";
import { type ErrorCode as Code, ErrorCode, isTallyError } from "../../src/core/errors.ts";
import type { EncodedTransfer } from "../../src/core/transfer.ts";
import { sodiumVerifier } from "../../src/crypto/ed25519Sodium.ts";
import { SignatureAuthorizer } from "../../src/ledger/authorization.ts";
import { Ledger, type LedgerOptions } from "../../src/ledger/ledger.ts";
import { MemoryLedgerStore } from "../../src/ledger/memoryStore.ts";
import { makeTransfer, signWith, TEST_NETWORK, testKey } from "../support/fixtures.ts";

const alice = testKey(10);
const bob = testKey(11);
const carol = testKey(12);

function newLedger(options: LedgerOptions = {}, store = new MemoryLedgerStore()): Ledger {
  return new Ledger(
    { network: TEST_NETWORK, balances: [{ address: alice.address, amount: 100n }] },
    store,
    new SignatureAuthorizer(sodiumVerifier),
    options,
  );
}

function throwsCode(fn: () => unknown, code: Code): void {
  assert.throws(fn, (e: unknown) => isTallyError(e, code), `expected ${code}`);
}

function withFlippedSignature(e: EncodedTransfer): EncodedTransfer {
  const signature = Uint8Array.from(e.transfer.signature);
  signature[0]! ^= 1;
  return { ...e, transfer: { ...e.transfer, signature } };
}

describe("ledger rules", () => {
  it("applies a transfer and reports balances, next seq and pending deps", () => {
    const ledger = newLedger();
    const t1 = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    assert.deepEqual(
      ledger.deliver(t1).map((c) => c.status),
      ["applied"],
    );
    assert.deepEqual(ledger.account(alice.address), {
      address: alice.address,
      balance: 70n,
      nextSeq: 2,
      pendingDeps: [],
    });
    assert.deepEqual(ledger.account(bob.address), {
      address: bob.address,
      balance: 30n,
      nextSeq: 1,
      pendingDeps: [t1.id],
    });
  });

  it("waits for a missing dep, then applies when it arrives", () => {
    const ledger = newLedger();
    const t1 = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    const t2 = makeTransfer(bob, 1, [{ to: carol.address, amount: 25n }], [t1.id]);
    assert.deepEqual(
      ledger.deliver(t2).map((c) => c.status),
      ["delivered"],
    );
    assert.equal(ledger.waitingCount, 1);
    const changes = ledger.deliver(t1);
    assert.deepEqual(
      changes.map((c) => [c.id, c.status]),
      [
        [t1.id, "applied"],
        [t2.id, "applied"],
      ],
    );
    assert.equal(ledger.account(bob.address).balance, 5n);
    assert.deepEqual(ledger.account(bob.address).pendingDeps, []);
    assert.equal(ledger.waitingCount, 0);
  });

  it("waits for the predecessor seq", () => {
    const ledger = newLedger();
    const t1 = makeTransfer(alice, 1, [{ to: bob.address, amount: 10n }]);
    const t2 = makeTransfer(alice, 2, [{ to: bob.address, amount: 10n }]);
    assert.equal(ledger.deliver(t2)[0]!.status, "delivered");
    assert.deepEqual(
      ledger.deliver(t1).map((c) => c.status),
      ["applied", "applied"],
    );
  });

  it("cannot spend an incoming transfer without referencing it", () => {
    const ledger = newLedger();
    ledger.deliver(makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]));
    const spend = makeTransfer(bob, 1, [{ to: carol.address, amount: 1n }]);
    const [change] = ledger.deliver(spend);
    assert.equal(change!.status, "rejected");
    assert.equal(change!.reason!.code, ErrorCode.InsufficientFunds);
    // The rejected transfer consumed seq 1; bob's next transfer carries seq 2 and the dep.
    assert.equal(ledger.account(bob.address).nextSeq, 2);
    assert.equal(ledger.account(bob.address).balance, 30n);
  });

  it("rejects a dep referenced twice, a dep paying someone else and a rejected dep", () => {
    const ledger = newLedger();
    const t1 = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    ledger.deliver(t1);
    ledger.deliver(makeTransfer(bob, 1, [{ to: carol.address, amount: 5n }], [t1.id]));
    const reuse = makeTransfer(bob, 2, [{ to: carol.address, amount: 5n }], [t1.id]);
    assert.equal(ledger.deliver(reuse)[0]!.reason!.code, ErrorCode.InvalidDependency);
    const foreign = makeTransfer(carol, 1, [{ to: alice.address, amount: 1n }], [t1.id]);
    assert.equal(ledger.deliver(foreign)[0]!.reason!.code, ErrorCode.InvalidDependency);
    const rejectedDep = makeTransfer(alice, 3, [{ to: carol.address, amount: 1n }], [reuse.id]);
    ledger.deliver(makeTransfer(alice, 2, [{ to: carol.address, amount: 1n }]));
    assert.equal(ledger.deliver(rejectedDep)[0]!.reason!.code, ErrorCode.InvalidDependency);
  });

  it("refuses forged signatures without consuming the seq", () => {
    const ledger = newLedger();
    const real = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    throwsCode(() => ledger.deliver(withFlippedSignature(real)), ErrorCode.BadSignature);
    assert.equal(ledger.status(real.id), undefined);
    assert.equal(ledger.deliver(real)[0]!.status, "applied");
  });

  it("does not let a valid signature vouch for a forged one over the same body", () => {
    const ledger = newLedger();
    const real = makeTransfer(alice, 2, [{ to: bob.address, amount: 30n }]);
    ledger.precheck(real); // caches the verified (id, signature)
    throwsCode(() => ledger.precheck(withFlippedSignature(real)), ErrorCode.BadSignature);
  });

  it("refuses a second transfer for a seq that is taken or resolved", () => {
    const ledger = newLedger();
    const first = makeTransfer(alice, 2, [{ to: bob.address, amount: 1n }]);
    const twin = makeTransfer(alice, 2, [{ to: carol.address, amount: 1n }]);
    ledger.deliver(first);
    throwsCode(() => ledger.deliver(twin), ErrorCode.SeqConflict);
    ledger.deliver(makeTransfer(alice, 1, [{ to: bob.address, amount: 1n }]));
    throwsCode(() => ledger.deliver(twin), ErrorCode.StaleSeq);
    assert.deepEqual(ledger.deliver(first), [], "a duplicate is a no-op");
  });

  it("refuses other networks on delivery, but keeps any delivered seq, however far ahead or many", () => {
    const ledger = newLedger({ maxSeqLookahead: 4 });
    throwsCode(
      () =>
        ledger.deliver(
          makeTransfer(alice, 1, [{ to: bob.address, amount: 1n }], [], { network: "elsewhere" }),
        ),
      ErrorCode.WrongNetwork,
    );
    // Other nodes applied these: this one must hold them until their predecessors come, never drop them.
    const ahead = [];
    for (let seq = 2; seq <= 12; seq++)
      ahead.push(makeTransfer(alice, seq, [{ to: bob.address, amount: 1n }]));
    for (const t of ahead)
      assert.deepEqual(
        ledger.deliver(t).map((c) => c.status),
        ["delivered"],
      );
    assert.equal(ledger.waitingCount, 11);
    const changes = ledger.deliver(makeTransfer(alice, 1, [{ to: bob.address, amount: 1n }]));
    assert.equal(changes.filter((c) => c.status === "applied").length, 12);
    assert.equal(ledger.account(bob.address).balance, 12n);
  });

  it("refuses a signature in place of a shared account's certificate (test/ledger/sharedAccount.test.ts)", () => {
    const ledger = newLedger();
    const shared = encodeAddress(AddressVersion.SharedAccount, new Uint8Array(32).fill(3));
    const unsigned = {
      version: 1,
      network: TEST_NETWORK,
      source: shared,
      seq: 1,
      outputs: [{ to: bob.address, amount: 1n }],
      deps: [],
    };
    throwsCode(() => signWith(alice, unsigned), ErrorCode.InvalidField);
    // Hand-built, as no encoder would produce it: a signature and no certificate.
    const t = makeTransfer(alice, 1, [{ to: bob.address, amount: 1n }]);
    const forged: EncodedTransfer = { ...t, transfer: { ...t.transfer, source: shared } };
    throwsCode(() => ledger.deliver(forged), ErrorCode.SharedInvalidCertificate);
  });

  it("prechecks what a wallet should hear before broadcast", () => {
    const ledger = newLedger({ maxSeqLookahead: 4 });
    throwsCode(
      () => ledger.precheck(makeTransfer(alice, 1, [{ to: bob.address, amount: 101n }])),
      ErrorCode.InsufficientFunds,
    );
    throwsCode(
      () => ledger.precheck(makeTransfer(alice, 6, [{ to: bob.address, amount: 1n }])),
      ErrorCode.SeqTooFarAhead,
    );
    ledger.precheck(makeTransfer(alice, 3, [{ to: bob.address, amount: 1n }])); // may follow a pending seq 2
    const made_up = makeTransfer(bob, 1, [{ to: carol.address, amount: 1n }], ["ab".repeat(32)]);
    throwsCode(() => ledger.precheck(made_up), ErrorCode.UnknownDependency);
    assert.equal(ledger.status(made_up.id), undefined, "precheck records nothing");
    // An account with nothing, and a transfer with no deps: nothing could ever fund it, at any seq.
    throwsCode(
      () => ledger.precheck(makeTransfer(bob, 2, [{ to: carol.address, amount: 1n }])),
      ErrorCode.InsufficientFunds,
    );
    const t1 = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    const spendsT1 = makeTransfer(bob, 1, [{ to: carol.address, amount: 30n }], [t1.id]);
    throwsCode(() => ledger.precheck(spendsT1), ErrorCode.UnknownDependency);
    ledger.deliver(t1);
    ledger.precheck(spendsT1); // its dep is applied here now: the wallet's retry passes
    const paysCarol = makeTransfer(bob, 1, [{ to: carol.address, amount: 1n }], [t1.id]);
    const t2 = makeTransfer(alice, 2, [{ to: carol.address, amount: 1n }]);
    ledger.deliver(t2);
    throwsCode(
      () => ledger.precheck(makeTransfer(bob, 1, [{ to: carol.address, amount: 1n }], [t2.id])),
      ErrorCode.InvalidDependency,
    );
    ledger.precheck(paysCarol);
  });

  it("admits for echo only the next seq that would apply; waits on what it cannot judge yet", () => {
    const ledger = newLedger();
    const t1 = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    const t2 = makeTransfer(alice, 2, [{ to: bob.address, amount: 30n }]);
    assert.deepEqual(ledger.admission(t2), { kind: "later", awaiting: [alice.address] });
    assert.deepEqual(ledger.admission(t1), { kind: "admit" });
    const bobSpends = makeTransfer(bob, 1, [{ to: carol.address, amount: 30n }], [t1.id]);
    assert.deepEqual(ledger.admission(bobSpends), { kind: "later", awaiting: [t1.id] });
    const unfunded = makeTransfer(carol, 1, [{ to: bob.address, amount: 1n }]);
    assert.equal(ledger.admission(unfunded).kind, "never", "no balance and no deps: rejected everywhere");
    ledger.deliver(t1);
    assert.deepEqual(ledger.admission(bobSpends), { kind: "admit" });
    assert.deepEqual(ledger.admission(t2), { kind: "admit" });
    const twin = makeTransfer(alice, 1, [{ to: carol.address, amount: 1n }]);
    assert.equal(ledger.admission(twin).kind, "never", "a resolved seq");
    const overdraft = makeTransfer(alice, 2, [{ to: bob.address, amount: 71n }]);
    assert.equal(ledger.admission(overdraft).kind, "never");
  });

  it("resumes waiting transfers after a restart from the same store", () => {
    const store = new MemoryLedgerStore();
    const t1 = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    const t2 = makeTransfer(bob, 1, [{ to: carol.address, amount: 30n }], [t1.id]);
    newLedger({}, store).deliver(t2);
    const restarted = newLedger({}, store);
    assert.equal(restarted.waitingCount, 1);
    assert.deepEqual(
      restarted.deliver(t1).map((c) => c.status),
      ["applied", "applied"],
    );
    assert.equal(restarted.account(carol.address).balance, 30n);
  });
});
