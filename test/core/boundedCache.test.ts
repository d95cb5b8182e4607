import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { BoundedCache } from "../../src/core/boundedCache.ts";

describe("bounded cache", () => {
  it("holds what a FIFO-evicting map of the same bound holds, whatever the sets, deletes and re-insertions", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 120 })), { maxLength: 3_000 }),
        (max, ops) => {
          const cache = new BoundedCache<number, number>(max);
          const model = new Map<number, number>();
          for (const [isDelete, key] of ops) {
            if (isDelete) {
              assert.equal(cache.delete(key), model.delete(key));
            } else {
              if (!model.has(key) && model.size >= max) model.delete(model.keys().next().value!);
              model.set(key, key * 2);
              cache.set(key, key * 2);
            }
            assert.ok(cache.size <= max);
          }
          assert.deepEqual([...cache.entries()], [...model.entries()]);
        },
      ),
      { seed: 11, numRuns: 300 },
    );
  });

  it("keeps its memory bounded under endless delete-and-set churn, and never holds more than its bound", () => {
    const cache = new BoundedCache<string, number>(100);
    for (let i = 0; i < 200_000; i++) {
      cache.set(`k${i % 150}`, i);
      if (i % 3 === 0) cache.delete(`k${(i * 7) % 150}`);
      assert.ok(cache.size <= 100);
    }
    // What it keeps of the insertion order is private; its bound shows as the cost staying flat (bench) and
    // here as the last keys set still being found.
    assert.equal(cache.get(`k${199_999 % 150}`), 199_999);
  });

  it("trims to a lower bound oldest first, for records that may leave only when told", () => {
    const cache = new BoundedCache<number, string>(Number.MAX_SAFE_INTEGER);
    for (let i = 0; i < 10; i++) cache.set(i, `v${i}`);
    cache.set(3, "again"); // keeps its place
    cache.trimTo(6);
    assert.deepEqual(
      [...cache.entries()].map(([k]) => k),
      [4, 5, 6, 7, 8, 9],
    );
  });

  it("never evicts the key it is setting, even one deleted and set again", () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set("k", 1);
    cache.set("a", 2);
    cache.delete("k");
    cache.set("b", 3);
    cache.set("k", 4); // full: the oldest, a, goes; k is the newest now, not at its first insertion's place
    assert.equal(cache.get("k"), 4);
    assert.equal(cache.size, 2);
    assert.deepEqual(
      [...cache.entries()].map(([key]) => key),
      ["b", "k"],
    );
    cache.set("b", 5); // a replaced value keeps its place and evicts nothing
    assert.deepEqual(
      [...cache.entries()],
      [
        ["b", 5],
        ["k", 4],
      ],
    );
  });
});

describe("bounded cache after it emptied", () => {
  it("evicts in insertion order again once deletes or a trim to zero emptied it", () => {
    const cache = new BoundedCache<number, number>(3);
    for (let i = 0; i < 5; i++) cache.set(i, i); // 0 and 1 evicted
    cache.trimTo(0);
    assert.equal(cache.size, 0);
    for (let i = 10; i < 15; i++) cache.set(i, i); // 10 and 11 evicted
    assert.deepEqual(
      [...cache.entries()].map(([k]) => k),
      [12, 13, 14],
    );
    for (const k of [12, 13, 14]) cache.delete(k);
    for (let i = 20; i < 25; i++) cache.set(i, i);
    assert.deepEqual(
      [...cache.entries()].map(([k]) => k),
      [22, 23, 24],
    );
  });
});
