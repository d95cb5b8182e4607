import { mkdir } from "node:fs/promises";
import type { AbstractChainedBatchWriteOptions } from "abstract-level";
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
 */
export async function writeBatch(db: NodeDatabase, ops: readonly BatchOp[]): Promise<void> {
  if (ops.length === 0) return;
  // A chained batch hands each op to LevelDB as it comes: the array form clones every op into a new object,
  // with its options, before encoding it — two allocations per write on the node's hottest path.
  const batch = db.batch();
  try {
    for (const op of ops) {
      if (op.type === "del") batch.del(op.key);
      else if (typeof op.value === "string") batch.put(op.key, op.value as unknown as Uint8Array, UTF8_VALUE);
      else batch.put(op.key, op.value);
    }
  } catch (e) {
    // A bad key or a closing database: release the native batch rather than leave it to the collector.
    await batch.close();
    throw e;
  }
  await batch.write({ sync: true } as AbstractChainedBatchWriteOptions);
}

/** The database's value encoding is "view"; "utf8" for string values only (the typings want one type). */
const UTF8_VALUE = { valueEncoding: "utf8" } as const;

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
