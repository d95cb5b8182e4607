import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ID_STRING_CACHE_ENTRIES, idAt, internId } from "../../src/core/idStrings.ts";

// Its own file, so the cache starts empty in this process and the slot counts below are exact.
const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const other = (i: number) => {
  const b = new Uint8Array(32).fill(0x33);
  new DataView(b.buffer).setUint32(0, 0x4000_0000 + i);
  return b;
};

describe("idAt across a turnover of its generations", () => {
  it("spells an id right when the slot its key held in the previous generation is the one reused", () => {
    // X and Y share their first four bytes (the cache's key) but not the rest.
    const x = new Uint8Array(32).fill(0x11);
    const y = new Uint8Array(32).fill(0x11);
    y[31] = 0x22;
    const E = ID_STRING_CACHE_ENTRIES;
    let i = 0;
    for (; i < E; i++) idAt(other(i), 0); // the first generation, full
    assert.equal(idAt(x, 0), hexOf(x)); // the second generation's first slot
    for (; i < 3 * E - 1; i++) idAt(other(i), 0); // the rest of it, then a third, full
    // Y's key finds X in the previous generation; taking Y a slot turns the generations over and reuses
    // exactly X's slot. Y is spelled as Y, and X, asked again, as X.
    assert.equal(idAt(y, 0), hexOf(y));
    assert.equal(idAt(x, 0), hexOf(x));
    for (const id of [x, y]) assert.equal(internId(hexOf(id)), hexOf(id));
  });
});
