import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { INSTANCE_KEY_CACHE_ENTRIES, instanceKey } from "../../src/broadcast/instance/instanceId.ts";

describe("instanceKey", () => {
  it("is `source:seq`, one key per instance, whatever else was asked in between", () => {
    const ref = fc.record({
      source: fc.constantFrom("a", "b", "a:1", "tly1xyz"),
      seq: fc.integer({ min: 1, max: 50 }),
    });
    fc.assert(
      fc.property(fc.array(ref, { maxLength: 200 }), (refs) => {
        for (const r of refs) assert.equal(instanceKey({ ...r }), `${r.source}:${r.seq}`);
      }),
    );
  });

  it("hands out the same string object for a recent instance, and a correct key for an old one", () => {
    const first = instanceKey({ source: "tly1recent", seq: 7 });
    assert.ok(Object.is(instanceKey({ source: "tly1recent", seq: 7 }), first));
    // Push it out of both generations: the key is built again, equal in value.
    for (let i = 0; i < 2 * INSTANCE_KEY_CACHE_ENTRIES + 1; i++)
      instanceKey({ source: "tly1other", seq: i + 1 });
    assert.equal(instanceKey({ source: "tly1recent", seq: 7 }), "tly1recent:7");
  });
});
