import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { IdBuckets } from "../../src/ledger/idBuckets.ts";
import { MemoryLedgerStore } from "../../src/ledger/memoryStore.ts";

const id = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex"));
/** Ids sharing a first byte often, so buckets hold several and their order inside a bucket matters. */
const crowdedId = fc
  .tuple(fc.integer({ min: 0, max: 3 }), id)
  .map(([first, rest]) => first.toString(16).padStart(2, "0") + rest.slice(2));
const op = fc.oneof(fc.record({ add: fc.oneof(id, crowdedId) }), fc.record({ deleteAt: fc.nat() }));

function reference(ids: Iterable<string>, limit: number): string[] {
  return [...ids].sort().slice(0, limit);
}

describe("id buckets", () => {
  it("list the smallest ids exactly as sorting all of them does, through any adds and deletes", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), fc.integer({ min: 1, max: 300 }), (ops, limit) => {
        const buckets = new IdBuckets();
        const held = new Set<string>();
        for (const o of ops) {
          if ("add" in o) {
            buckets.add(o.add);
            held.add(o.add);
          } else if (held.size > 0) {
            const victim = [...held][o.deleteAt % held.size]!;
            buckets.delete(victim);
            held.delete(victim);
          }
        }
        assert.equal(buckets.size, held.size);
        assert.deepEqual(buckets.smallest(limit), reference(held, limit));
      }),
      { numRuns: 300 },
    );
  });

  it("give an account's pending deps in id order while it crosses the large-account threshold both ways", () => {
    const store = new MemoryLedgerStore();
    const held = new Set<string>();
    const ids = Array.from({ length: 2_500 }, (_, i) =>
      Buffer.from(new Uint32Array([i * 2_654_435_761, i, 7, i ^ 0x5bd1e995, 1, 2, 3, 4]).buffer).toString(
        "hex",
      ),
    );
    const check = (what: string) =>
      assert.deepEqual(store.listUnreferenced("acct", 256), reference(held, 256), what);
    for (const x of ids) {
      store.putUnreferenced("acct", x, 1n);
      held.add(x);
      if (held.size % 250 === 0) check(`after ${held.size} payments`);
    }
    // Referenced smallest first, as a wallet taking its pending deps does, down through the threshold.
    while (held.size > 100) {
      for (const x of store.listUnreferenced("acct", 64)) {
        store.deleteUnreferenced("acct", x);
        held.delete(x);
      }
      check(`after spending down to ${held.size}`);
    }
    for (const x of ids.slice(0, 1_500)) {
      store.putUnreferenced("acct", x, 1n);
      held.add(x);
    }
    check("after growing again");
  });
});
