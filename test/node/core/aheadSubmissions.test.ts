import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { EncodedTransfer } from "../../../src/core/transfer.ts";
import { AHEAD_DEFAULTS, AheadSubmissions } from "../../../src/node/core/aheadSubmissions.ts";
import { makeTransfer, type TestKey, testKey } from "../../support/fixtures.ts";

const payee = testKey(90);
const keys = Array.from({ length: 6 }, (_, i) => testKey(i + 10));
const signed = new Map<string, EncodedTransfer>();

/** `key`'s transfer at `seq` (memoized: signing is the slow part of these tests). */
function transfer(key: TestKey, seq: number): EncodedTransfer {
  const memo = `${key.address}/${seq}`;
  let t = signed.get(memo);
  if (t === undefined) {
    t = makeTransfer(key, seq, [{ to: payee.address, amount: 1n }]);
    signed.set(memo, t);
  }
  return t;
}

function limits(total: number) {
  return { ...AHEAD_DEFAULTS, total };
}

describe("the hold's places, shared between accounts", () => {
  it("lets a flood from many accounts push a pipelining wallet down to an equal share, never below", () => {
    const hold = new AheadSubmissions(limits(40));
    const [wallet, ...flooders] = keys.slice(0, 5) as [TestKey, ...TestKey[]];
    for (let seq = 10; seq < 30; seq++) assert.equal(hold.hold(transfer(wallet, seq), 0).kind, "held");
    const evicted: EncodedTransfer[] = [];
    let refused = 0;
    for (let seq = 10; seq < 70; seq++) {
      for (const flooder of flooders) {
        const outcome = hold.hold(transfer(flooder, seq), 0);
        if (outcome.kind === "full") refused++;
        else if (outcome.kind === "held" && outcome.evicted !== undefined) evicted.push(outcome.evicted);
      }
    }
    assert.equal(hold.size, 40);
    for (const key of [wallet, ...flooders])
      assert.equal(hold.heldFor(key.address), 8, "40 places, 5 accounts");
    const walletLost = evicted.filter((t) => t.transfer.source === wallet.address).map((t) => t.transfer.seq);
    assert.deepEqual(
      walletLost.sort((a, b) => a - b),
      Array.from({ length: 12 }, (_, i) => 18 + i),
      "the wallet gave up its 12 highest seqs and kept those due soonest",
    );
    assert.ok(refused > 0, "past the equal share the flood is refused, not swapped among its own accounts");
    assert.deepEqual(
      hold.due(wallet.address, 9).map((t) => t.transfer.seq),
      [10],
      "what is due next is still there",
    );
  });

  it("refuses a newcomer when no account holds two more than its own would", () => {
    const hold = new AheadSubmissions(limits(4));
    const [a, b] = keys as [TestKey, TestKey];
    for (const seq of [10, 11]) hold.hold(transfer(a, seq), 0);
    for (const seq of [10, 11]) hold.hold(transfer(b, seq), 0);
    assert.equal(hold.hold(transfer(a, 12), 0).kind, "full", "a's own third would take b below a");
    for (const newcomer of [keys[2]!, keys[3]!]) {
      const outcome = hold.hold(transfer(newcomer, 10), 0);
      assert.ok(outcome.kind === "held" && outcome.evicted?.transfer.seq === 11, "a fuller account's seq 11");
    }
    for (const key of keys.slice(0, 4)) assert.equal(hold.heldFor(key.address), 1);
    assert.equal(hold.hold(transfer(keys[4]!, 10), 0).kind, "full", "1, 1, 1, 1: no account holds two more");
    assert.equal(hold.size, 4);
  });

  it("keeps every account's count and the total consistent over any holds and removals (property)", () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("hold" as const),
        account: fc.nat(5),
        seq: fc.integer({ min: 5, max: 40 }),
      }),
      fc.record({
        kind: fc.constant("remove" as const),
        account: fc.nat(5),
        seq: fc.integer({ min: 5, max: 40 }),
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 }), fc.array(op, { maxLength: 200 }), (total, ops) => {
        const hold = new AheadSubmissions(limits(total));
        /** The model: each account's held seqs. */
        const model = keys.map(() => new Set<number>());
        for (const { kind, account, seq } of ops) {
          const key = keys[account]!;
          if (kind === "remove") {
            hold.remove(transfer(key, seq));
            model[account]!.delete(seq);
            continue;
          }
          const own = model[account]!.size;
          const most = Math.max(...model.map((m) => m.size));
          const outcome = hold.hold(transfer(key, seq), 0);
          if (model[account]!.has(seq)) {
            assert.equal(outcome.kind, "duplicate");
            continue;
          }
          const used = model.reduce((n, m) => n + m.size, 0);
          if (used < total) {
            assert.deepEqual(outcome, { kind: "held" });
          } else if (most >= own + 2) {
            assert.ok(outcome.kind === "held" && outcome.evicted !== undefined, "a fuller account gives way");
            const from = keys.findIndex((k) => k.address === outcome.evicted!.transfer.source);
            assert.equal(model[from]!.size, most, "taken from an account holding the most");
            assert.equal(outcome.evicted.transfer.seq, Math.max(...model[from]!), "its highest seq");
            model[from]!.delete(outcome.evicted.transfer.seq);
          } else {
            assert.equal(outcome.kind, "full");
            continue;
          }
          model[account]!.add(seq);
        }
        assert.equal(
          hold.size,
          model.reduce((n, m) => n + m.size, 0),
        );
        assert.ok(hold.size <= total);
        keys.forEach((key, i) => {
          assert.equal(hold.heldFor(key.address), model[i]!.size);
          for (const seq of model[i]!) assert.ok(hold.has(transfer(key, seq).id));
        });
      }),
      { numRuns: 300 },
    );
  });
});
