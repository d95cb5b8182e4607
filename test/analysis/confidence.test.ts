import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { clopperPearson } from "../../src/analysis/confidence.ts";

/** Reference values: scipy.stats.beta.ppf(0.025, k, n−k+1) and beta.ppf(0.975, k+1, n−k). */
const REFERENCE: readonly [k: number, n: number, lower: number, upper: number][] = [
  [0, 10, 0, 0.3084971078187607],
  [0, 100, 0, 0.03621669264517641],
  [5, 100, 0.016431879182052155, 0.11283491110546275],
  [50, 100, 0.39832112950330095, 0.601678870496699],
  [3, 20, 0.0320709371854637, 0.37892682654531396],
  [1, 10_000, 2.5317775934746866e-6, 0.0005570369979470473],
  [10, 10, 0.6915028921812392, 1],
];

describe("Clopper–Pearson interval", () => {
  test("matches the beta-quantile form to 1e-9 relative", () => {
    for (const [k, n, lower, upper] of REFERENCE) {
      const ci = clopperPearson(k, n);
      const close = (a: number, b: number) =>
        assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(b, 1e-300), `${a} vs ${b}`);
      close(ci.lower, lower);
      close(ci.upper, upper);
    }
  });

  test("k = 0 has the closed form 1 − (α/2)^(1/n), and the ends are symmetric in k ↔ n − k", () => {
    for (const n of [1, 7, 300, 5000]) {
      assert.ok(Math.abs(clopperPearson(0, n).upper - (1 - 0.025 ** (1 / n))) < 1e-12);
    }
    const a = clopperPearson(7, 40);
    const b = clopperPearson(33, 40);
    assert.ok(Math.abs(a.lower - (1 - b.upper)) < 1e-12 && Math.abs(a.upper - (1 - b.lower)) < 1e-12);
  });

  test("a wider level gives a wider interval", () => {
    const narrow = clopperPearson(4, 60, 0.8);
    const wide = clopperPearson(4, 60, 0.99);
    assert.ok(wide.lower < narrow.lower && narrow.upper < wide.upper);
  });

  test("refuses impossible counts", () => {
    assert.throws(() => clopperPearson(3, 2), RangeError);
    assert.throws(() => clopperPearson(0, 0), RangeError);
    assert.throws(() => clopperPearson(1.5, 4), RangeError);
    assert.throws(() => clopperPearson(1, 4, 1), RangeError);
  });
});
