import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { WatermarkSummary } from "../../src/protocols/status/watermarkSummary.ts";
import { CatchUp, type CatchUpLedger } from "../../src/protocols/sync/catchUp.ts";
import { kthHighest, TrustedClaims } from "../../src/protocols/sync/trustedClaims.ts";
import { seededRandom } from "../../src/sim/prng.ts";
import { testKey } from "../support/fixtures.ts";

const byHighest = (values: readonly bigint[]) => [...values].sort((x, y) => (x > y ? -1 : x < y ? 1 : 0));

function snapshotOf(watermarks: readonly (readonly [string, number])[]) {
  return WatermarkSummary.fromWatermarks(watermarks).snapshot();
}

describe("trusted claims: the (f+1)-th highest seq sum per bucket", () => {
  it("kthHighest is the sorted list's k-th entry, duplicates included, on both sides of the small-k pass", () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: 50n }), { minLength: 1, maxLength: 40 }),
        fc.nat(),
        (values, pick) => {
          const k = 1 + (pick % values.length);
          assert.equal(kthHighest(values, k), byHighest(values)[k - 1]);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("are computed once per change of the peers' claims, not once per read", () => {
    const claims = new TrustedClaims();
    const a = snapshotOf([[testKey(1).address, 5]]);
    const b = snapshotOf([[testKey(1).address, 9]]);
    let listed = 0;
    const current = [a, b];
    const snapshots = () => {
      listed++;
      return current;
    };
    assert.equal(
      claims.of(() => [a], 1),
      undefined,
      "one claim is not enough to trust with f = 1",
    );
    const first = claims.of(snapshots, 1);
    for (let read = 0; read < 100; read++) assert.equal(claims.of(snapshots, 1), first);
    assert.equal(listed, 1);
    current.push(b);
    claims.invalidate();
    const second = claims.of(snapshots, 1)!;
    assert.equal(listed, 2);
    assert.ok(
      second.some((sum, bucket) => sum !== first![bucket]),
      "a new claim is seen after invalidate",
    );
  });

  it("catch-up's `behind` follows each status as it arrives and as a peer leaves", () => {
    const mine = new WatermarkSummary();
    const ledger: CatchUpLedger = {
      seqSumOf: (bucket) => mine.seqSumOf(bucket),
      watermarkOf: () => 0,
      isSlotTaken: () => false,
    };
    const catchUp = new CatchUp(ledger, {
      isPeer: () => true,
      sampleSize: 3,
      threshold: 2,
      f: 1,
      random: seededRandom(1),
    });
    const account = testKey(7).address;
    catchUp.onStatus("p1", snapshotOf([[account, 10]]), 0);
    assert.equal(catchUp.progress().behind, 0, "one peer's word is not trusted");
    catchUp.onStatus("p2", snapshotOf([[account, 4]]), 0);
    assert.equal(catchUp.progress().behind, 4, "the second highest claim: 4 behind");
    catchUp.onStatus("p2", snapshotOf([[account, 8]]), 0);
    assert.equal(catchUp.progress().behind, 8, "p2's newer claim replaces its older one");
    catchUp.onStatus("p3", snapshotOf([[account, 12]]), 0);
    assert.equal(catchUp.progress().behind, 10, "now p1's 10 is the second highest");
    catchUp.peerDown("p1");
    assert.equal(catchUp.progress().behind, 8, "p1 left: p2's 8");
  });
});
