import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Network, proposalBytes } from "./committeeHarness.ts";

/** Every correct owner decided the same digest for every seq it decided (one order). */
function assertAgreement(net: Network): void {
  const correct = net.correctOwners();
  const reference = new Map<number, string>();
  for (const owner of correct) {
    for (const [seq, digest] of net.decisions[owner]!) {
      const seen = reference.get(seq);
      if (seen === undefined) reference.set(seq, digest);
      else assert.equal(digest, seen, `owner ${owner} decided another digest for seq ${seq}`);
    }
  }
}

describe("k-shared committee, k = 4, all correct", () => {
  it("decides a few requests in order on a clean network", () => {
    const net = new Network({ k: 4, seed: 1 });
    for (let n = 0; n < 5; n++) net.submit(n % 4, proposalBytes(n % 4, n), 10 + n * 5);
    net.run(30_000, () => net.allDecided(5));
    assert.ok(net.allDecided(5), `decided: ${net.decisions.map((d) => d.size)}`);
    assertAgreement(net);
  });

  for (const seed of [11, 12, 13]) {
    it(`decides 50 requests from every owner under loss, duplication and reordering (seed ${seed})`, () => {
      const net = new Network({ k: 4, seed, dropRate: 0.15, duplicateRate: 0.1, maxDelayMs: 80 });
      const submitted = new Set<string>();
      for (let n = 0; n < 50; n++) {
        const owner = Math.floor(net.random() * 4);
        const proposal = proposalBytes(owner, n);
        submitted.add(Buffer.from(proposal).toString());
        net.submit(owner, proposal, Math.floor(net.random() * 5_000));
      }
      net.run(600_000, () => net.allDecided(50));
      assert.ok(net.allDecided(50), `decided: ${net.decisions.map((d) => d.size)}`);
      assertAgreement(net);
      const digests = new Set(net.decisions[0]!.values());
      assert.equal(digests.size, 50, "each request decided exactly once");
      const lossRecovered = net.correctOwners().some((i) => net.counters(i).timeoutsSigned > 0);
      assert.ok(lossRecovered, "losses forced at least one timeout (re-send path exercised)");
    });
  }
});
