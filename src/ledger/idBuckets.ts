/**
 * A set of transfer ids (64 lowercase hex characters, SHA-256: uniform) that answers "the smallest `limit`
 * ids, ascending" without sorting the whole set: ids are kept in 256 buckets by their first byte, whose order
 * is the ids' string order, and a query sorts only the buckets it takes from — about ⌈limit / (n / 256)⌉ of
 * them, each of ≈ n / 256 ids. Adding and deleting are O(1).
 *
 * For an account's unreferenced payments (`GET /v1/accounts/:address` lists the smallest 256 as
 * `pendingDeps`): sorting all of them cost 40–57 ms per request at 100,000, and anyone can pay any address
 * many small outputs.
 */
export class IdBuckets {
  private readonly buckets: (Set<string> | undefined)[] = new Array(256);
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(id: string): void {
    const b = bucketOf(id);
    let bucket = this.buckets[b];
    if (bucket === undefined) {
      bucket = new Set();
      this.buckets[b] = bucket;
    }
    const before = bucket.size;
    bucket.add(id);
    this.count += bucket.size - before;
  }

  delete(id: string): void {
    const b = bucketOf(id);
    const bucket = this.buckets[b];
    if (bucket?.delete(id)) {
      this.count--;
      if (bucket.size === 0) this.buckets[b] = undefined;
    }
  }

  /** The `limit` smallest ids, ascending. */
  smallest(limit: number): string[] {
    const out: string[] = [];
    for (let b = 0; b < 256 && out.length < limit; b++) {
      const bucket = this.buckets[b];
      if (bucket === undefined) continue;
      const sorted = [...bucket].sort();
      for (let i = 0; i < sorted.length && out.length < limit; i++) out.push(sorted[i]!);
    }
    return out;
  }
}

/** The id's first byte from its first two hex characters; anything else goes to bucket 0 (never happens). */
function bucketOf(id: string): number {
  const byte = Number.parseInt(id.slice(0, 2), 16);
  return Number.isNaN(byte) ? 0 : byte;
}
