import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AccountInbox } from "../../src/kshared/accountInbox.ts";

function drain<K, T>(inbox: AccountInbox<K, T>): { account: K; item: T }[] {
  const out: { account: K; item: T }[] = [];
  for (let next = inbox.take(); next !== undefined; next = inbox.take()) out.push(next);
  return out;
}

describe("AccountInbox: one bounded FIFO per account, served round-robin", () => {
  it("holds at most perAccount items per account and counts the overflow against that account only", () => {
    const inbox = new AccountInbox<string, number>(3);
    for (let i = 0; i < 100; i++) inbox.offer("flooder", i);
    assert.equal(inbox.offer("quiet", 1), true);
    assert.equal(inbox.offer("quiet", 2), true);
    assert.equal(inbox.queuedFor("flooder"), 3);
    assert.equal(inbox.size, 5);
    assert.deepEqual([...inbox.dropped], [["flooder", 97]]);
    assert.equal(inbox.offer("flooder", 100), false, "still full");
    assert.equal(inbox.dropped.get("quiet"), undefined);
  });

  it("keeps each account's order and gives every busy account one item per turn", () => {
    const inbox = new AccountInbox<string, string>(10);
    for (const item of ["a1", "a2", "a3", "a4"]) inbox.offer("a", item);
    inbox.offer("b", "b1");
    inbox.offer("c", "c1");
    inbox.offer("c", "c2");
    assert.deepEqual(
      drain(inbox).map((t) => t.item),
      ["a1", "b1", "c1", "a2", "c2", "a3", "a4"],
    );
    assert.equal(inbox.size, 0);
    assert.equal(inbox.take(), undefined);
  });

  it("a flooded account's drained share refills, and an account that arrives late joins the next turn", () => {
    const inbox = new AccountInbox<number, string>(2);
    inbox.offer(1, "x1");
    inbox.offer(1, "x2");
    assert.equal(inbox.offer(1, "x3"), false);
    assert.equal(inbox.take()?.item, "x1");
    assert.equal(inbox.offer(1, "x4"), true, "room again after a take");
    inbox.offer(2, "y1");
    assert.deepEqual(
      drain(inbox).map((t) => [t.account, t.item]),
      [
        [1, "x2"],
        [2, "y1"],
        [1, "x4"],
      ],
    );
  });

  it("with a byte bound, large items are dropped once the account's bytes are used, small ones of others are not", () => {
    const inbox = new AccountInbox<string, Uint8Array>(100, { perAccount: 1_000, sizeOf: (b) => b.length });
    assert.equal(inbox.offer("big", new Uint8Array(600)), true);
    assert.equal(inbox.offer("big", new Uint8Array(600)), false, "1,200 bytes would pass 1,000");
    assert.equal(inbox.offer("big", new Uint8Array(400)), true, "exactly 1,000 fits");
    assert.equal(inbox.offer("small", new Uint8Array(900)), true, "bytes are counted per account");
    assert.equal(inbox.take()?.item.length, 600);
    assert.equal(inbox.offer("big", new Uint8Array(600)), true, "a take frees its bytes");
    assert.deepEqual([...inbox.dropped], [["big", 1]]);
  });

  it("refuses a bound below 1", () => {
    assert.throws(() => new AccountInbox(0), RangeError);
    assert.throws(() => new AccountInbox(1, { perAccount: 0, sizeOf: () => 1 }), RangeError);
  });
});
