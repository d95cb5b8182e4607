import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GrowthSweep } from "../../src/core/growthSweep.ts";

describe("growth sweep", () => {
  it("sweeps at its start size, then each time the map has doubled since, and keeps what still matters", () => {
    const sweep = new GrowthSweep(4);
    const map = new Map<number, boolean>();
    const sweeps: { at: number; left: number }[] = [];
    for (let i = 0; i < 40; i++) {
      const before = map.size;
      // Even keys still matter; odd ones may go.
      sweep.beforeAdd(map, (key) => key % 2 === 1);
      if (map.size < before) sweeps.push({ at: before, left: map.size });
      map.set(i, true);
    }
    assert.equal(sweeps[0]?.at, 4, "the first sweep at the start size");
    for (let k = 1; k < sweeps.length; k++) {
      assert.equal(
        sweeps[k]!.at,
        Math.max(4, 2 * sweeps[k - 1]!.left),
        "then at twice what the last one left",
      );
    }
    assert.deepEqual(
      sweeps.map((s) => s.at),
      [4, 4, 6, 10, 14, 22],
    );
    assert.ok(
      [...map.keys()].filter((k) => k < 33).every((k) => k % 2 === 0),
      "only odd keys went",
    );
  });
});
