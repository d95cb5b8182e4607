import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { drawDistinct, randomElement, randomIndex } from "../../src/sampling/randomDraw.ts";
import { seededRandom } from "../../src/sim/prng.ts";

describe("random draws", () => {
  it("randomIndex stays in [0, bound), even for a source returning exactly 0 or 1", () => {
    assert.equal(
      randomIndex(() => 0, 5),
      0,
    );
    assert.equal(
      randomIndex(() => 1, 5),
      4,
    );
    assert.equal(
      randomIndex(() => 0.999_999, 5),
      4,
    );
    const random = seededRandom(1);
    const counts = [0, 0, 0];
    for (let i = 0; i < 3_000; i++) counts[randomIndex(random, 3)]!++;
    assert.ok(
      counts.every((c) => c > 900 && c < 1_100),
      `roughly uniform: ${counts}`,
    );
  });

  it("randomElement: undefined for nothing, a member otherwise", () => {
    assert.equal(
      randomElement(() => 0.5, []),
      undefined,
    );
    assert.equal(
      randomElement(() => 1, ["a", "b"]),
      "b",
    );
  });

  it("drawDistinct takes min(take, pool) distinct elements, one draw each, also with a source returning 1", () => {
    let draws = 0;
    const one = () => {
      draws++;
      return 1;
    };
    const pool = ["a", "b", "c", "d"];
    const drawn = drawDistinct(pool, 3, one);
    assert.equal(draws, 3);
    assert.deepEqual(drawn, ["d", "a", "b"], "each time the last position: swaps a↔d, then b↔a, then c↔b");
    assert.deepEqual(new Set(drawDistinct(["a", "b"], 5, seededRandom(2))), new Set(["a", "b"]));
    assert.deepEqual(drawDistinct([], 3, seededRandom(3)), []);
  });

  it("drawDistinct is uniform over subsets", () => {
    const random = seededRandom(4);
    const seen = new Map<string, number>();
    for (let i = 0; i < 6_000; i++) {
      const key = drawDistinct(["a", "b", "c", "d"], 2, random).sort().join("");
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    assert.equal(seen.size, 6);
    for (const [key, count] of seen) assert.ok(count > 850 && count < 1_150, `${key}: ${count}`);
  });
});
