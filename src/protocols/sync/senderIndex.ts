import { bucketOfAddress, WATERMARK_BUCKETS } from "../status/watermarkSummary.ts";

/**
 * The accounts with a watermark above 0 (those that have sent), grouped by status bucket, each bucket in
 * ascending address order: what a `watermarks` sync request lists. Serving that request by walking the whole
 * ledger cost O(accounts) per page — about one second at 100,000 accounts, on the event loop, and a member may
 * ask 200 times a second. With this index a page costs O(b · log n + limit · b) for b asked buckets, whatever
 * the ledger's size.
 *
 * An account enters once, at its first verdict, and never leaves: watermarks only grow. Each bucket is a large
 * sorted list and a small one (≤ RECENT_SENDERS) of the latest senders, merged into the large one when it
 * fills: so an entry costs a binary search, a short insertion and, amortized, ≈ n / (64 · 1,024) moved
 * references, where one insertion into a list of n / 64 cost up to 131 µs at 1,000,000 accounts. Memory: one
 * reference per sender, to the ledger's own address string.
 */
export class SenderIndex {
  private readonly buckets: SenderBucket[] = Array.from({ length: WATERMARK_BUCKETS }, () => ({
    settled: [],
    recent: [],
  }));
  private count = 0;
  private readonly recentSenders: number;

  /** `recentSenders`: how many latest senders a bucket keeps apart before a merge (tests make it small). */
  constructor(recentSenders = RECENT_SENDERS) {
    this.recentSenders = recentSenders;
  }

  /** O(n log n), once at start-up: the ledger's accounts with a watermark above 0. */
  static fromWatermarks(
    watermarks: Iterable<readonly [address: string, seq: number]>,
    recentSenders = RECENT_SENDERS,
  ): SenderIndex {
    const index = new SenderIndex(recentSenders);
    for (const [address, seq] of watermarks) {
      if (seq === 0) continue;
      index.buckets[bucketOfAddress(address)]!.settled.push(address);
      index.count++;
    }
    for (const bucket of index.buckets) bucket.settled.sort(compareAddresses);
    return index;
  }

  /** Accounts listed. */
  get size(): number {
    return this.count;
  }

  /** The account's watermark left 0. Adding one already listed changes nothing. */
  add(address: string): void {
    const bucket = this.buckets[bucketOfAddress(address)]!;
    if (bucket.settled[firstAfter(bucket.settled, address, true)] === address) return;
    const at = firstAfter(bucket.recent, address, true);
    if (bucket.recent[at] === address) return;
    bucket.recent.splice(at, 0, address);
    this.count++;
    if (bucket.recent.length >= this.recentSenders) {
      bucket.settled = mergeSorted(bucket.settled, bucket.recent);
      bucket.recent = [];
    }
  }

  /**
   * Up to `limit` accounts of `buckets` (each < WATERMARK_BUCKETS, no repeats), in ascending address order,
   * strictly after `after` if given; `more` when the listing goes on past them.
   */
  page(
    buckets: readonly number[],
    after: string | undefined,
    limit: number,
  ): { addresses: string[]; more: boolean } {
    // One cursor per sorted list of the asked buckets at its first address past the cursor; a merge takes the
    // smallest head each time.
    const lists: string[][] = [];
    const cursors: number[] = [];
    for (const b of buckets) {
      const bucket = this.buckets[b];
      if (bucket === undefined) throw new RangeError(`no watermark bucket ${b}`);
      for (const list of [bucket.settled, bucket.recent]) {
        const start = after === undefined ? 0 : firstAfter(list, after, false);
        if (start < list.length) {
          lists.push(list);
          cursors.push(start);
        }
      }
    }
    const addresses: string[] = [];
    while (lists.length > 0) {
      let min = 0;
      for (let i = 1; i < lists.length; i++) {
        if (lists[i]![cursors[i]!]! < lists[min]![cursors[min]!]!) min = i;
      }
      if (addresses.length === limit) return { addresses, more: true };
      addresses.push(lists[min]![cursors[min]!]!);
      cursors[min]!++;
      if (cursors[min]! === lists[min]!.length) {
        lists.splice(min, 1);
        cursors.splice(min, 1);
      }
    }
    return { addresses, more: false };
  }
}

/** The latest senders a bucket keeps apart before merging them into its large sorted list. */
const RECENT_SENDERS = 1_024;

interface SenderBucket {
  /** Sorted; replaced (not grown in place) when the recent ones are merged in. */
  settled: string[];
  /** Sorted; fewer than `recentSenders` between merges. */
  recent: string[];
}

function compareAddresses(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One sorted list of two sorted lists with no address in common. */
function mergeSorted(a: readonly string[], b: readonly string[]): string[] {
  const out = new Array<string>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]! < b[j]! ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

/**
 * The first position in the sorted `list` whose address is above `address` — or, with `inclusive`, at or
 * above it (where it would be inserted).
 */
function firstAfter(list: readonly string[], address: string, inclusive: boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const here = list[mid]!;
    if (here < address || (!inclusive && here === address)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
