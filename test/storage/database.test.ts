import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Level } from "level";
import { type NodeDatabase, openDatabase, utf8Text, writeBatch } from "../../src/storage/database.ts";
import { withDatabase } from "../support/tempDatabase.ts";

describe("writeBatch", () => {
  it("stores string values as UTF-8 and byte values exactly, views at an offset included, and deletes", async () => {
    await withDatabase("tally-db-", async (db) => {
      const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
      const buffer = Buffer.from([7, 7, 4, 5, 7]);
      await writeBatch(db, [
        { type: "put", key: "00/string", value: '{"amount":"5","note":"é"}' },
        { type: "put", key: "00/view", value: backing.subarray(2, 5) },
        { type: "put", key: "00/buffer", value: buffer.subarray(2, 4) },
        { type: "put", key: "00/gone", value: "x" },
        { type: "del", key: "00/gone" },
      ]);
      assert.equal(utf8Text((await db.get("00/string"))!), '{"amount":"5","note":"é"}');
      assert.deepEqual([...(await db.get("00/view"))!], [1, 2, 3]);
      assert.deepEqual([...(await db.get("00/buffer"))!], [4, 5]);
      assert.equal(await db.get("00/gone"), undefined);
      // An empty batch writes nothing and does not fail.
      await writeBatch(db, []);
    });
  });

  it("takes the ops: the array is empty once the write is under way, and what it held is written", async () => {
    await withDatabase("tally-db-", async (db) => {
      const value = new Uint8Array([1, 2, 3]);
      const ops = [
        { type: "put" as const, key: "00/a", value },
        { type: "put" as const, key: `00/${"b".repeat(3)}`, value: "text" },
      ];
      const writing = writeBatch(db, ops);
      assert.equal(ops.length, 0, "LevelDB's batch holds copies; the caller's array no longer keeps them");
      value.fill(0); // a copy was taken: changing the bytes now changes nothing on disk
      await writing;
      assert.deepEqual([...(await db.get("00/a"))!], [1, 2, 3]);
      assert.equal(utf8Text((await db.get("00/bbb"))!), "text");
    });
  });

  it("refuses to write to a closed database instead of reaching the native layer", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tally-db-"));
    const db = await openDatabase(dir);
    await db.close();
    await assert.rejects(writeBatch(db, [{ type: "put", key: "00/k", value: "v" }]), /database is closed/);
    await rm(dir, { recursive: true, force: true });
  });
});

describe("openDatabase", () => {
  it("writes tables uncompressed and still reads what was written compressed before", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tally-db-"));
    let db: NodeDatabase | undefined;
    try {
      // A database as nodes wrote it before: LevelDB's default Snappy tables, with values it compresses well.
      const old = new Level<string, string>(dir, { compression: true });
      await old.open();
      const value = (i: number) => `${i}:`.padEnd(4_096, "a");
      await old.batch(
        Array.from({ length: 1_000 }, (_, i) => ({ type: "put" as const, key: `03/${i}`, value: value(i) })),
      );
      await compactAll(old);
      await old.close();
      const rawBytes = 1_000 * 4_096;
      assert.ok((await tableBytes(dir)) < rawBytes / 4, "the old tables are compressed");

      db = await openDatabase(dir);
      for (const i of [0, 1, 499, 999]) assert.equal(utf8Text((await db.get(`03/${i}`))!), value(i));
      // Half the keys rewritten: compaction merges the new tables with the old, and writes all it keeps plainly.
      const rewritten = (i: number) => `${i}:`.padEnd(4_096, "b");
      await writeBatch(
        db,
        Array.from({ length: 500 }, (_, i) => ({
          type: "put" as const,
          key: `03/${2 * i}`,
          value: rewritten(2 * i),
        })),
      );
      await compactAll(db);
      assert.ok((await tableBytes(dir)) > rawBytes, "the tables compaction wrote are not compressed");
      for (const i of [0, 1, 498, 999]) {
        assert.equal(utf8Text((await db.get(`03/${i}`))!), i % 2 === 0 ? rewritten(i) : value(i));
      }
    } finally {
      await db?.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function tableBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir))
    if (name.endsWith(".ldb")) total += (await stat(join(dir, name))).size;
  return total;
}

/** LevelDB's manual compaction of every key: classic-level has it, the `level` types do not declare it. */
function compactAll(db: object): Promise<void> {
  return (db as { compactRange(start: string, end: string): Promise<void> }).compactRange("0", "9");
}
