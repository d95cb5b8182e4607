import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";
import { jsonValue, openDatabase } from "../../src/storage/database.ts";
import { metaRecords, STORAGE_FORMAT } from "../../src/storage/metaRecords.ts";

describe("a data dir's storage format", () => {
  it("is recorded on a new or older data dir, and a newer one is refused with a clear error", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tally-meta-"));
    try {
      const db = await openDatabase(dir);
      await metaRecords.claimStorageFormat(db, dir);
      const stored = async () => Buffer.from((await db.get("00/storageFormat"))!).toString();
      assert.equal(await stored(), String(STORAGE_FORMAT));
      await metaRecords.claimStorageFormat(db, dir); // the same version again: accepted

      await db.put("00/storageFormat", jsonValue(STORAGE_FORMAT + 1));
      await assert.rejects(
        metaRecords.claimStorageFormat(db, dir),
        (e) =>
          isTallyError(e) &&
          e.code === ErrorCode.StorageFormatUnsupported &&
          e.message.includes(`storage format ${STORAGE_FORMAT + 1}`),
      );
      assert.equal(await stored(), String(STORAGE_FORMAT + 1), "left as it was");
      await db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
