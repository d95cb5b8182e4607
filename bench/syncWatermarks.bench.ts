/**
 * What one `watermarks` sync request costs the node that answers it, by ledger size: served from the sender
 * index (how the node answers) against a scan of every account (how it answered before the index, kept in
 * test/support as the reference). Also the index's cost of a new sender at that size. Prints a table;
 * `BENCH_ACCOUNTS=10000,100000,1000000` picks the sizes. Run: `npm run bench:sync`.
 */

import { randomBytes } from "node:crypto";
import { encodeAddress } from "../src/core/address.ts";
import { Ledger } from "../src/ledger/ledger.ts";
import { MemoryLedgerStore } from "../src/ledger/memoryStore.ts";
import { SyncServer } from "../src/node/syncServer.ts";
import { WATERMARK_BUCKETS } from "../src/protocols/status/watermarkSummary.ts";
import { SenderIndex } from "../src/protocols/sync/senderIndex.ts";
import { MAX_WATERMARK_ENTRIES, type SyncResponse } from "../src/protocols/sync/syncMessages.ts";
import { scanWatermarkPage } from "../test/support/watermarkListing.ts";

const SIZES = (process.env.BENCH_ACCOUNTS ?? "10000,100000").split(",").map(Number);
/** What catch-up asks for in one listing request. */
const SIXTEEN = Array.from({ length: 16 }, (_, i) => i);
const EVERY = Array.from({ length: WATERMARK_BUCKETS }, (_, i) => i);

/** Median ms of `runs` calls. */
async function medianMs(runs: number, fn: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(runs / 2)]!;
}

function ledgerOf(accounts: number): Ledger {
  const store = new MemoryLedgerStore();
  for (let i = 0; i < accounts; i++) {
    // One account in eight has only received (watermark 0), as in a ledger where not everyone has paid yet.
    const seq = i % 8 === 0 ? 0 : 1 + (i % 5);
    store.putAccount(encodeAddress(0, randomBytes(32)), { seq, spendable: 1n, unreferencedTotal: 0n });
  }
  return new Ledger({ network: "bench", balances: [] }, store, { authorize: () => undefined } as never);
}

console.log(
  "accounts | page of 16 buckets: index / scan (ratio) | page of 64 buckets: index / scan | new sender",
);
for (const accounts of SIZES) {
  const ledger = ledgerOf(accounts);
  const index = SenderIndex.fromWatermarks(ledger.accountWatermarks());
  const durable = { settled: async () => {} };
  const server = new SyncServer(ledger, index, {} as never, durable as never);
  const serve = (buckets: number[]) => server.serve({ kind: "watermarks", buckets }) as Promise<SyncResponse>;
  const scan = (buckets: number[]) =>
    scanWatermarkPage(ledger.accountWatermarks(), buckets, undefined, MAX_WATERMARK_ENTRIES);
  const scanRuns = accounts >= 1_000_000 ? 3 : accounts >= 100_000 ? 5 : 21;
  const index16 = await medianMs(201, () => serve(SIXTEEN));
  const scan16 = await medianMs(scanRuns, () => scan(SIXTEEN));
  const index64 = await medianMs(201, () => serve(EVERY));
  const scan64 = await medianMs(scanRuns, () => scan(EVERY));
  const fresh = Array.from({ length: 2_000 }, () => encodeAddress(0, randomBytes(32)));
  const start = performance.now();
  for (const address of fresh) index.add(address);
  const addMicros = ((performance.now() - start) * 1000) / fresh.length;
  console.log(
    `${accounts.toLocaleString("en")} | ${index16.toFixed(3)} ms / ${scan16.toFixed(1)} ms (${(scan16 / index16).toFixed(0)}×) | ` +
      `${index64.toFixed(3)} ms / ${scan64.toFixed(1)} ms (${(scan64 / index64).toFixed(0)}×) | ${addMicros.toFixed(1)} µs`,
  );
}
