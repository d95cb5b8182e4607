import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toHex } from "../../src/core/bytes.ts";
import { requestDigest } from "../../src/kshared/requestDigest.ts";
import { equivocatingThenSilent, splittingColluders } from "./committeeAdversaries.ts";
import { Network, proposalBytes } from "./committeeHarness.ts";

/** seq → the distinct digests correct owners decided for it. */
function decidedDigests(net: Network): Map<number, Set<string>> {
  const bySeq = new Map<number, Set<string>>();
  for (const owner of net.correctOwners()) {
    for (const [seq, digest] of net.decisions[owner]!) {
      const digests = bySeq.get(seq) ?? new Set();
      digests.add(digest);
      bySeq.set(seq, digests);
    }
  }
  return bySeq;
}

function conflictingSeqs(net: Network): number[] {
  return [...decidedDigests(net)].filter(([, digests]) => digests.size > 1).map(([seq]) => seq);
}

describe("k-shared committee with one Byzantine owner of 4", () => {
  for (const seed of [21, 22]) {
    it(`an equivocating, then silent, owner delays but never blocks a correct owner's request (seed ${seed})`, () => {
      const byzantine = 0;
      const net = new Network({
        k: 4,
        seed,
        dropRate: 0.05,
        maxDelayMs: 40,
        adversaries: new Map([[byzantine, equivocatingThenSilent([1], 8_000)]]),
      });
      const wanted: string[] = [];
      for (let n = 0; n < 30; n++) {
        const owner = 1 + (n % 3);
        const proposal = proposalBytes(owner, n);
        wanted.push(toHex(requestDigest(owner, proposal)));
        net.submit(owner, proposal, n * 500);
      }
      const allIn = () =>
        net.correctOwners().every((i) => wanted.every((d) => [...net.decisions[i]!.values()].includes(d)));
      net.run(900_000, allIn);
      assert.ok(allIn(), `decided: ${net.decisions.map((d) => d.size)}`);
      assert.deepEqual(conflictingSeqs(net), []);
      const correct = net.correctOwners();
      const evidence = correct.flatMap((i) => net.nodes[i]!.evidence());
      assert.ok(
        evidence.some((e) => e.kind === "proposal"),
        "a correct owner caught the two proposals",
      );
      assert.ok(
        evidence.some((e) => e.kind === "vote" && e.first.voter === byzantine),
        "and the two prepares",
      );
      const rounds = Math.max(...correct.map((i) => net.counters(i).roundsEntered));
      assert.ok(rounds > 0, "the silent leader's rounds were skipped by timeout certificates");
    });
  }
});

describe("k-shared committee with two colluding owners that tell two groups two stories", () => {
  it("k = 4 (2 > f = 1): the bound is tight, two correct owners can decide different digests", () => {
    const net = new Network({
      k: 4,
      seed: 31,
      maxDelayMs: 20,
      adversaries: (() => {
        const colluders = splittingColluders([[2], [3]]);
        return new Map([
          [0, colluders],
          [1, colluders],
        ]);
      })(),
    });
    net.submit(2, proposalBytes(2, 0), 10);
    net.submit(3, proposalBytes(3, 0), 10);
    net.run(20_000, () => conflictingSeqs(net).length > 0);
    assert.deepEqual(conflictingSeqs(net), [0], "with f+1 Byzantine owners quorums meet only in liars");
  });

  for (const seed of [41, 42, 43]) {
    it(`k = 7 (2 = f): never two digests decided for one seq, whatever the split (seed ${seed})`, () => {
      const colluders = splittingColluders([
        [2, 3, 4],
        [5, 6],
      ]);
      const net = new Network({
        k: 7,
        seed,
        dropRate: 0.05,
        maxDelayMs: 40,
        adversaries: new Map([
          [0, colluders],
          [1, colluders],
        ]),
      });
      for (let n = 0; n < 20; n++) net.submit(2 + (n % 5), proposalBytes(2 + (n % 5), n), n * 300);
      net.run(300_000, () => net.allDecided(20));
      assert.deepEqual(conflictingSeqs(net), []);
      assert.ok(
        net.correctOwners().some((i) => net.decisions[i]!.size > 0),
        "progress was made",
      );
      // The attack happened: correct owners prepared digests that were never decided (the second story).
      const decided = new Set([...decidedDigests(net).values()].flatMap((d) => [...d]));
      const fooled = net
        .correctOwners()
        .flatMap((i) => net.sentVotes[i]!)
        .filter((v) => v.phase === "prepare" && !decided.has(toHex(v.digest)));
      assert.ok(fooled.length > 0, "some correct owner prepared a colluders' second story");
    });
  }
});
