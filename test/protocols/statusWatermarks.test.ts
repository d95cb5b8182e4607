import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { AddressVersion, decodeAddress, encodeAddress } from "../../src/core/address.ts";
import { type ErrorCode, isTallyError } from "../../src/core/errors.ts";
import { encodeStatusResponse } from "../../src/protocols/status/statusMessages.ts";
import {
  bucketOfAddress,
  differingBuckets,
  snapshotTotals,
  WATERMARK_BUCKETS,
  WatermarkSummary,
} from "../../src/protocols/status/watermarkSummary.ts";

function addressOf(n: number): string {
  const key = new Uint8Array(32);
  new DataView(key.buffer).setUint32(0, n);
  return encodeAddress(AddressVersion.Ed25519, key);
}

const ADDRESSES = Array.from({ length: 40 }, (_, i) => addressOf(i));

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => isTallyError(e, code), `expected ${code}`);
}

/** Random ledger histories: each step resolves the next seq of one of the accounts. */
const historyArb = fc.array(fc.nat(ADDRESSES.length - 1), { maxLength: 200 });

function finalWatermarks(history: readonly number[]): Map<string, number> {
  const seqs = new Map<string, number>();
  for (const i of history) seqs.set(ADDRESSES[i]!, (seqs.get(ADDRESSES[i]!) ?? 0) + 1);
  return seqs;
}

/** The documented digest, computed the slow way: Σ SHA-256(tag ‖ address bytes ‖ u64 seq) mod 2^256, as hex. */
function referenceDigest(pairs: readonly (readonly [string, number])[]): string {
  let sum = 0n;
  for (const [address, seq] of pairs) {
    const seqBytes = Buffer.alloc(8);
    seqBytes.writeBigUInt64BE(BigInt(seq));
    const h = createHash("sha256")
      .update("tally/status/watermark/v1")
      .update(decodeAddress(address).bytes)
      .update(seqBytes)
      .digest("hex");
    sum = (sum + BigInt(`0x${h}`)) % (1n << 256n);
  }
  return sum.toString(16).padStart(64, "0");
}

/** A summary advanced one resolved transfer at a time along `history`, and the final watermarks. */
function advancedStepByStep(history: readonly number[]): {
  summary: WatermarkSummary;
  seqs: Map<string, number>;
} {
  const summary = new WatermarkSummary();
  const seqs = new Map<string, number>();
  for (const i of history) {
    const address = ADDRESSES[i]!;
    const seq = (seqs.get(address) ?? 0) + 1;
    summary.advance(address, seq - 1, seq);
    seqs.set(address, seq);
  }
  return { summary, seqs };
}

describe("watermark summary", () => {
  it("digests each bucket as the documented sum of pair hashes mod 2^256, whatever the path", () => {
    fc.assert(
      fc.property(historyArb, (history) => {
        const { summary, seqs } = advancedStepByStep(history);
        const byBucket = new Map<number, [string, number][]>();
        for (const [address, seq] of seqs) {
          const b = bucketOfAddress(address);
          byBucket.set(b, [...(byBucket.get(b) ?? []), [address, seq]]);
        }
        summary.snapshot().buckets.forEach((bucket, b) => {
          assert.equal(bucket.digest, referenceDigest(byBucket.get(b) ?? []));
        });
      }),
      { numRuns: 100 },
    );
  });

  it("advanced step by step equals the summary built from the final watermarks", () => {
    fc.assert(
      fc.property(historyArb, (history) => {
        const { summary: incremental, seqs } = advancedStepByStep(history);
        const rebuilt = WatermarkSummary.fromWatermarks(seqs);
        assert.deepEqual(incremental.snapshot(), rebuilt.snapshot());
        assert.deepEqual(differingBuckets(incremental.snapshot(), rebuilt.snapshot()), []);
        assert.equal(incremental.totalAccounts, seqs.size);
        assert.equal(incremental.totalSeqSum, BigInt(history.length));
        incremental.snapshot().buckets.forEach((b, i) => {
          assert.equal(incremental.seqSumOf(i), b.seqSum);
        });
      }),
      { numRuns: 100 },
    );
  });

  it("does not depend on the order watermarks arrive in, and ignores accounts still at 0", () => {
    fc.assert(
      fc.property(historyArb, fc.integer(), (history, seed) => {
        const entries = [...finalWatermarks(history)];
        const shuffled = fc.sample(fc.shuffledSubarray(entries, { minLength: entries.length }), {
          numRuns: 1,
          seed,
        })[0]!;
        const withZeros = [...shuffled, [addressOf(1000), 0] as [string, number]];
        assert.deepEqual(
          WatermarkSummary.fromWatermarks(entries).snapshot(),
          WatermarkSummary.fromWatermarks(withZeros).snapshot(),
        );
      }),
      { numRuns: 50 },
    );
  });

  it("points at exactly the buckets of the accounts two ledgers disagree on", () => {
    fc.assert(
      fc.property(
        historyArb,
        fc.uniqueArray(fc.nat(ADDRESSES.length - 1), { maxLength: 5 }),
        (history, behind) => {
          const ours = finalWatermarks(history);
          const theirs = new Map(ours);
          for (const i of behind) {
            const address = ADDRESSES[i]!;
            theirs.set(address, (ours.get(address) ?? 0) + 1 + i);
          }
          const expected = [...new Set(behind.map((i) => bucketOfAddress(ADDRESSES[i]!)))].sort(
            (a, b) => a - b,
          );
          const diff = differingBuckets(
            WatermarkSummary.fromWatermarks(ours).snapshot(),
            WatermarkSummary.fromWatermarks(theirs).snapshot(),
          );
          assert.deepEqual(diff, expected);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("tells apart two ledgers with equal counts and sums but different watermarks", () => {
    // Two accounts of one bucket: (a: 2, b: 1) and (a: 1, b: 2) agree on count and sum.
    const firstOfBucket = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (const address of ADDRESSES) {
      const other = firstOfBucket.get(bucketOfAddress(address));
      if (other !== undefined) pair = [other, address];
      firstOfBucket.set(bucketOfAddress(address), address);
    }
    assert.ok(pair !== undefined, "40 addresses over 64 buckets: some pair shares one");
    const [a, b] = pair;
    const bucket = bucketOfAddress(a);
    const x = WatermarkSummary.fromWatermarks([
      [a, 2],
      [b, 1],
    ]).snapshot();
    const y = WatermarkSummary.fromWatermarks([
      [a, 1],
      [b, 2],
    ]).snapshot();
    assert.equal(x.buckets[bucket]!.seqSum, y.buckets[bucket]!.seqSum);
    assert.deepEqual(differingBuckets(x, y), [bucket]);
  });

  it("stays the same size on the wire whatever the number of accounts", () => {
    const wire = (summary: WatermarkSummary): number =>
      encodeStatusResponse({
        network: "tally-devnet",
        genesis: "00".repeat(32),
        protocols: [{ id: 1, version: 1 }],
        watermarks: summary.snapshot(),
      }).length;
    const many = WatermarkSummary.fromWatermarks(
      Array.from({ length: 20_000 }, (_, i) => [addressOf(i), 1 + (i % 50)] as const),
    );
    assert.equal(many.snapshot().buckets.length, WATERMARK_BUCKETS);
    assert.equal(wire(many), wire(new WatermarkSummary()));
    assert.ok(wire(many) <= 3010);
    assert.deepEqual(snapshotTotals(many.snapshot()), { accounts: 20_000, seqSum: many.totalSeqSum });
  });

  it("hands out frozen snapshots that later changes leave untouched", () => {
    const summary = WatermarkSummary.fromWatermarks([[ADDRESSES[0]!, 3]]);
    const before = summary.snapshot();
    assert.equal(summary.snapshot(), before, "no change, no rebuild");
    assert.ok(
      Object.isFrozen(before) && Object.isFrozen(before.buckets) && Object.isFrozen(before.buckets[0]),
    );
    summary.advance(ADDRESSES[0]!, 3, 4);
    const after = summary.snapshot();
    assert.notEqual(after, before);
    assert.deepEqual(differingBuckets(before, after), [bucketOfAddress(ADDRESSES[0]!)]);
    summary.advance(ADDRESSES[0]!, 4, 4);
    assert.equal(summary.snapshot(), after, "a no-op advance keeps the snapshot");
  });

  it("refuses impossible moves with typed errors and leaves the summary as it was", () => {
    const summary = WatermarkSummary.fromWatermarks([[ADDRESSES[0]!, 3]]);
    const before = summary.snapshot();
    throwsCode(() => summary.advance(ADDRESSES[0]!, 3, 2), "INVALID_FIELD");
    throwsCode(() => summary.advance(ADDRESSES[0]!, -1, 2), "INVALID_FIELD");
    throwsCode(() => summary.advance(ADDRESSES[0]!, 3, 3.5), "INVALID_FIELD");
    throwsCode(() => summary.advance(ADDRESSES[0]!, 3, Number.MAX_SAFE_INTEGER + 1), "INVALID_FIELD");
    throwsCode(() => summary.advance("tly1notanaddress", 0, 1), "INVALID_ADDRESS");
    assert.equal(summary.snapshot(), before);
  });

  it("refuses to compare snapshots of different shapes", () => {
    const full = new WatermarkSummary().snapshot();
    throwsCode(() => differingBuckets(full, { buckets: full.buckets.slice(1) }), "INVALID_FIELD");
  });
});
