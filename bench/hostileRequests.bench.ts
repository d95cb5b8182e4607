/**
 * What requests a peer may send at will cost the node that handles them, each against how the node handled it
 * before (the baseline, in the same run). Prints two tables; `BENCH_ACCOUNTS=10000,100000,1000000` picks the
 * ledger sizes of the first. Run: `npm run bench:hostile`.
 *
 * 1. A sync `watermarks` listing, by ledger size: served from the sender index against a scan of every account
 *    (the reference kept in test/support), and the index's cost of a new sender at that size.
 * 2. Echo admission of a payload naming MAX_DEPS made-up deps, on a LevelDB holding 200,000 resolved transfers:
 *    the memory-only judgement against the lookups it made before (each dep's status, memory then disk).
 * 3. An account's 256 pending deps (`GET /v1/accounts/:address`) when anyone has paid it many small outputs:
 *    listed by the store against sorting all its unreferenced payments.
 * 4. A sync `digests` request for an account's newest 64 seqs, and the newest page of its history, when a
 *    checkpoint's worth of its entries (16,384) waits in memory: the bounded read against copying the
 *    account's whole list and filtering it, as every request did before.
 */

import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeAddress } from "../src/core/address.ts";
import { MAX_DEPS } from "../src/core/limits.ts";
import { sodiumVerifier } from "../src/crypto/ed25519Sodium.ts";
import { SignatureAuthorizer } from "../src/ledger/authorization.ts";
import { Ledger } from "../src/ledger/ledger.ts";
import { MemoryLedgerStore } from "../src/ledger/memoryStore.ts";
import { SyncServer } from "../src/node/syncServer.ts";
import { WATERMARK_BUCKETS } from "../src/protocols/status/watermarkSummary.ts";
import { SenderIndex } from "../src/protocols/sync/senderIndex.ts";
import { MAX_WATERMARK_ENTRIES, type SyncResponse } from "../src/protocols/sync/syncMessages.ts";
import { Bucket, key } from "../src/storage/buckets.ts";
import { openDatabase } from "../src/storage/database.ts";
import { LevelLedgerStore } from "../src/storage/levelLedgerStore.ts";
import { PendingHistory } from "../src/storage/pendingHistory.ts";
import { makeTransfer, TEST_NETWORK, testKey } from "../test/support/fixtures.ts";
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

/** Mean µs per item of `fn` over `items`, after one warm-up pass. */
function meanMicros<T>(items: readonly T[], fn: (item: T) => void): number {
  for (const item of items) fn(item);
  const start = performance.now();
  for (const item of items) fn(item);
  return ((performance.now() - start) * 1000) / items.length;
}

const dir = await mkdtemp(join(tmpdir(), "tally-bench-admission-"));
const db = await openDatabase(dir);
try {
  for (let written = 0; written < 200_000; written += 10_000) {
    const batch = db.batch();
    for (let i = 0; i < 10_000; i++) {
      const id = randomBytes(32).toString("hex");
      batch.put(
        key(Bucket.ledgerStatus, id),
        new TextEncoder().encode(JSON.stringify({ status: "applied" })),
      );
      batch.put(key(Bucket.transferBody, id), randomBytes(200));
    }
    await batch.write();
  }
  const store = await LevelLedgerStore.open(db, {});
  const ledger = new Ledger(
    { network: TEST_NETWORK, balances: [] },
    store,
    new SignatureAuthorizer(sodiumVerifier),
  );
  const junk = Array.from({ length: 1_000 }, (_, i) => {
    const deps = Array.from({ length: MAX_DEPS }, () => randomBytes(32).toString("hex")).sort();
    return makeTransfer(testKey(10_000 + i), 1, [{ to: testKey(1).address, amount: 1n }], deps);
  });
  const now = meanMicros(junk, (e) => ledger.admission(e));
  const before = meanMicros(junk, (e) => {
    for (const dep of e.transfer.deps) store.getUnreferenced(e.transfer.source, dep) ?? store.getStatus(dep);
  });
  console.log(
    `\necho admission of a payload naming ${MAX_DEPS} made-up deps (200,000 transfers on disk): ` +
      `${now.toFixed(1)} µs, against ${before.toFixed(1)} µs for its deps' lookups through the disk (${(before / now).toFixed(0)}×)`,
  );
} finally {
  await db.close();
  await rm(dir, { recursive: true, force: true });
}

console.log("\nunreferenced payments | 256 pending deps: store / sorting them all");
for (const payments of [1_000, 10_000, 100_000]) {
  const store = new MemoryLedgerStore();
  const ids = Array.from({ length: payments }, () => randomBytes(32).toString("hex"));
  for (const id of ids) store.putUnreferenced("whale", id, 1n);
  const listed = await medianMs(101, () => store.listUnreferenced("whale", MAX_DEPS));
  const sorted = await medianMs(payments >= 100_000 ? 5 : 21, () => [...ids].sort().slice(0, MAX_DEPS));
  console.log(
    `${payments.toLocaleString("en")} | ${listed.toFixed(3)} ms / ${sorted.toFixed(2)} ms (${(sorted / listed).toFixed(0)}×)`,
  );
}

{
  const waiting = 16_384;
  const history = new PendingHistory();
  for (let seq = 1; seq <= waiting; seq++)
    history.addOutgoing("busy", seq, randomBytes(32).toString("hex"), seq);
  history.taken(waiting);
  history.settled();
  const fromSeq = waiting - 63;
  const digests = await medianMs(2_001, () => history.outgoingFrom("busy", fromSeq, 64));
  const digestsBefore = await medianMs(201, () =>
    history.outgoingFrom("busy", 0, Number.POSITIVE_INFINITY).filter((e) => e.seq >= fromSeq),
  );
  const page = await medianMs(2_001, () => history.outgoingBefore("busy", undefined, 51));
  const pageBefore = await medianMs(201, () =>
    history.outgoingBefore("busy", undefined, Number.POSITIVE_INFINITY).slice(-51),
  );
  console.log(
    `\n${waiting.toLocaleString("en")} entries waiting for a checkpoint | digests of the newest 64 seqs: ` +
      `${(digests * 1000).toFixed(2)} µs against ${(digestsBefore * 1000).toFixed(0)} µs (${(digestsBefore / digests).toFixed(0)}×) | ` +
      `a history page of 50: ${(page * 1000).toFixed(2)} µs against ${(pageBefore * 1000).toFixed(0)} µs (${(pageBefore / page).toFixed(0)}×)`,
  );
}
