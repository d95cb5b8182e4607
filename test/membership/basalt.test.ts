import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BasaltSampler, type Candidate } from "../../src/membership/basalt.ts";
import { BoundedCandidateDigests, RankedCandidate, rankWord } from "../../src/membership/rank.ts";
import { addressGroups } from "../../src/membership/rankAddress.ts";
import { ViewOracle } from "../../src/membership/viewOracle.ts";
import { seededRandom } from "../../src/sim/prng.ts";

/** Offers `peers` ten at a time: one offer is one peer's view, capped at v + 1 entries. */
function offerAll(s: BasaltSampler, peers: readonly Candidate[]): void {
  for (let i = 0; i < peers.length; i += 10) s.offer(peers.slice(i, i + 10));
}

function sampler(seed: number, viewSize = 16, resetsPerRound = 2, flatRanks = false): BasaltSampler {
  return new BasaltSampler({ self: "me", viewSize, resetsPerRound, random: seededRandom(seed), flatRanks });
}

/** `count` peers, each on its own /16. */
function spreadPeers(count: number, prefix = "p"): Candidate[] {
  return Array.from({ length: count }, (_, i) => ({
    peerId: `${prefix}${i}`,
    ip: `${1 + (i % 200)}.${Math.floor(i / 200)}.0.1`,
  }));
}

describe("BasaltSampler", () => {
  it("is a function of its seed: same seed and offers, same view and samples", () => {
    const run = (seed: number) => {
      const s = sampler(seed);
      offerAll(s, spreadPeers(200));
      return { view: s.peers(), round: s.round() };
    };
    assert.deepEqual(run(7), run(7));
    assert.notDeepEqual(run(7).view, run(8).view);
  });

  it("converges to the minimum-rank candidates whatever the order of the offers", () => {
    const peers = spreadPeers(300);
    const forward = sampler(3);
    offerAll(forward, peers);
    const backward = sampler(3);
    offerAll(backward, [...peers].reverse());
    assert.deepEqual(forward.peers(), backward.peers());
    assert.ok(forward.peers().length >= 12, "16 slots over 300 peers hold mostly distinct peers");
  });

  it("gives a flooded identity no more slots than a single offer of it", () => {
    const peers = spreadPeers(100);
    const once = sampler(5);
    offerAll(once, [...peers, { peerId: "flooder", ip: "9.9.9.9" }]);
    const flooded = sampler(5);
    offerAll(flooded, peers);
    for (let i = 0; i < 500; i++) flooded.offer(Array(20).fill({ peerId: "flooder", ip: "9.9.9.9" }));
    const slotsOf = (s: BasaltSampler) =>
      s.has("flooder") ? s.view().filter((c) => c.peerId === "flooder").length : 0;
    assert.equal(flooded.has("flooder"), once.has("flooder"));
    assert.deepEqual(flooded.peers(), once.peers());
    assert.ok(slotsOf(flooded) <= 1);
  });

  it("lets 1,000 identities on one /24 take about one /16's share of the slots, not 10× the honest peers' share", () => {
    // 100 honest peers on 100 distinct /16s, 1,000 sybils on 203.0.113.0/24: with flat ranks the sybils
    // would hold ~1000/1100 of the slots; with hierarchical ranks their /16 is one of 101.
    const honest = spreadPeers(100, "h");
    const sybils = Array.from({ length: 1000 }, (_, i) => ({ peerId: `s${i}`, ip: `203.0.113.${i % 250}` }));
    let hierarchical = 0;
    let flat = 0;
    const trials = 20;
    for (let t = 0; t < trials; t++) {
      for (const [flatRanks, add] of [
        [false, (n: number) => (hierarchical += n)],
        [true, (n: number) => (flat += n)],
      ] as const) {
        const s = sampler(100 + t, 64, 0, flatRanks);
        offerAll(s, [...honest, ...sybils]);
        add(countSlots(s, (id) => id.startsWith("s")));
      }
    }
    const hierarchicalShare = hierarchical / (64 * trials);
    const flatShare = flat / (64 * trials);
    assert.ok(
      hierarchicalShare < 3 / 101,
      `sybils hold ${hierarchicalShare} of the slots (expected ≈ 1/101)`,
    );
    assert.ok(flatShare > 0.85, `without the hierarchy they hold ${flatShare}`);
  });

  it("refills the slots of a removed peer from the rest of the view", () => {
    const s = sampler(11, 16, 0);
    offerAll(s, spreadPeers(40));
    const victim = s.peers()[0]!;
    s.remove(victim);
    assert.equal(s.has(victim), false);
    assert.equal(s.filled, 16, "every slot holds someone again");
  });

  it("never holds, exchanges with or samples itself", () => {
    const s = sampler(13, 8, 4);
    const seen: string[] = [];
    for (let r = 0; r < 50; r++) {
      s.offer([{ peerId: "me", ip: "1.1.1.1" }, ...spreadPeers(10, `r${r}-`)]);
      const { exchangeWith, samples } = s.round();
      seen.push(...samples, ...(exchangeWith === undefined ? [] : [exchangeWith]), ...s.peers());
    }
    assert.ok(!seen.includes("me"));
    assert.ok(seen.length > 0);
  });

  it("emits the reset slots' occupants as samples and exchanges with the least-hit peer", () => {
    const s = sampler(17, 8, 2);
    const empty = s.round();
    assert.deepEqual(empty, { exchangeWith: undefined, samples: [] });
    offerAll(s, spreadPeers(30));
    const before = s.view().map((c) => c.peerId);
    const { exchangeWith, samples } = s.round();
    assert.equal(samples.length, 2);
    for (const p of samples) assert.ok(before.includes(p));
    assert.ok(exchangeWith !== undefined && before.includes(exchangeWith));
  });

  it("drops hostile entries and bounds one offer to v + 1 distinct peers", () => {
    const s = sampler(19, 4, 0);
    s.offer([{ peerId: "" }, { peerId: "x".repeat(500) }, ...spreadPeers(10)] as Candidate[]);
    assert.equal(s.dropped, 2 + (10 - 5));
  });
});

describe("hierarchical rank inputs", () => {
  it("groups IPv4 by /16 and /24, IPv6 by /32, /48 and /64, and every address-less candidate together", () => {
    assert.deepEqual(addressGroups("192.0.2.7"), ["4/16:192.0", "4/24:192.0.2", "4/32:192.0.2.7"]);
    assert.deepEqual(addressGroups("::ffff:192.0.2.7"), addressGroups("192.0.2.7"));
    assert.deepEqual(addressGroups("2001:db8:1:2::9"), [
      "6/32:2001:db8",
      "6/48:2001:db8:1",
      "6/64:2001:db8:1:2",
    ]);
    assert.deepEqual(addressGroups(undefined), addressGroups("not an address"));
  });

  it("ranks with the slot key: same key same rank, different key different rank", () => {
    const { words } = new RankedCandidate({ peerId: "a", ip: "1.2.3.4" });
    assert.equal(rankWord(1, 2, words[6]!, words[7]!), rankWord(1, 2, words[6]!, words[7]!));
    assert.notEqual(rankWord(1, 2, words[6]!, words[7]!), rankWord(1, 3, words[6]!, words[7]!));
  });

  it("on loopback (every node 127.0.0.1) ranks by peer id alone: the view still fills with distinct peers", () => {
    const s = sampler(23, 16, 0);
    offerAll(
      s,
      Array.from({ length: 100 }, (_, i) => ({ peerId: `l${i}`, ip: "127.0.0.1" })),
    );
    assert.ok(s.peers().length >= 12);
  });
});

describe("ViewOracle", () => {
  it("draws from the sampler's current view, with and without replacement", () => {
    const s = sampler(29, 16, 0);
    offerAll(s, spreadPeers(50));
    const oracle = new ViewOracle({ view: s, isMember: () => true, random: seededRandom(1) });
    const view = new Set(s.peers());
    assert.equal(oracle.size, view.size);
    for (const p of oracle.sample(100)) assert.ok(view.has(p));
    const distinct = oracle.distinct(1000);
    assert.equal(new Set(distinct).size, view.size);
    assert.deepEqual(
      new ViewOracle({ view: () => [], isMember: () => false, random: Math.random }).sample(3),
      [],
    );
  });
});

function countSlots(s: BasaltSampler, matches: (id: string) => boolean): number {
  // Distinct peers, as the ViewOracle draws them.
  let n = 0;
  const view = s.view().map((c) => c.peerId);
  for (const id of view) if (matches(id)) n++;
  return n;
}

describe("BasaltSampler fed from known identities", () => {
  const viewSize = 32;
  const known = spreadPeers(500, "k").map((c) => new RankedCandidate(c));

  /** Slot seeds as the sampler draws them: 2 words per slot at construction, then 2 per reset. */
  function seedStream(seed: number) {
    const random = seededRandom(seed);
    return () => [Math.floor(random() * 2 ** 32), Math.floor(random() * 2 ** 32)] as const;
  }

  /** The minimum-rank candidate under (key0, key1), by brute force over `pool`. */
  function minimumRank(pool: readonly RankedCandidate[], [key0, key1]: readonly [number, number]): string {
    const below = (a: RankedCandidate, b: RankedCandidate): boolean => {
      for (let level = 0; level < 4; level++) {
        const [ahi, alo, bhi, blo] = [
          a.words[2 * level]!,
          a.words[2 * level + 1]!,
          b.words[2 * level]!,
          b.words[2 * level + 1]!,
        ];
        if (ahi === bhi && alo === blo) continue;
        const ra = rankWord(key0, key1, ahi, alo);
        const rb = rankWord(key0, key1, bhi, blo);
        if (ra !== rb) return ra < rb;
      }
      return a.peerId < b.peerId;
    };
    return pool.reduce((best, c) => (below(c, best) ? c : best)).peerId;
  }

  it("refills every reset slot with the minimum rank over all known identities", () => {
    const s = new BasaltSampler({
      self: "me",
      viewSize,
      resetsPerRound: viewSize,
      random: seededRandom(41),
      known: () => known,
    });
    s.offer(known.slice(0, 20));
    s.round();
    const draw = seedStream(41);
    for (let i = 0; i < viewSize; i++) draw();
    const expected = Array.from({ length: viewSize }, () => minimumRank(known, draw()));
    assert.deepEqual(slotOccupants(s), expected);
  });

  it("with k = 2 every slot holds its known minimum once each slot has been reset (v/k rounds)", () => {
    const s = new BasaltSampler({
      self: "me",
      viewSize,
      resetsPerRound: 2,
      random: seededRandom(43),
      known: () => known,
    });
    for (let r = 0; r < viewSize / 2; r++) s.round();
    const draw = seedStream(43);
    for (let i = 0; i < viewSize; i++) draw();
    const expected = Array.from({ length: viewSize }, () => minimumRank(known, draw()));
    assert.deepEqual(slotOccupants(s), expected);
  });

  it("refills a removed peer's slots from known identities, never with the removed peer", () => {
    const s = new BasaltSampler({
      self: "me",
      viewSize,
      resetsPerRound: viewSize,
      random: seededRandom(47),
      known: () => known,
    });
    s.round();
    const draw = seedStream(47);
    for (let i = 0; i < viewSize; i++) draw();
    const seeds = Array.from({ length: viewSize }, () => draw());
    const victim = slotOccupants(s)[0]!;
    s.remove(victim);
    const rest = known.filter((c) => c.peerId !== victim);
    assert.deepEqual(
      slotOccupants(s),
      seeds.map((seed) => minimumRank(rest, seed)),
    );
    assert.equal(s.has(victim), false);
  });

  it("leaves offer() capped at v + 1 distinct peers and ignores self in known", () => {
    const s = new BasaltSampler({
      self: "me",
      viewSize: 4,
      resetsPerRound: 4,
      random: seededRandom(53),
      known: () => [{ peerId: "me", ip: "1.1.1.1" }, ...known],
    });
    s.offer(spreadPeers(50, "o"));
    assert.equal(s.dropped, 50 - 5);
    s.round();
    assert.equal(s.dropped, 50 - 5, "known identities are not offers: nothing dropped");
    assert.ok(!s.has("me"));
    assert.equal(s.filled, 4);
  });

  it("digests known identities in their own table: once each (4 SHA-256), not once per round", () => {
    let lookups = 0;
    const made = new Set<RankedCandidate>();
    const table = new BoundedCandidateDigests(10_000);
    const counting = {
      ranked: (c: Candidate) => {
        lookups++;
        const ranked = table.ranked(c);
        made.add(ranked);
        return ranked;
      },
    };
    const plain = spreadPeers(2_000, "q");
    const s = new BasaltSampler({
      self: "me",
      viewSize,
      resetsPerRound: 2,
      random: seededRandom(59),
      known: () => plain,
      knownDigests: counting,
    });
    for (let r = 0; r < 5; r++) s.round();
    assert.equal(
      lookups,
      5 * 2_000,
      "every known identity goes through the known table, not the view's cache",
    );
    assert.equal(made.size, 2_000, "and is digested only the first time");
    assert.equal(s.filled, 10);
  });
});

describe("BasaltSampler: the view handed out", () => {
  it("is built once until a slot changes, and an earlier copy is never altered", () => {
    const s = sampler(61);
    offerAll(s, spreadPeers(40));
    const first = s.peers();
    assert.equal(s.peers(), first, "no slot changed: the same array");
    const snapshot = [...first];
    s.remove(first[0]!);
    const after = s.peers();
    assert.notEqual(after, first);
    assert.ok(!after.includes(first[0]!));
    assert.deepEqual(first, snapshot, "the copy a caller holds is left as it was");
    s.round();
    assert.deepEqual(
      [...s.peers()],
      [...new Set(slotOccupants(s).filter((p) => p !== ""))],
      "after a round: the distinct occupants in slot order",
    );
  });

  it("a ViewOracle over it sees every change at once", () => {
    const s = sampler(67, 8, 2);
    const oracle = new ViewOracle({ view: s, isMember: () => true, random: seededRandom(3) });
    assert.equal(oracle.size, 0);
    assert.deepEqual(oracle.sample(3), []);
    offerAll(s, spreadPeers(3));
    assert.equal(oracle.size, 3);
    s.remove("p1");
    assert.equal(oracle.size, 2);
    for (let i = 0; i < 50; i++) assert.ok(!oracle.sample(4).includes("p1"), "a removed peer is never drawn");
    assert.deepEqual(new Set(oracle.distinct(5)), new Set(["p0", "p2"]));
  });
});

/** Slot i's occupant, in slot order, with repeats (a peer may win several slots). */
function slotOccupants(s: BasaltSampler): string[] {
  return (s as unknown as { slots: (Candidate | undefined)[] }).slots.map((c) => c?.peerId ?? "");
}
