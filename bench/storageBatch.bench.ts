/**
 * One fsynced LevelDB batch of 18,000 writes (4 puts of ledger-shaped keys per delete, string and byte
 * values), three ways: abstract-level's public chained batch, classic-level's array `_batch`, and the chained
 * batch's `_put`/`_del` that `writeBatch` uses. Prints main-thread µs per write (the synchronous part the
 * node's event loop pays) and wall µs per write; run with `node bench/storageBatch.bench.ts`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BatchOp, openDatabase, writeBatch } from "../src/storage/database.ts";

const WRITES = 18_000;
const ROUNDS = 5;
const dir = await mkdtemp(join(tmpdir(), "tally-batch-bench-"));
const db = await openDatabase(dir);
let round = 0;

function ops(): BatchOp[] {
  const out: BatchOp[] = [];
  round++;
  for (let i = 0; i < WRITES; i++) {
    const key = `07/tally1qxyzabcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq/${String(round * WRITES + i).padStart(16, "0")}`;
    if (i % 5 === 4) out.push({ type: "del", key });
    else
      out.push({
        type: "put",
        key,
        value: i % 2 === 1 ? `{"id":"${"ab".repeat(32)}","direction":"in"}` : Buffer.alloc(200, i),
      });
  }
  return out;
}

const UTF8 = { valueEncoding: "utf8" } as const;
function publicChained(batchOps: BatchOp[]): Promise<void> {
  const batch = db.batch();
  for (const op of batchOps) {
    if (op.type === "del") batch.del(op.key);
    else if (typeof op.value === "string") batch.put(op.key, op.value as unknown as Uint8Array, UTF8);
    else batch.put(op.key, op.value);
  }
  return batch.write({ sync: true } as Parameters<typeof batch.write>[0]);
}
function arrayBatch(batchOps: BatchOp[]): Promise<void> {
  return (db as unknown as { _batch(o: BatchOp[], opt: { sync: boolean }): Promise<void> })._batch(batchOps, {
    sync: true,
  });
}

const ways: Array<[string, (o: BatchOp[]) => Promise<void>]> = [
  ["public chained batch", publicChained],
  ["array _batch", arrayBatch],
  ["writeBatch (_put/_del)", (o) => writeBatch(db, o)],
];
console.log("way                      main-thread µs/write   wall µs/write");
for (let pass = 0; pass < 2; pass++) {
  for (const [name, write] of ways) {
    let sync = 0;
    let wall = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const batchOps = ops();
      const t0 = performance.now();
      const done = write(batchOps);
      sync += performance.now() - t0;
      await done;
      wall += performance.now() - t0;
    }
    const per = (ms: number) => ((ms * 1000) / (ROUNDS * WRITES)).toFixed(2);
    console.log(`${name.padEnd(24)} ${per(sync).padStart(10)}            ${per(wall).padStart(8)}`);
  }
}
await db.close();
await rm(dir, { recursive: true, force: true });
