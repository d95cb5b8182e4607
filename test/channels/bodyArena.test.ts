import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BodyArena, MAX_SHARED_BODY_BYTES } from "../../src/channels/bodyArena.ts";

describe("body arena", () => {
  it("small bodies share chunks without overlapping; a large body gets a buffer of its own", () => {
    const arena = new BodyArena();
    const copies = Array.from({ length: 200 }, (_, i) => arena.copy(new Uint8Array(100).fill(i)));
    for (const [i, c] of copies.entries()) assert.ok(c.every((b) => b === i));
    assert.ok(new Set(copies.map((c) => c.buffer)).size < copies.length, "chunks are shared");
    const large = arena.copy(new Uint8Array(MAX_SHARED_BODY_BYTES + 1).fill(9));
    assert.equal(large.buffer.byteLength, MAX_SHARED_BODY_BYTES + 1);
    assert.equal(arena.copy(new Uint8Array(0)).length, 0);
  });
});
