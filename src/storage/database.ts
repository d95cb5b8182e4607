import { mkdir } from "node:fs/promises";
import type { AbstractBatchOperation, AbstractBatchOptions } from "abstract-level";
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
  const levelOps: AbstractBatchOperation<NodeDatabase, string, Uint8Array>[] = ops.map((op) => {
    if (op.type === "del") return { type: "del", key: op.key };
    if (typeof op.value === "string") {
      // The database's value encoding is "view"; "utf8" for this op only (the typings want one type).
      return { type: "put", key: op.key, value: op.value as unknown as Uint8Array, valueEncoding: "utf8" };
    }
    return { type: "put", key: op.key, value: op.value };
  });
  await db.batch(levelOps, { sync: true } as AbstractBatchOptions<string, Uint8Array>);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 through the module's one encoder and decoder: no allocation per stored value. */
export function utf8Bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

export function utf8Text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function jsonValue(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
}

export function parseJsonValue<T>(bytes: Uint8Array): T {
  return JSON.parse(decoder.decode(bytes)) as T;
}
