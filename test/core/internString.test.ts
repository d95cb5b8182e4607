import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { internString } from "../../src/core/internString.ts";

// Interning itself cannot be observed from JavaScript (strings have no identity to compare); what can go wrong
// is the property-name trick changing the text, as an array index or `__proto__` might.
test("internString returns the same text for any string, the awkward property names included", () => {
  for (const text of [
    "",
    "__proto__",
    "constructor",
    "0",
    "01",
    "-0",
    "4294967295",
    "1e3",
    "tly1qqq:42",
    "ℓ€dger",
  ])
    assert.equal(internString(text), text);
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 80 }), (text) => internString(text) === text),
    { numRuns: 2_000 },
  );
});
