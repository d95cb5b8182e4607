import assert from "node:assert/strict";
import { test } from "node:test";
import { ContagionSamples } from "../../src/broadcast/contagion/contagionSamples.ts";
import { ViewOracle } from "../../src/membership/viewOracle.ts";
import { seededRandom } from "./harness.ts";
import { OPEN_DEVNET_PARAMS } from "./openNetwork.ts";

const VIEW = ["p1", "p2", "p3", "p4", "p5", "p6"];
const REFRESHES = 50; // 100 s of an open devnet's 2-s refresh
const TRIALS = 200;

/** The share of the echo sample held by its three heaviest peers of six: 1/2 when weights are even. */
function topThreeShare(multiplicities: readonly number[], draws: number): number {
  const sorted = [...multiplicities].sort((a, b) => b - a);
  return (sorted[0]! + sorted[1]! + sorted[2]!) / draws;
}

test("a refreshed sample keeps its weights even: three peers of six never approach Ê's 72 %", (t) => {
  const { E, Ehat, R, D } = OPEN_DEVNET_PARAMS;
  const random = seededRandom(5);
  const oracle = new ViewOracle({ view: () => VIEW, isMember: () => true, random });
  let largest = 0;
  let driftedLargest = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    const samples = new ContagionSamples(oracle, { E, R, D });
    for (let refresh = 0; refresh < REFRESHES; refresh++) samples.refresh(1 / 16, oracle, random);
    largest = Math.max(
      largest,
      topThreeShare(
        VIEW.map((p) => samples.echo.multiplicity(p)),
        E,
      ),
    );
    // The refresh this replaced: every draw of one distinct peer redrawn at a time.
    const m = VIEW.map(() => 0);
    for (const peer of oracle.sample(E)) m[VIEW.indexOf(peer)]!++;
    for (let refresh = 0; refresh < REFRESHES; refresh++) {
      const present = VIEW.flatMap((_, i) => (m[i]! > 0 ? [i] : []));
      const picked = present[Math.floor(random() * present.length)]!;
      const draws = m[picked]!;
      m[picked] = 0;
      for (const peer of oracle.sample(draws)) m[VIEW.indexOf(peer)]!++;
    }
    driftedLargest = Math.max(driftedLargest, topThreeShare(m, E));
  }
  t.diagnostic(
    `after ${REFRESHES} refreshes, largest share of 3 peers of 6 in ${TRIALS} trials: ${largest.toFixed(3)} ` +
      `(one peer's draws at a time: ${driftedLargest.toFixed(3)}; Ê/E = ${(Ehat / E).toFixed(3)})`,
  );
  assert.ok(largest < 0.6, `three peers held ${largest} of a refreshed sample`);
  assert.ok(driftedLargest >= Ehat / E, "the old refresh's drift is what this guards against");
});
