import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, TallyError } from "../../src/core/errors.ts";
import { Bucket, key } from "../../src/storage/buckets.ts";
import { writeBatch } from "../../src/storage/database.ts";
import { HeldSubmissionsStore } from "../../src/storage/heldSubmissions.ts";
import { makeTransfer, testKey } from "../support/fixtures.ts";
import { withDatabase } from "../support/tempDatabase.ts";

const alice = testKey(1);
const bob = testKey(2);
const paying = (seq: number) => makeTransfer(alice, seq, [{ to: bob.address, amount: 1n }]);

describe("the held submissions' store", () => {
  it("keeps what is held across a restart, and nothing let go, whatever the order within a step", async () => {
    await withDatabase("tally-held-", async (db) => {
      const store = new HeldSubmissionsStore();
      for (const seq of [7, 8, 9]) store.add(paying(seq));
      store.remove(paying(8).id);
      await writeBatch(db, store.take());
      assert.deepEqual(store.take(), [], "taken once");
      store.remove(paying(9).id);
      store.add(paying(9));
      store.remove(paying(7).id);
      await writeBatch(db, store.take());
      const loaded = await HeldSubmissionsStore.load(db);
      assert.deepEqual(
        loaded.map((t) => t.id),
        [paying(9).id],
        "seq 7 let go in the second step, seq 8 in the step that held it; seq 9 held again",
      );
      assert.deepEqual(loaded[0]!.bytes, paying(9).bytes);
    });
  });

  it("refuses to start on a value that is no transfer, or another transfer than its key names", async () => {
    for (const [value, detail] of [
      [Uint8Array.of(1, 2, 3), /held-submission record 15\/(ab){32} is corrupt/],
      [paying(3).bytes, /it holds transfer/],
    ] as const) {
      await withDatabase("tally-held-", async (db) => {
        await db.put(key(Bucket.heldSubmission, "ab".repeat(32)), value);
        await assert.rejects(
          HeldSubmissionsStore.load(db),
          (e: unknown) =>
            e instanceof TallyError && e.code === ErrorCode.InvalidConfig && detail.test(e.message),
        );
      });
    }
  });
});
