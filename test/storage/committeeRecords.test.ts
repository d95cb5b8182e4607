import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toHex } from "../../src/core/bytes.ts";
import type { CommitteeRecord } from "../../src/kshared/committeeTypes.ts";
import { DECIDED_RECORDS_KEPT, type RetentionRules } from "../../src/kshared/recordRetention.ts";
import { StoredCommitteeRecords } from "../../src/node/shared/storedCommitteeRecords.ts";
import { Bucket, range } from "../../src/storage/buckets.ts";
import { committeeRecords } from "../../src/storage/committeeRecords.ts";
import { type NodeDatabase, writeBatch } from "../../src/storage/database.ts";
import { ACCOUNT, Network, proposalBytes } from "../kshared/committeeHarness.ts";
import { withDatabase } from "../support/tempDatabase.ts";

const ACCOUNT_HEX = toHex(ACCOUNT);
const RULES: RetentionRules = { firstSeq: 0, isExpired: () => false };
const SEQS = 120;

/** Every record owner 0 of a k = 4 committee persisted while deciding SEQS seqs, in order. */
function decidedRun(): CommitteeRecord[] {
  const net = new Network({ k: 4, seed: 81, dropRate: 0.05, maxDelayMs: 30 });
  for (let n = 0; n < SEQS; n++) net.submit(n % 4, proposalBytes(n % 4, n), 10 + n * 150);
  net.run(600_000, () => net.allDecided(SEQS));
  assert.ok(net.allDecided(SEQS));
  return net.log[0]!;
}

async function keysOnDisk(db: NodeDatabase): Promise<number> {
  return (await db.keys(range(Bucket.committeeRecord, ACCOUNT_HEX)).all()).length;
}

/** A committee of owner 0 restored from what the database holds. */
async function restoredSeq(db: NodeDatabase): Promise<number> {
  const { entries } = await committeeRecords.load(db, ACCOUNT_HEX);
  const committee = new Network({ k: 4, seed: 81 }).newCommittee(0);
  committee.restore(entries.map((e) => e.record));
  return committee.currentSeq;
}

describe("committee records in LevelDB", () => {
  const log = decidedRun();

  it(`after ${SEQS} decided seqs the account holds O(1) keys, and restores at seq ${SEQS}`, async () => {
    await withDatabase("tally-committee-records-", async (db) => {
      const stored = new StoredCommitteeRecords(ACCOUNT_HEX);
      let most = 0;
      // Batches of 1..4 records, each with the deletions it causes, as the driver writes a step.
      for (let i = 0; i < log.length; ) {
        const size = 1 + (i % 4);
        const persists = log.slice(i, i + size).map((record) => ({ type: "persist", record }) as const);
        i += size;
        await writeBatch(db, [...stored.put(persists), ...stored.compact(RULES)]);
        most = Math.max(most, await keysOnDisk(db));
      }
      assert.ok(log.length > 3 * SEQS, `${log.length} records written`);
      const held = await keysOnDisk(db);
      assert.equal(held, stored.size);
      assert.ok(held <= DECIDED_RECORDS_KEPT + 4, `${held} keys held`);
      assert.ok(most <= DECIDED_RECORDS_KEPT + 8, `at most ${most} keys at any time`);
      assert.equal(await restoredSeq(db), SEQS);
    });
  });

  it("a database written before compaction shrinks at the first start, and restores at the same seq", async () => {
    await withDatabase("tally-committee-records-", async (db) => {
      await writeBatch(
        db,
        log.map((record, counter) => committeeRecords.put(ACCOUNT_HEX, counter, record)),
      );
      assert.equal(await keysOnDisk(db), log.length);
      const seqBefore = await restoredSeq(db);
      const { entries, next } = await committeeRecords.load(db, ACCOUNT_HEX);
      const stored = new StoredCommitteeRecords(ACCOUNT_HEX, entries, next);
      await writeBatch(db, stored.compact(RULES));
      assert.ok((await keysOnDisk(db)) <= DECIDED_RECORDS_KEPT + 4);
      assert.equal(await restoredSeq(db), seqBefore);
      assert.equal(seqBefore, SEQS);
    });
  });
});
