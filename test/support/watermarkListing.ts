import { bucketOfAddress } from "../../src/protocols/status/watermarkSummary.ts";

/**
 * The `watermarks` listing by definition, as the node served it before the sender index: every account with a
 * watermark above 0 in the asked buckets, strictly after the cursor, in address order, `limit` of them.
 * O(accounts) per page: the reference the index is checked and measured against.
 */
export function scanWatermarkPage(
  watermarks: Iterable<readonly [address: string, seq: number]>,
  buckets: readonly number[],
  after: string | undefined,
  limit: number,
): { addresses: string[]; more: boolean } {
  const asked = new Set(buckets);
  const listed: string[] = [];
  for (const [address, seq] of watermarks) {
    if (seq === 0 || (after !== undefined && address <= after)) continue;
    if (asked.has(bucketOfAddress(address))) listed.push(address);
  }
  listed.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { addresses: listed.slice(0, limit), more: listed.length > limit };
}
