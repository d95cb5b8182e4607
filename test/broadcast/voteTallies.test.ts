/**
 * The contagion tallies against a plain model: whatever the order of votes, the peers, the digests (an
 * equivocating source makes several) and the sample refreshes, each digest weighs the sum of its voters'
 * multiplicities, a peer's second ECHO never counts, and a peer's READYs stop at its cap.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { EchoTally } from "../../src/broadcast/contagion/contagionEcho.ts";
import { ReadyTally } from "../../src/broadcast/contagion/contagionReady.ts";
import type { PeerId } from "../../src/core/peerId.ts";

const peer = fc.constantFrom(..."abcdef".split("")).map((p) => p as unknown as PeerId);
const digest = fc.constantFrom("d1", "d2", "d3");
const multiplicity = fc.integer({ min: 1, max: 4 });

describe("echo tally", () => {
  it("weighs each digest by the multiplicities of the peers whose first ECHO it was, across refreshes", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("vote" as const), peer, digest, m: multiplicity }),
      fc.record({ kind: fc.constant("reweigh" as const), peer, now: fc.integer({ min: 0, max: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const tally = new EchoTally();
        const model = new Map<PeerId, { digest: string; m: number }>();
        const weightOf = (d: string) =>
          [...model.values()].reduce((w, v) => w + (v.digest === d ? v.m : 0), 0);
        for (const o of ops) {
          if (o.kind === "vote") {
            const result = tally.add(o.peer, o.digest, o.m);
            if (model.has(o.peer)) assert.equal(result, undefined);
            else {
              model.set(o.peer, { digest: o.digest, m: o.m });
              assert.equal(result, weightOf(o.digest));
            }
          } else {
            const voted = model.get(o.peer);
            tally.reweigh(o.peer, voted?.m ?? 0, o.now);
            if (voted !== undefined) {
              if (o.now === 0) model.delete(o.peer);
              else voted.m = o.now;
            }
          }
          for (const d of ["d1", "d2", "d3"]) {
            assert.equal(tally.weight(d), weightOf(d), d);
            const voters = [...model].filter(([, v]) => v.digest === d).map(([p]) => p);
            assert.deepEqual(tally.votersFor(d).sort(), voters.sort());
          }
        }
      }),
    );
  });
});

describe("ready tally", () => {
  it("weighs each digest in R and D by its voters, each peer capped at its digests", () => {
    const CAP = 2;
    const vote = fc.record({
      peer,
      digest,
      r: fc.integer({ min: 0, max: 3 }),
      d: fc.integer({ min: 0, max: 3 }),
    });
    fc.assert(
      fc.property(fc.array(vote, { maxLength: 60 }), (votes) => {
        const tally = new ReadyTally();
        const byPeer = new Map<PeerId, string[]>();
        const weights = new Map<string, { ready: number; delivery: number }>();
        for (const v of votes) {
          const result = tally.add(v.peer, v.digest, v.r, v.d, CAP);
          const held = byPeer.get(v.peer) ?? [];
          if (held.includes(v.digest)) assert.equal(result, "duplicate");
          else if (held.length >= CAP) assert.equal(result, "capped");
          else {
            byPeer.set(v.peer, [...held, v.digest]);
            const w = weights.get(v.digest) ?? { ready: 0, delivery: 0 };
            w.ready += v.r;
            w.delivery += v.d;
            weights.set(v.digest, w);
            assert.deepEqual(result, w);
          }
          assert.deepEqual(tally.digests(), [...weights.keys()], "first seen first");
          for (const d of ["d1", "d2", "d3"]) {
            assert.equal(tally.readyWeight(d), weights.get(d)?.ready ?? 0);
            assert.equal(tally.deliveryWeight(d), weights.get(d)?.delivery ?? 0);
          }
          for (const p of "abcdef")
            assert.equal(tally.has(p as unknown as PeerId), byPeer.has(p as unknown as PeerId));
        }
      }),
    );
  });

  it("re-weighs a refreshed peer's every digest, and forgets it once it is in no sample", () => {
    const tally = new ReadyTally();
    const p = "p" as unknown as PeerId;
    tally.add(p, "d1", 2, 1, 4);
    tally.add(p, "d2", 2, 1, 4);
    tally.reweigh(p, -1, 1, true);
    assert.deepEqual([tally.readyWeight("d1"), tally.deliveryWeight("d1")], [1, 2]);
    assert.deepEqual([tally.readyWeight("d2"), tally.deliveryWeight("d2")], [1, 2]);
    tally.reweigh(p, -1, -2, false);
    assert.equal(tally.has(p), false);
    assert.deepEqual(tally.votersFor("d1"), []);
    assert.equal(tally.readyWeight("d1"), 0);
  });
});
