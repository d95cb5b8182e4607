import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { InlineMap, InlineSet } from "../../src/core/inlineMap.ts";
import { checkAgainstMap, mapOps } from "../support/mapModel.ts";

describe("inline map", () => {
  it("answers, sizes and iterates exactly as a Map does, whatever the sets and deletes", () => {
    fc.assert(
      fc.property(mapOps(6, 200), (sequence) => {
        checkAgainstMap(new InlineMap<number, number>(), sequence, (map, model) => {
          assert.deepEqual(map.keys(), [...model.keys()]);
          assert.deepEqual(map.values(), [...model.values()]);
        });
      }),
    );
  });

  it("keeps undefined values apart from missing keys", () => {
    const map = new InlineMap<string, number | undefined>();
    map.set("a", undefined);
    assert.equal(map.has("a"), true);
    assert.equal(map.has("b"), false);
    assert.equal(map.size, 1);
  });
});

describe("inline set", () => {
  it("holds and iterates exactly as a Set does", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 50 }), (values) => {
        const set = new InlineSet<number>();
        const model = new Set<number>();
        for (const value of values) {
          set.add(value);
          model.add(value);
          assert.equal(set.size, model.size);
          assert.deepEqual([...set], [...model]);
          for (let probe = 0; probe <= 5; probe++) assert.equal(set.has(probe), model.has(probe));
        }
      }),
    );
  });
});
