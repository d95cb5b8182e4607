import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { SlotIndex } from "../../src/ledger/slotIndex.ts";

describe("SlotIndex", () => {
  it("behaves as a map keyed by (source, seq) under any sequence of sets and deletes", () => {
    const op = fc.record({
      set: fc.boolean(),
      source: fc.constantFrom("a", "b", "a:1", "c"),
      seq: fc.integer({ min: 1, max: 4 }),
      id: fc.string({ minLength: 1, maxLength: 4 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const index = new SlotIndex();
        const model = new Map<string, string>();
        for (const { set, source, seq, id } of ops) {
          // A JSON pair as the model's key: "a:1" with seq 1 and "a" with seq "1:1" must stay distinct.
          const k = JSON.stringify([source, seq]);
          if (set) {
            index.set(source, seq, id);
            model.set(k, id);
          } else {
            index.delete(source, seq);
            model.delete(k);
          }
          assert.equal(index.size, model.size);
        }
        for (const source of ["a", "b", "a:1", "c"]) {
          for (let seq = 1; seq <= 4; seq++) {
            const expected = model.get(JSON.stringify([source, seq]));
            assert.equal(index.get(source, seq), expected);
            assert.equal(index.has(source, seq), expected !== undefined);
          }
        }
      }),
    );
  });
});
