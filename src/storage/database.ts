import { mkdir } from "node:fs/promises";
import { Level } from "level";

/**
 * A write for `writeBatch`. A string value is stored as its UTF-8 bytes (LevelDB encodes it natively, so the
 * hot path allocates no intermediate Uint8Array); it reads back as bytes like any other value.
 */
export type BatchOp =
  | { readonly type: "put"; readonly key: string; readonly value: Uint8Array | string }
  | { readonly type: "del"; readonly key: string };

/** The node's one LevelDB: utf8 keys (see buckets.ts), byte values. */
export type NodeDatabase = Level<string, Uint8Array>;

/**
 * LevelDB's memtable (its write buffer): LevelDB's own 4 MiB. The node's keys are ids and addresses, spread
 * over the whole key space, so every level-0 table overlaps every other and all of level 1, and each level-0
 * compaction (one per four flushes) reads four memtables' worth of tables plus level 1 whole. LevelDB 1.20
 * reads tables through `mmap`, so those pages count in the node's RSS until the compaction deletes its
 * inputs. With a 16 MiB memtable (sessions 11–42) a node's mapped files rose by 42–66 MB at a level-0
 * compaction, and its RSS peaked +9 to +16 % above a long run's measured start; with 4 MiB they rise by
 * 24–35 MB, and two 10-minute runs stayed within −6.4 to +7.4 % (docs/benchmarks.md, "Session 43"). The
 * price is more compaction: paired cluster-bench runs over 80,000 transfers gave 1.02× the CPU per transfer
 * in their median (1.01–1.06×), 0.6–2.0 µs more in LevelDB's and V8's threads. Memory otherwise: one
 * memtable, and a second while the full one is flushed, so at most 8 MiB per node (32 before).
 */
export const WRITE_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * Tables are written without Snappy. What the node stores is nearly all hash output, keys and signatures: a
 * devnet node's database after 30 s at saturation (39.3 MB of keys and values: transfer bodies 64 %, the two
 * history indexes 35 %), compacted whole, took 40.30 MB with Snappy and 40.56 MB without (0.7 % saved), while
 * Snappy took ≈ 1 % of the node's CPU samples (`snappy::internal::CompressFragment`, in every table a flush or
 * a compaction writes). LevelDB records each block's compression, so blocks an older node wrote compressed
 * are still read; compaction rewrites them uncompressed.
 */
const COMPRESSION = false;

export async function openDatabase(path: string): Promise<NodeDatabase> {
  await mkdir(path, { recursive: true });
  const db = new Level<string, Uint8Array>(path, {
    keyEncoding: "utf8",
    valueEncoding: "view",
    writeBufferSize: WRITE_BUFFER_BYTES,
    compression: COMPRESSION,
  });
  await db.open();
  return db;
}

/**
 * One atomic LevelDB batch, fsynced: a verdict or commitment the node acts on must survive power loss,
 * not just a process crash. Callers batch many writes per call to amortise the fsync. It takes the ops: the
 * array is empty once the call returns its promise.
 *
 * Each op goes straight to classic-level's chained batch (`_put`/`_del`, abstract-level's implementation
 * hooks: one native call per write), and the batch is written with `_write`. The public forms run
 * abstract-level's per-op layer (validation, an op object spread from the options, both encoders; the array
 * form also clones every op): ≈ 1.9 KB allocated per transfer per node. Measured on 18,000-write fsynced
 * batches, main-thread time per write: public chained 1.04–1.39 µs, the array form's native `_batch` (which
 * reads each op's fields through N-API) 0.89–1.06, this 0.65–0.73. Nothing that layer adds is used here:
 * keys are strings and values strings or bytes, which the native layer takes as they are; no hooks, no write
 * events; the node writes only while its database is open (checked).
 */
export async function writeBatch(db: NodeDatabase, ops: BatchOp[]): Promise<void> {
  if (ops.length === 0) return;
  if (db.status !== "open") throw new Error(`database is ${db.status}, not open: cannot write`);
  const batch = db.batch() as unknown as NativeChainedBatch;
  try {
    for (const op of ops) {
      if (op.type === "del") batch._del(op.key);
      else batch._put(op.key, op.value);
    }
    // LevelDB's batch holds copies now. Emptied, the array no longer keeps the ops' keys and values alive
    // during the fsync (an async function's frame keeps its parameters until it returns), so a collection
    // in that window finds them dead instead of copying them to the old generation.
    ops.length = 0;
    await batch._write(SYNC);
  } finally {
    // Detaches the batch from the database (the native batch itself is released with it).
    await batch.close();
  }
}

/** classic-level's chained batch, below abstract-level's public layer (see `writeBatch`). */
interface NativeChainedBatch {
  _put(key: string, value: Uint8Array | string): void;
  _del(key: string): void;
  _write(options: { readonly sync: boolean }): Promise<void>;
  close(): Promise<void>;
}
const SYNC = { sync: true } as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 through the module's one decoder: no allocation per stored value. */
export function utf8Text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function jsonValue(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
}

export function parseJsonValue<T>(bytes: Uint8Array): T {
  return JSON.parse(decoder.decode(bytes)) as T;
}
