import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { logAddExp, logChoose, logFactorial, logOneMinusExp, logSumExp } from "../../src/analysis/logMath.ts";
import {
  binomialLowerTail,
  binomialUpperTail,
  logBinomialLowerTail,
  logBinomialPmf,
  logBinomialUpperTail,
  logPoissonLowerTail,
  logPoissonPmf,
  logPoissonUpperTail,
  poissonLowerTail,
  poissonUpperTail,
} from "../../src/analysis/tails.ts";

// ── exact references: rational arithmetic in BigInt ──────────────────────────────────────────────────────

/** ln x for a positive BigInt, to double precision. */
function bigLog(x: bigint): number {
  if (x <= 0n) return Number.NEGATIVE_INFINITY;
  const shift = Math.max(0, x.toString(2).length - 60);
  return Math.log(Number(x >> BigInt(shift))) + shift * Math.LN2;
}

/** ln P[Bin(n, a/b) ≥ k] and ln P[Bin(n, a/b) ≤ k], exactly: Σ C(n,j)·aʲ·(b−a)ⁿ⁻ʲ / bⁿ. */
function exactBinomial(
  n: number,
  a: number,
  b: number,
): { upper(k: number): number; lower(k: number): number } {
  const A = BigInt(a);
  const Q = BigInt(b - a);
  const terms: bigint[] = [];
  let choose = 1n;
  for (let j = 0; j <= n; j++) {
    terms.push(choose * A ** BigInt(j) * Q ** BigInt(n - j));
    choose = (choose * BigInt(n - j)) / BigInt(j + 1);
  }
  const logDenominator = bigLog(BigInt(b) ** BigInt(n));
  const sum = (from: number, to: number) => {
    let s = 0n;
    for (let j = Math.max(0, from); j <= Math.min(n, to); j++) s += terms[j]!;
    return bigLog(s) - logDenominator;
  };
  return { upper: (k) => sum(k, n), lower: (k) => sum(0, k) };
}

/** ln P[Poisson(λ) ≤ k] for an integer λ, exactly: e^(−λ)·Σ λʲ/j! = e^(−λ)·(Σ λʲ·k!/j!) / k!. */
function exactPoissonLower(lambda: number, k: number): number {
  let sum = 0n;
  let tail = 1n; // k!/j! for j = k, k−1, …
  for (let j = k; j >= 0; j--) {
    sum += BigInt(lambda) ** BigInt(j) * tail;
    tail *= BigInt(j);
  }
  let factorial = 1n;
  for (let j = 2; j <= k; j++) factorial *= BigInt(j);
  return -lambda + bigLog(sum) - bigLog(factorial);
}

/** |ln x − ln y| ≤ tol, i.e. x and y agree to a relative error of about tol (both −∞ also agree). */
function assertLogClose(actual: number, expected: number, tol: number, what: string): void {
  if (expected === Number.NEGATIVE_INFINITY) {
    assert.equal(actual, expected, what);
    return;
  }
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected}`);
}

// ── tests ──────────────────────────────────────────────────────────────────────────────────────────────────

describe("log-space helpers", () => {
  test("logFactorial matches a sum of logs and known values", () => {
    let sum = 0;
    for (let n = 1; n <= 2000; n++) {
      sum += Math.log(n);
      assert.ok(Math.abs(logFactorial(n) - sum) <= 1e-13 * Math.max(1, sum), `n = ${n}`);
    }
    assert.equal(logFactorial(0), 0);
    assertLogClose(logFactorial(20), Math.log(2432902008176640000), 1e-15, "20!");
    assertLogClose(logChoose(52, 5), Math.log(2598960), 1e-13, "C(52,5)");
    assert.equal(logChoose(5, 6), Number.NEGATIVE_INFINITY);
  });

  test("logAddExp, logSumExp and logOneMinusExp stay finite where exp under- or overflows", () => {
    assertLogClose(logAddExp(-1000, -1000), -1000 + Math.LN2, 1e-15, "equal terms");
    assert.equal(logAddExp(Number.NEGATIVE_INFINITY, -5), -5);
    assertLogClose(logSumExp([800, 800, 800]), 800 + Math.log(3), 1e-15, "overflowing terms");
    assert.equal(logSumExp([]), Number.NEGATIVE_INFINITY);
    assertLogClose(logOneMinusExp(Math.log(0.25)), Math.log(0.75), 1e-15, "1 − 1/4");
    assertLogClose(logOneMinusExp(-1e-20), Math.log(1e-20), 1e-12, "1 − e^(−1e-20)");
    assertLogClose(logOneMinusExp(-800), -Math.exp(-800), 1e-300, "1 − e^(−800)");
  });
});

describe("binomial tails", () => {
  test("textbook values", () => {
    assert.ok(Math.abs(binomialUpperTail(10, 0.5, 8) / (56 / 1024) - 1) < 1e-13);
    assert.ok(Math.abs(binomialLowerTail(10, 0.5, 2) / (56 / 1024) - 1) < 1e-13);
    assert.ok(Math.abs(binomialUpperTail(3, 0.2, 1) / (1 - 0.8 ** 3) - 1) < 1e-14);
    assertLogClose(logBinomialPmf(4, 0.25, 2), Math.log(6 * 0.0625 * 0.5625), 1e-14, "pmf");
  });

  test("every tail of small binomials matches exact rational sums", () => {
    for (const [n, a, b] of [
      [1, 1, 2],
      [5, 3, 10],
      [20, 1, 10],
      [37, 9, 10],
      [100, 11, 20],
      [250, 1, 3],
    ] as const) {
      const exact = exactBinomial(n, a, b);
      const p = a / b;
      for (let k = -1; k <= n + 1; k++) {
        assertLogClose(logBinomialUpperTail(n, p, k), exact.upper(k), 1e-12, `P[Bin(${n},${p}) ≥ ${k}]`);
        assertLogClose(logBinomialLowerTail(n, p, k), exact.lower(k), 1e-12, `P[Bin(${n},${p}) ≤ ${k}]`);
      }
    }
  });

  test("deep tails to 1e-300 and far below, and n in the thousands", () => {
    const exact1000 = exactBinomial(1000, 1, 10);
    for (const k of [200, 350, 500, 700, 900, 1000]) {
      assertLogClose(logBinomialUpperTail(1000, 0.1, k), exact1000.upper(k), 1e-11, `Bin(1000,0.1) ≥ ${k}`);
    }
    // ≈ 1e-765: only the log form represents it.
    assert.ok(Math.abs(logBinomialUpperTail(1000, 0.1, 900) / Math.LN10 + 764.77) < 0.01);
    // Around 1e-300 the linear form is still exact to many digits.
    let k = 300;
    while (exact1000.upper(k) > Math.log(1e-300)) k++;
    const expected = Math.exp(exact1000.upper(k));
    assert.ok(expected > 0 && expected <= 1e-300);
    assert.ok(Math.abs(binomialUpperTail(1000, 0.1, k) / expected - 1) < 1e-10, `1e-300 at k = ${k}`);

    const exact3000 = exactBinomial(3000, 1, 2);
    for (const k of [0, 1400, 1500, 1501, 1700, 2100, 2999, 3000]) {
      assertLogClose(logBinomialUpperTail(3000, 0.5, k), exact3000.upper(k), 1e-11, `Bin(3000,½) ≥ ${k}`);
      assertLogClose(logBinomialLowerTail(3000, 0.5, k), exact3000.lower(k), 1e-11, `Bin(3000,½) ≤ ${k}`);
    }
  });

  test("tails near 1 keep their complement's precision", () => {
    // P[Bin(300, 0.9) < 200] ≈ 1e-19: the validity-style tail must not come out as 1 − (1 − tiny).
    const exact = exactBinomial(300, 9, 10);
    assertLogClose(logBinomialLowerTail(300, 0.9, 199), exact.lower(199), 1e-11, "lower");
    assertLogClose(logBinomialUpperTail(300, 0.9, 200), exact.upper(200), 1e-15, "upper ≈ 1");
  });

  test("edge cases: empty and certain tails, p ∈ {0, 1}, n = 0", () => {
    assert.equal(binomialUpperTail(10, 0.3, 0), 1);
    assert.equal(binomialUpperTail(10, 0.3, -4), 1);
    assert.equal(binomialUpperTail(10, 0.3, 11), 0);
    assert.equal(binomialLowerTail(10, 0.3, -1), 0);
    assert.equal(binomialLowerTail(10, 0.3, 10), 1);
    assert.equal(binomialUpperTail(10, 0, 1), 0);
    assert.equal(binomialUpperTail(10, 0, 0), 1);
    assert.equal(binomialUpperTail(10, 1, 10), 1);
    assert.equal(binomialLowerTail(10, 1, 9), 0);
    assert.equal(binomialLowerTail(10, 0, 0), 1);
    assert.equal(binomialUpperTail(0, 0.5, 0), 1);
    assert.equal(binomialUpperTail(0, 0.5, 1), 0);
    assert.ok(Math.abs(binomialUpperTail(1e6, 1e-12, 1) / -Math.expm1(1e6 * Math.log1p(-1e-12)) - 1) < 1e-9);
    assert.throws(() => logBinomialUpperTail(10, 1.5, 3), RangeError);
    assert.throws(() => logBinomialUpperTail(10.5, 0.5, 3), RangeError);
    assert.throws(() => logBinomialUpperTail(10, 0.5, 2.5), RangeError);
  });

  test("the two tails are complements", () => {
    for (const [n, p] of [
      [17, 0.3],
      [400, 0.55],
      [2500, 0.02],
    ] as const) {
      for (let k = 0; k <= n; k += Math.max(1, Math.floor(n / 37))) {
        const total = binomialUpperTail(n, p, k) + binomialLowerTail(n, p, k - 1);
        assert.ok(Math.abs(total - 1) < 1e-13, `n=${n} p=${p} k=${k}: ${total}`);
      }
    }
  });
});

/** ln j! for j < 4000 as plain running sums of logs: an independent reference. */
const LOG_FACTORIALS: number[] = [0];
for (let j = 1; j < 4000; j++) LOG_FACTORIALS.push(LOG_FACTORIALS[j - 1]! + Math.log(j));

describe("Poisson tails", () => {
  test("lower tails match exact sums for integer λ", () => {
    for (const lambda of [1, 3, 20, 100, 700]) {
      for (const k of [0, 1, 2, Math.floor(lambda / 3), lambda - 1, lambda, lambda + 5, 2 * lambda]) {
        if (k < 0) continue;
        assertLogClose(
          logPoissonLowerTail(lambda, k),
          exactPoissonLower(lambda, k),
          1e-11,
          `P[Poi(${lambda}) ≤ ${k}]`,
        );
      }
    }
  });

  test("upper tails match sums of point masses, deep into the tail", () => {
    for (const lambda of [0.5, 3, 18.5, 100]) {
      for (const k of [1, 2, 5, 10, 30, 60, 150, 400]) {
        // Reference: ln Σ_{j≥k} e^(−λ) λʲ/j!, each point mass from a plain sum of logs.
        const terms: number[] = [];
        for (let j = k; j < k + 3000; j++) terms.push(-lambda + j * Math.log(lambda) - LOG_FACTORIALS[j]!);
        assertLogClose(logPoissonUpperTail(lambda, k), logSumExp(terms), 1e-10, `P[Poi(${lambda}) ≥ ${k}]`);
      }
    }
    assert.ok(Math.abs(poissonUpperTail(1, 1) / -Math.expm1(-1) - 1) < 1e-15);
    assertLogClose(logPoissonPmf(2, 3), Math.log((Math.exp(-2) * 8) / 6), 1e-14, "pmf");
  });

  test("edge cases", () => {
    assert.equal(poissonUpperTail(5, 0), 1);
    assert.equal(poissonLowerTail(5, -1), 0);
    assert.equal(poissonUpperTail(0, 1), 0);
    assert.equal(poissonLowerTail(0, 0), 1);
    assert.ok(Math.abs(poissonLowerTail(4, 3) + poissonUpperTail(4, 4) - 1) < 1e-15);
    assert.throws(() => logPoissonUpperTail(-1, 2), RangeError);
  });
});
