import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  boundsFor,
  criticalSplit,
  logBoundsFor,
  logCriticalContagion,
  logCriticalDelivery,
  logEchoMissing,
  logEchoMissPerNode,
  logGossipDisconnected,
} from "../../src/analysis/bounds.ts";
import { type ChosenParams, chooseParams } from "../../src/analysis/chooseParams.ts";
import { logAddExp, logChoose } from "../../src/analysis/logMath.ts";
import { brachaMessagesPerNode, messagesPerNodePerBroadcast } from "../../src/analysis/messages.ts";
import { population } from "../../src/analysis/population.ts";
import {
  binomialLowerTail,
  binomialUpperTail,
  logBinomialLowerTail,
  logBinomialUpperTail,
} from "../../src/analysis/tails.ts";
import type { ContagionParams } from "../../src/broadcast/contagion/contagionParams.ts";
import { UsageError } from "../../src/cli/command.ts";
import { paramsCommands } from "../../src/cli/paramsCommand.ts";
import { isTallyError } from "../../src/core/errors.ts";

const EPSILON = 1e-9;
const chosen = new Map<string, ChosenParams>();
function choose(nodes: number, byzantine: number, epsilon = EPSILON): ChosenParams {
  const key = `${nodes}/${byzantine}/${epsilon}`;
  let p = chosen.get(key);
  if (p === undefined) {
    p = chooseParams({ nodes, byzantine, epsilon });
    chosen.set(key, p);
  }
  return p;
}

function paramsOf(p: ChosenParams): ContagionParams {
  const { G, E, Ehat, R, Rhat, D, Dhat } = p;
  return { G, E, Ehat, R, Rhat, D, Dhat };
}

/** Seeded xorshift32, for the Monte-Carlo check. */
function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

describe("individual bounds", () => {
  test("terms are the documented binomial tails times the number of correct nodes", () => {
    const params = { G: 10, E: 120, Ehat: 95, R: 150, Rhat: 40, D: 140, Dhat: 105 };
    const { terms } = boundsFor(params, 2000, 0.1);
    const C = 1800;
    const close = (a: number, b: number) => assert.ok(Math.abs(a / b - 1) < 1e-12, `${a} vs ${b}`);
    // Entries are uniform over the N − 1 = 1999 others; shares a set must reach are taken over N.
    const beta = 200 / 1999;
    close(terms.echoEquivocation, 2 * C * binomialUpperTail(120, (200 + 900) / 1999, 95));
    close(terms.readyByzantine, C * binomialUpperTail(150, beta, 40));
    close(terms.deliveryByzantine, C * binomialUpperTail(140, beta, 105));
    close(terms.deliveryMissing, C * binomialLowerTail(140, 1 - beta, 104));
    close(terms.echoMissPerNode, binomialLowerTail(120, 1 - beta, 94));
    const s = Math.round(terms.criticalFraction * 2000);
    close(terms.criticalDelivery, C * binomialUpperTail(140, (200 + s) / 1999, 105));
    close(terms.criticalContagion, C * binomialLowerTail(150, s / 2000, 39));
    // With a correct sender the contagion fallback makes the echo term far smaller than C·π.
    assert.ok(terms.echoMissing <= C * terms.echoMissPerNode);
  });

  test("the gossip bound is the cut series Σ C(n,k)(1−p)^(k(n−k)), and bounds a simulated graph", () => {
    const pop = population({ nodes: 24, byzantine: 0.125 }); // 21 correct nodes
    for (const G of [1, 2, 3, 5]) {
      const terms: number[] = [];
      for (let k = 1; k <= 10; k++) terms.push(Math.exp(logChoose(21, k) + k * (21 - k) * ((-2 * G) / 24)));
      const series = Math.min(
        1,
        terms.reduce((a, b) => a + b, 0),
      );
      const bound = Math.min(1, Math.exp(logGossipDisconnected(G, pop)));
      assert.ok(Math.abs(bound - series) <= 1e-12 * series, `G = ${G}: ${bound} vs ${series}`);
    }
    // Monte-Carlo: 21 correct nodes each pick Poisson(3) uniform nodes among 24, links reciprocated.
    const random = seeded(7);
    const poisson = (lambda: number) => {
      let k = 0;
      for (let t = random(); t > Math.exp(-lambda); t *= random()) k++;
      return k;
    };
    const trials = 3000;
    let disconnected = 0;
    for (let t = 0; t < trials; t++) {
      const adjacency = Array.from({ length: 21 }, () => new Set<number>());
      for (let u = 0; u < 21; u++) {
        for (let i = poisson(3); i > 0; i--) {
          const v = Math.floor(random() * 24);
          if (v < 21 && v !== u) {
            adjacency[u]!.add(v);
            adjacency[v]!.add(u);
          }
        }
      }
      const seen = new Set([0]);
      const stack = [0];
      while (stack.length > 0)
        for (const v of adjacency[stack.pop()!]!) if (!seen.has(v) && seen.add(v)) stack.push(v);
      if (seen.size < 21) disconnected++;
    }
    const bound = Math.exp(logGossipDisconnected(3, pop));
    assert.ok(disconnected / trials <= bound, `observed ${disconnected / trials} > bound ${bound}`);
    assert.ok(disconnected > 0, "the check should see some disconnections at G = 3");
  });

  test("the critical split and the echo fallback are within 2× of their best choice, found by brute force", () => {
    const pop = population({ nodes: 300, byzantine: 0.1 });
    const C = pop.correctNodes;
    for (const [R, Rhat, D, Dhat] of [
      [40, 10, 40, 30],
      [100, 25, 100, 75],
      [20, 6, 30, 20],
    ] as const) {
      let best = Number.POSITIVE_INFINITY;
      for (let s = 0; s <= C; s++) {
        best = Math.min(
          best,
          logAddExp(logCriticalDelivery(D, Dhat, s, pop), logCriticalContagion(R, Rhat, s, pop)),
        );
      }
      const split = criticalSplit(R, Rhat, D, Dhat, pop);
      const got = logAddExp(split.delivery, split.contagion);
      assert.ok(got >= best - 1e-12 && got <= best + Math.LN2, `split ${got} vs best ${best}`);
    }
    for (const [E, Ehat, R, Rhat] of [
      [30, 25, 40, 10],
      [60, 50, 40, 10],
      [20, 17, 20, 6],
    ] as const) {
      const logMiss = logEchoMissPerNode(E, Ehat, pop);
      const miss = Math.exp(logMiss);
      let best = Math.log(-Math.expm1(C * Math.log1p(-miss)));
      for (let m = 1; m < C; m++) {
        const stranded = Math.log(C) + logMiss + logBinomialLowerTail(R, (C - m) / 300, Rhat - 1);
        best = Math.min(best, logAddExp(logBinomialUpperTail(C, miss, m + 1), stranded));
      }
      const got = logEchoMissing(E, Ehat, R, Rhat, pop);
      assert.ok(got >= best - 1e-12 && got <= best + Math.LN2, `echo ${got} vs best ${best}`);
    }
  });

  test("bigger samples give smaller bounds", () => {
    const pop = population({ nodes: 1000, byzantine: 0.1 });
    let previous = Number.POSITIVE_INFINITY;
    for (const G of [2, 4, 6, 8, 12, 16]) {
      const g = logGossipDisconnected(G, pop);
      assert.ok(g < previous, `G = ${G}`);
      previous = g;
    }
    // Scale every sample and threshold together: each ratio stays between the shares it separates.
    const base = { G: 6, E: 40, Ehat: 31, R: 40, Rhat: 10, D: 40, Dhat: 30 };
    let last = { validity: Infinity, consistency: Infinity, totality: Infinity };
    for (const k of [1, 2, 3, 5, 8]) {
      const params = {
        G: base.G * k,
        E: base.E * k,
        Ehat: base.Ehat * k,
        R: base.R * k,
        Rhat: base.Rhat * k,
        D: base.D * k,
        Dhat: base.Dhat * k,
      };
      const log = logBoundsFor(params, pop);
      const now = { validity: log.validity, consistency: log.consistency, totality: log.totality };
      for (const key of ["validity", "consistency", "totality"] as const) {
        assert.ok(now[key] < last[key], `${key} at ×${k}: ${now[key]} ≥ ${last[key]}`);
      }
      last = now;
    }
  });

  test("small samples give bounds clamped to [0, 1] that still order sensibly", () => {
    const tiny = boundsFor({ G: 2, E: 8, Ehat: 6, R: 8, Rhat: 3, D: 8, Dhat: 6 }, 100, 0.1);
    for (const v of [tiny.validity, tiny.consistency, tiny.totality]) assert.ok(v >= 0 && v <= 1);
    assert.equal(tiny.totality, 1);
    // Calibration-sized parameters: bounds in the 1e-3 … 1e-1 range, not saturated.
    const loose = choose(1000, 0.1, 0.05);
    for (const key of ["validity", "consistency", "totality"] as const) {
      assert.ok(loose.bounds[key] <= 0.05 && loose.bounds[key] > 1e-6, `${key} = ${loose.bounds[key]}`);
    }
    assert.ok(loose.E < choose(1000, 0.1).E / 2);
  });

  test("invalid parameters are rejected as data", () => {
    const good = { G: 5, E: 10, Ehat: 8, R: 10, Rhat: 3, D: 10, Dhat: 8 };
    for (const bad of [
      { ...good, Ehat: 11 },
      { ...good, G: 0 },
      { ...good, R: 2.5 },
    ]) {
      assert.throws(
        () => boundsFor(bad, 100, 0.1),
        (e: unknown) => isTallyError(e),
      );
    }
    assert.throws(
      () => boundsFor(good, 3, 0.1),
      (e: unknown) => isTallyError(e),
    );
    assert.throws(
      () => boundsFor(good, 100, 0.34),
      (e: unknown) => isTallyError(e),
    );
  });
});

describe("chooseParams", () => {
  const cases = [
    [100, 0.1],
    [1000, 0.1],
    [10_000, 0.1],
    [100_000, 0.1],
    [10_000, 0.2],
    [100_000, 0.2],
  ] as const;

  test("the chosen parameters meet ε on every bound, as boundsFor recomputes them", () => {
    for (const [nodes, f] of cases) {
      const p = choose(nodes, f);
      const again = boundsFor(paramsOf(p), nodes, f);
      for (const key of ["validity", "consistency", "totality"] as const) {
        assert.ok(p.bounds[key] <= EPSILON, `N=${nodes} f=${f} ${key} = ${p.bounds[key]}`);
        assert.equal(again[key], p.bounds[key]);
      }
      assert.ok(p.terms.echoMissPerNode <= EPSILON);
      assert.ok(p.Ehat <= p.E && p.Rhat <= p.R && p.Dhat <= p.D);
    }
  });

  test("they are minimal: a few entries fewer in any sample breaks a bound, whatever its threshold", () => {
    const nodes = 10_000;
    const f = 0.1;
    const p = paramsOf(choose(nodes, f));
    const pop = population({ nodes, byzantine: f });
    const fits = (q: ContagionParams) => {
      const log = logBoundsFor(q, pop);
      return (
        Math.max(log.validity, log.consistency, log.totality) <= Math.log(EPSILON) &&
        log.logEchoMissPerNode <= Math.log(EPSILON)
      );
    };
    assert.ok(fits(p));
    assert.ok(!fits({ ...p, G: p.G - 1 }), "G − 1");
    for (const [size, threshold] of [
      ["E", "Ehat"],
      ["R", "Rhat"],
      ["D", "Dhat"],
    ] as const) {
      const smaller = p[size] - 3;
      for (let t = 1; t <= smaller; t++) {
        assert.ok(!fits({ ...p, [size]: smaller, [threshold]: t }), `${size} − 3 with threshold ${t}`);
      }
    }
  });

  test("the figures are in the issue's ballpark and meet its targets", () => {
    // Echo consistency alone gives E ≈ 250 at N = 10,000 and ≈ 270 at 100,000 for f = 0.1.
    const e4 = choose(10_000, 0.1);
    const e5 = choose(100_000, 0.1);
    assert.ok(e4.E >= 225 && e4.E <= 300, `E = ${e4.E} at 10,000`);
    assert.ok(e5.E >= 245 && e5.E <= 320, `E = ${e5.E} at 100,000`);
    assert.ok(e5.E > e4.E);
    // f = 0.2 needs samples ≈ 3.5× larger.
    const ratio = choose(10_000, 0.2).E / e4.E;
    assert.ok(ratio > 3 && ratio < 4.2, `f = 0.2 / f = 0.1: ${ratio}`);
    // Contagion ≤ 1/10 of Bracha's messages at N = 10,000 and ≤ 1/100 at 100,000, growing ~log N.
    const m4 = messagesPerNodePerBroadcast(e4, 10_000);
    const m5 = messagesPerNodePerBroadcast(e5, 100_000);
    assert.ok(m4.contagion.total <= m4.bracha.total / 10);
    assert.ok(m5.contagion.total <= m5.bracha.total / 100);
    assert.ok(m5.contagion.total < 1.2 * m4.contagion.total);
    // G grows like log N.
    assert.ok(choose(100, 0.1).G < e5.G && e5.G <= 25);
  });

  test("without the echo-miss cap the search trades echo entries for contagion", () => {
    const uncapped = chooseParams({ nodes: 10_000, byzantine: 0.1, epsilon: EPSILON, maxEchoMissPerNode: 1 });
    const capped = choose(10_000, 0.1);
    assert.ok(uncapped.E < capped.E);
    for (const key of ["validity", "consistency", "totality"] as const)
      assert.ok(uncapped.bounds[key] <= EPSILON);
  });

  test("impossible or invalid requests are errors", () => {
    const isError = (e: unknown) => isTallyError(e);
    assert.throws(() => chooseParams({ nodes: 4, byzantine: 0.3, epsilon: 0.1 }), isError);
    assert.throws(() => chooseParams({ nodes: 100, byzantine: 0.1, epsilon: 0 }), isError);
    assert.throws(() => chooseParams({ nodes: 100, byzantine: 1 / 3, epsilon: 0.1 }), isError);
  });
});

describe("messages per node per broadcast", () => {
  test("contagion is 2G + E + R + D; Bracha is 2(N−1) plus the introducer's N−1 sends spread over N", () => {
    const m = messagesPerNodePerBroadcast(
      { G: 10, E: 100, Ehat: 80, R: 120, Rhat: 30, D: 110, Dhat: 80 },
      1000,
    );
    assert.deepEqual(m.contagion, { gossip: 20, echo: 100, ready: 230, total: 350 });
    assert.equal(m.bracha.total, 2 * 999 + 999 / 1000);
    assert.equal(brachaMessagesPerNode(4).echo, 3);
  });
});

describe("tally params", () => {
  const command = paramsCommands.find((c) => c.path.join(" ") === "params")!;
  const run = (values: Record<string, string>, json: boolean) =>
    command.run({ values, positionals: [], json });

  test("--json prints exactly the genesis parameters and the three bounds", async () => {
    const out = (await run({ nodes: "10000", byzantine: "0.1", epsilon: "1e-9" }, true)) as Record<
      string,
      unknown
    >;
    assert.deepEqual(Object.keys(out).sort(), ["D", "Dhat", "E", "Ehat", "G", "R", "Rhat", "bounds"]);
    for (const key of ["G", "E", "Ehat", "R", "Rhat", "D", "Dhat"]) assert.ok(Number.isSafeInteger(out[key]));
    const bounds = out.bounds as Record<string, number>;
    assert.deepEqual(Object.keys(bounds).sort(), ["consistency", "totality", "validity"]);
    for (const v of Object.values(bounds)) assert.ok(v >= 0 && v <= 1e-9);
    assert.equal(out.E, choose(10_000, 0.1).E);
    assert.deepEqual(JSON.parse(JSON.stringify(out)), out);
  });

  test("the table names every parameter and compares with Bracha", async () => {
    const result = await run({ nodes: "1000", byzantine: "0.2", epsilon: "0.000001" }, false);
    const text = command.human!(result);
    for (const word of [
      "gossip",
      "echo",
      "ready",
      "delivery",
      "validity",
      "consistency",
      "totality",
      "Bracha",
    ]) {
      assert.ok(text.includes(word), word);
    }
  });

  test("bad input is a usage error", async () => {
    const bad = [
      { nodes: "3", byzantine: "0.1", epsilon: "1e-9" },
      { nodes: "1e4", byzantine: "0.1", epsilon: "1e-9" },
      { nodes: "100", byzantine: "0.34", epsilon: "1e-9" },
      { nodes: "100", byzantine: "-0.1", epsilon: "1e-9" },
      { nodes: "100", byzantine: "0.1", epsilon: "0" },
      { nodes: "100", byzantine: "0.1", epsilon: "1" },
      { nodes: "100", byzantine: "a", epsilon: "0.1" },
      { byzantine: "0.1", epsilon: "0.1" },
    ];
    for (const values of bad) {
      await assert.rejects(run(values as Record<string, string>, true), UsageError, JSON.stringify(values));
    }
  });
});
