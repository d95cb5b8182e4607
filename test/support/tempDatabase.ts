import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type NodeDatabase, openDatabase } from "../../src/storage/database.ts";

/** Runs `run` against a fresh LevelDB in a temporary directory, closed and removed afterwards. */
export async function withDatabase(prefix: string, run: (db: NodeDatabase) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const db = await openDatabase(dir);
  try {
    await run(db);
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs `run` with a fresh temporary directory (for tests that open and reopen a database), removed afterwards. */
export async function withTempDir<T>(prefix: string, run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
