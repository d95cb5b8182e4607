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

export async function openDatabase(path: string): Promise<NodeDatabase> {
  await mkdir(path, { recursive: true });
  const db = new Level<string, Uint8Array>(path, { keyEncoding: "utf8", valueEncoding: "view" });
  await db.open();
  return db;
}

/**
 * One atomic LevelDB batch, fsynced: a verdict or commitment the node acts on must survive power loss,
 * not just a process crash. Callers batch many writes per call to amortise the fsync.
 *
 * The ops go to classic-level's `_batch` (abstract-level's implementation hook) in one native call that reads
 * each op's type, key and value in C++. Both public forms cost JavaScript per write on the node's hottest
 * path: the array form clones every op with its options, and the chained form builds an op object from a
 * spread of its options and runs both encoders for every put (≈ 2 KB allocated per transfer per node). What
 * the public layer adds is not used here: encodings (keys are strings, values strings or bytes, which the
 * native layer takes as they are), hooks and write events, and the deferred open (the node writes only
 * while its database is open — checked).
 */
export async function writeBatch(db: NodeDatabase, ops: readonly BatchOp[]): Promise<void> {
  if (ops.length === 0) return;
  if (db.status !== "open") throw new Error(`database is ${db.status}, not open: cannot write`);
  await (db as unknown as NativeBatch)._batch(ops, SYNC);
}

/** classic-level's implementation of a batch of plain `{type, key, value}` ops (see `writeBatch`). */
interface NativeBatch {
  _batch(ops: readonly BatchOp[], options: { readonly sync: boolean }): Promise<void>;
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
