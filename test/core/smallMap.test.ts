import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { SMALL_MAP_INLINE_ENTRIES, SmallMap } from "../../src/core/smallMap.ts";
import { checkAgainstMap, mapOps } from "../support/mapModel.ts";

describe("small map", () => {
  it("answers, sizes and iterates exactly as a Map does, whatever the sets and deletes", () => {
    // Keys 0..9: enough to overflow the four fields into the Map and to empty it again.
    fc.assert(
      fc.property(mapOps(9, 300), (sequence) => {
        checkAgainstMap(new SmallMap<number, number>(), sequence, (map, model) => {
          const seen: Array<[number, number]> = [];
          map.forEach((value, key) => {
            seen.push([key, value]);
          });
          assert.deepEqual(seen, [...model]);
        });
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
