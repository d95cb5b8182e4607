import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { SMALL_MAP_INLINE_ENTRIES, SmallMap } from "../../src/core/smallMap.ts";

type Op = { readonly kind: "set" | "delete" | "get"; readonly key: number; readonly value: number };

/** Keys 0..9: enough to overflow the four fields into the Map and to empty it again. */
const ops = fc.array(
  fc.record({
    kind: fc.constantFrom<Op["kind"]>("set", "set", "delete", "get"),
    key: fc.integer({ min: 0, max: 9 }),
    value: fc.integer(),
  }),
  { maxLength: 300 },
);

describe("small map", () => {
  it("answers, sizes and iterates exactly as a Map does, whatever the sets and deletes", () => {
    fc.assert(
      fc.property(ops, (sequence) => {
        const map = new SmallMap<number, number>();
        const model = new Map<number, number>();
        for (const op of sequence) {
          if (op.kind === "set") {
            map.set(op.key, op.value);
            model.set(op.key, op.value);
          } else if (op.kind === "delete") assert.equal(map.delete(op.key), model.delete(op.key));
          else assert.equal(map.get(op.key), model.get(op.key));
          assert.equal(map.has(op.key), model.has(op.key));
          assert.equal(map.size, model.size);
          assert.deepEqual([...map], [...model]);
          const seen: Array<[number, number]> = [];
          map.forEach((value, key) => {
            seen.push([key, value]);
          });
          assert.deepEqual(seen, [...model]);
        }
      }),
    );
  });

  it("keeps insertion order across the fields and the Map when an early entry leaves", () => {
    const map = new SmallMap<string, number>();
    const keys = ["a", "b", "c", "d", "e", "f"];
    for (const [i, k] of keys.entries()) map.set(k, i);
    assert.ok(keys.length > SMALL_MAP_INLINE_ENTRIES);
    map.delete("b");
    map.set("g", 6);
    map.set("a", 10); // a replaced value keeps its place
    assert.deepEqual(
      [...map].map(([k]) => k),
      ["a", "c", "d", "e", "f", "g"],
    );
    assert.equal(map.get("a"), 10);
  });

  it("keeps undefined values apart from missing keys", () => {
    const map = new SmallMap<string, number | undefined>();
    map.set("x", undefined);
    assert.equal(map.has("x"), true);
    assert.equal(map.has("y"), false);
    assert.equal(map.size, 1);
  });
});
