import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { SmallList } from "../../src/core/smallList.ts";

/** A push of a value, or a clear. */
const listOps = fc.array(fc.oneof(fc.integer({ min: 0, max: 99 }), fc.constant("clear" as const)), {
  maxLength: 60,
});

describe("small list", () => {
  it("holds, reads and iterates exactly as an array does, across its fields and its array", () => {
    fc.assert(
      fc.property(listOps, (ops) => {
        const list = new SmallList<number>();
        let model: number[] = [];
        for (const op of ops) {
          if (op === "clear") {
            list.clear();
            model = [];
          } else {
            list.push(op);
            model.push(op);
          }
          assert.equal(list.length, model.length);
          assert.equal(list.last(), model.at(-1));
          const seen: number[] = [];
          list.forEach((item) => {
            seen.push(item);
          });
          assert.deepEqual(seen, model);
          for (let i = 0; i < model.length; i++) assert.equal(list.at(i), model[i]);
          const wanted = model[0];
          assert.equal(
            list.some((item) => item === wanted),
            model.length > 0,
          );
          assert.equal(
            list.some((item) => item === 100),
            false,
          );
        }
      }),
    );
  });

  it("refuses an index outside the list, rather than reading a stale field", () => {
    const list = new SmallList<string>();
    assert.throws(() => list.at(0), RangeError);
    list.push("a");
    list.push("b");
    list.push("c");
    list.clear();
    list.push("d");
    assert.equal(list.at(0), "d");
    assert.throws(() => list.at(1), RangeError);
    assert.throws(() => list.at(-1), RangeError);
    assert.equal(list.last(), "d");
  });
});
