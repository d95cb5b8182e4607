import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_PROPOSALS_KEPT, ProposalBook } from "../../../src/node/shared/proposalBook.ts";
import { type BatchOp, type NodeDatabase, writeBatch } from "../../../src/storage/database.ts";
import { proposalRecords } from "../../../src/storage/proposalRecords.ts";
import { withDatabase } from "../../support/tempDatabase.ts";

const ACCOUNT = "ab".repeat(32);
const PAYEE = "tly1qr6jn7088qku6v58exgk5hnqphwr7euzmv24hd24eln2p70msyswz44yssn";

/** A book whose writes go to a real LevelDB (the driver's batches), reloaded from it as a restart would. */
function storedBook(db: NodeDatabase) {
  const ops: BatchOp[] = [];
  const write = (op: BatchOp) => ops.push(op);
  const flush = () => writeBatch(db, ops.splice(0));
  const stored = async () => {
    await flush();
    return (await proposalRecords.load(db, ACCOUNT)).entries;
  };
  const reload = async () => {
    const book = new ProposalBook(ACCOUNT, write);
    book.reload(await stored());
    return book;
  };
  return { book: new ProposalBook(ACCOUNT, write), stored, reload };
}

const id = (n: number) => n.toString(16).padStart(64, "0");

/** Rebuilds proposal `from` as new ids `first`, `first + 1`, … `times` times, as a run of decisions would. */
function rebuild(book: ProposalBook, from: string, first: number, times: number): string {
  let current = from;
  for (let i = 0; i < times; i++) {
    const next = id(first + i);
    book.add(next, 10 + i, PAYEE, 5n);
    book.supersede(current, next);
    current = next;
  }
  return current;
}

describe("an owner's proposal book", () => {
  it("keeps two entries per proposal however often it is rebuilt: the answered id, pointing at the current one", () =>
    withDatabase("tally-book-", async (db) => {
      const { book, stored, reload } = storedBook(db);
      book.add(id(1), 9, PAYEE, 5n);
      const current = rebuild(book, id(1), 100, 25);
      const listed = book.list();
      assert.deepEqual(
        listed.map((p) => [p.id, p.status, p.supersededBy]),
        [
          [current, "pending", undefined],
          [id(1), "superseded", current],
        ],
      );
      assert.equal((await stored()).length, 2, "the intermediate rebuilds are deleted from storage too");
      // After a restart the book reads the same, and the next rebuild still re-points the first entry.
      const again = await reload();
      assert.deepEqual(again.list(), listed);
      const later = rebuild(again, current, 200, 3);
      again.set(later, "applied", { transferId: later });
      assert.deepEqual(
        again.list().map((p) => [p.id, p.status, p.supersededBy]),
        [
          [later, "applied", undefined],
          [id(1), "superseded", later],
        ],
      );
    }));

  it("keeps MAX_PROPOSALS_KEPT proposals' worth of rebuilds no longer than two each", () =>
    withDatabase("tally-book-", async (db) => {
      const { book } = storedBook(db);
      for (let n = 0; n < 600; n++) {
        book.add(id(1_000_000 + n), 9, PAYEE, 1n);
        rebuild(book, id(1_000_000 + n), 2_000_000 + n * 10, 5);
      }
      const listed = book.list();
      // 600 proposals of two entries each, cut to the bound (one fewer when a rebuild's delete followed the cut).
      assert.ok(
        listed.length <= MAX_PROPOSALS_KEPT && listed.length >= MAX_PROPOSALS_KEPT - 1,
        `${listed.length}`,
      );
      // Without the re-pointing, 600 × 6 entries would have left only the newest ~166 proposals listed.
      const firsts = listed.filter((p) => p.status === "superseded");
      assert.ok(firsts.length >= 499, `${firsts.length} proposals still followable from their first id`);
    }));
});
