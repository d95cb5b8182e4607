import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { encodeAddress } from "../../src/core/address.ts";
import { WATERMARK_BUCKETS } from "../../src/protocols/status/watermarkSummary.ts";
import { SenderIndex } from "../../src/protocols/sync/senderIndex.ts";
import { scanWatermarkPage } from "../support/watermarkListing.ts";

const address = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((key) => encodeAddress(0, key));
/** Strictly ascending, distinct bucket numbers: what the sync codec lets through. */
const buckets = fc
  .uniqueArray(fc.integer({ min: 0, max: WATERMARK_BUCKETS - 1 }), {
    minLength: 1,
    maxLength: WATERMARK_BUCKETS,
  })
  .map((b) => b.sort((x, y) => x - y));

/** A ledger's watermarks: some accounts at 0 (received only), the rest have sent. */
const ledger = fc.array(fc.tuple(address, fc.integer({ min: 0, max: 3 })), { maxLength: 300 });

describe("sender index", () => {
  it("lists exactly what a scan of the whole ledger lists, for any buckets, cursor and page size", () => {
    fc.assert(
      fc.property(
        ledger,
        ledger,
        buckets,
        fc.option(fc.oneof(address, fc.nat()), { nil: undefined }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 8 }),
        (atStart, later, asked, cursorPick, limit, recentSenders) => {
          // Some accounts are known at start-up, the others leave watermark 0 while the node runs; a bucket's
          // latest senders are merged into its sorted list every `recentSenders` (1,024 in the node).
          const index = SenderIndex.fromWatermarks(atStart, recentSenders);
          for (const [a, seq] of later) if (seq > 0) index.add(a);
          const all = [...atStart, ...later];
          // The cursor: an address of the ledger (as a client continues a listing) or any address.
          const after =
            typeof cursorPick === "number" ? all[cursorPick % Math.max(1, all.length)]?.[0] : cursorPick;
          assert.deepEqual(index.page(asked, after, limit), scanWatermarkPage(all, asked, after, limit));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("pages through a listing with the last address as the cursor: every sender once, in order", () => {
    fc.assert(
      fc.property(ledger, buckets, fc.integer({ min: 1, max: 25 }), (accounts, asked, limit) => {
        const index = SenderIndex.fromWatermarks(accounts);
        const seen: string[] = [];
        let after: string | undefined;
        for (let pages = 1; ; pages++) {
          assert.ok(pages <= accounts.length + 1, "the listing ends: each page moves the cursor on");
          const { addresses, more } = index.page(asked, after, limit);
          seen.push(...addresses);
          if (!more) break;
          assert.equal(addresses.length, limit, "a page that says more is full");
          after = addresses.at(-1);
        }
        assert.deepEqual(
          seen,
          scanWatermarkPage(accounts, asked, undefined, Number.MAX_SAFE_INTEGER).addresses,
        );
      }),
      { numRuns: 300 },
    );
  });

  it("counts each sender once, however often it is added", () => {
    const a = encodeAddress(0, new Uint8Array(32).fill(7));
    const b = encodeAddress(0, new Uint8Array(32).fill(9));
    const index = SenderIndex.fromWatermarks([
      [a, 3],
      [b, 0],
    ]);
    index.add(a);
    index.add(b);
    index.add(b);
    assert.equal(index.size, 2);
    const everyBucket = Array.from({ length: WATERMARK_BUCKETS }, (_, i) => i);
    assert.deepEqual(index.page(everyBucket, undefined, 10).addresses, [a, b].sort());
  });

  it("refuses a bucket that does not exist instead of listing nothing", () => {
    assert.throws(() => new SenderIndex().page([WATERMARK_BUCKETS], undefined, 10), RangeError);
  });
});
