import { bucketOfAddress, WATERMARK_BUCKETS } from "../status/watermarkSummary.ts";

/**
 * The accounts with a watermark above 0 (those that have sent), grouped by status bucket, each bucket in
 * ascending address order: what a `watermarks` sync request lists. Serving that request by walking the whole
 * ledger cost O(accounts) per page — about one second at 100,000 accounts, on the event loop, and a member may
 * ask 200 times a second. With this index a page costs O(b · log n + limit · b) for b asked buckets, whatever
 * the ledger's size.
 *
 * An account enters once, at its first verdict (binary search and one splice, O(n / 64) moved references),
 * and never leaves: watermarks only grow. Memory: one reference per sender, to the ledger's own address string.
 */
export class SenderIndex {
  private readonly buckets: string[][] = Array.from({ length: WATERMARK_BUCKETS }, () => []);
  private count = 0;

  /** O(n log n), once at start-up: the ledger's accounts with a watermark above 0. */
  static fromWatermarks(watermarks: Iterable<readonly [address: string, seq: number]>): SenderIndex {
    const index = new SenderIndex();
    for (const [address, seq] of watermarks) {
      if (seq === 0) continue;
      index.buckets[bucketOfAddress(address)]!.push(address);
      index.count++;
    }
    for (const bucket of index.buckets) bucket.sort(compareAddresses);
    return index;
  }

  /** Accounts listed. */
  get size(): number {
    return this.count;
  }

  /** The account's watermark left 0. Adding one already listed changes nothing. */
  add(address: string): void {
    const bucket = this.buckets[bucketOfAddress(address)]!;
    const at = firstAfter(bucket, address, true);
    if (bucket[at] === address) return;
    bucket.splice(at, 0, address);
    this.count++;
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
    // One cursor per asked bucket at its first address past the cursor; a merge takes the smallest head.
    const lists: string[][] = [];
    const cursors: number[] = [];
    for (const b of buckets) {
      const list = this.buckets[b];
      if (list === undefined) throw new RangeError(`no watermark bucket ${b}`);
      const start = after === undefined ? 0 : firstAfter(list, after, false);
      if (start < list.length) {
        lists.push(list);
        cursors.push(start);
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

function compareAddresses(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
