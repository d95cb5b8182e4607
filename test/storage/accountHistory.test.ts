import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readHistoryPage } from "../../src/storage/accountHistory.ts";
import { sortableNumber } from "../../src/storage/buckets.ts";
import { type BatchOp, openDatabase, writeBatch } from "../../src/storage/database.ts";
import { LevelLedgerStore } from "../../src/storage/levelLedgerStore.ts";

const A = "tly1account";
const incoming = (position: number, id: string): BatchOp => ({
  type: "put",
  key: `07/${A}/${sortableNumber(position)}`,
  value: `{"id":"${id}","direction":"in"}`,
});
/** The earlier format: the outgoing entry in bucket 07, a bare id in the by-seq index. */
const olderOutgoing = (position: number, seq: number, id: string): BatchOp[] => [
  { type: "put", key: `07/${A}/${sortableNumber(position)}`, value: `{"id":"${id}","direction":"out"}` },
  { type: "put", key: `09/${A}/${sortableNumber(seq)}`, value: id },
];
const outgoing = (position: number, seq: number, id: string): BatchOp => ({
  type: "put",
  key: `09/${A}/${sortableNumber(seq)}`,
  value: `${id}@${position}`,
});

// Newest first, as every page walk must return it. Seq 4 is missing (seqs may have gaps in the index).
const expected = [
  { id: "o6", direction: "out", position: 12 },
  { id: "i3", direction: "in", position: 9 },
  { id: "o5", direction: "out", position: 8 },
  { id: "o3", direction: "out", position: 6 },
  { id: "i2", direction: "in", position: 5 },
  { id: "o2", direction: "out", position: 3 },
  { id: "i1", direction: "in", position: 2 },
  { id: "o1", direction: "out", position: 1 },
];

describe("account history (incoming entries merged with the by-seq index)", () => {
  it("pages through both formats newest first, each entry once, from any cursor", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tally-history-"));
    try {
      const db = await openDatabase(dir);
      await writeBatch(db, [
        ...olderOutgoing(1, 1, "o1"),
        incoming(2, "i1"),
        ...olderOutgoing(3, 2, "o2"),
        incoming(5, "i2"),
        outgoing(6, 3, "o3"),
        outgoing(8, 5, "o5"),
        incoming(9, "i3"),
        outgoing(12, 6, "o6"),
        // Another account's entries, on both sides of A's keys, are never read as A's.
        { type: "put", key: `07/tly1account0/${sortableNumber(4)}`, value: '{"id":"x","direction":"in"}' },
        { type: "put", key: `09/tly1account0/${sortableNumber(4)}`, value: "y@7" },
        { type: "put", key: `09/tly1accoun/${sortableNumber(9)}`, value: "z@10" },
      ]);
      for (let limit = 1; limit <= expected.length + 1; limit++) {
        const walked = [];
        let before: number | undefined;
        do {
          const page = await readHistoryPage(db, A, limit, before);
          assert.ok(page.entries.length <= limit);
          walked.push(...page.entries);
          before = page.next;
          if (before !== undefined) assert.equal(before, page.entries.at(-1)!.position);
        } while (before !== undefined);
        assert.deepEqual(walked, expected, `pages of ${limit}`);
      }
      for (let before = 0; before <= 13; before++) {
        const page = await readHistoryPage(db, A, 100, before);
        assert.deepEqual(
          page.entries,
          expected.filter((e) => e.position < before),
          `below ${before}`,
        );
        assert.equal(page.next, undefined);
      }
      assert.deepEqual((await readHistoryPage(db, "tly1nobody", 5)).entries, []);

      const store = await LevelLedgerStore.open(db);
      assert.deepEqual(await store.resolvedIds(A, 1, 10), ["o1", "o2", "o3"], "stops at the gap at seq 4");
      assert.deepEqual(await store.resolvedIds(A, 5, 10), ["o5", "o6"]);
      assert.deepEqual(await store.firstResolvedIds(A, 10), ["o1", "o2", "o3", "o5", "o6"]);
      await db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
