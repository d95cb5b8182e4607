import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isTallyError } from "../../src/core/errors.ts";
import type { EncodedTransfer } from "../../src/core/transfer.ts";
import { Bucket, key } from "../../src/storage/buckets.ts";
import { type NodeDatabase, writeBatch } from "../../src/storage/database.ts";
import { RELOCATE_AFTER_RECORDS } from "../../src/storage/slotRecords.ts";
import { SubmittedLog } from "../../src/storage/submittedLog.ts";
import { makeTransfer, testKey } from "../support/fixtures.ts";
import { withDatabase } from "../support/tempDatabase.ts";

/**
 * Transfers the API accepted are durable in step records until their slot is delivered. What a client cares
 * about: a node that restarts introduces again every transfer it answered "pending" and did not see delivered
 * — no fewer, and none twice — and the records cost a write per step, not one per transfer.
 */

const keys = [testKey(1), testKey(2), testKey(3)];
const to = testKey(9).address;
/** Transfer `variant` for seq `seq` of account `source` (variants of one slot are double-spend twins). */
const transfer = (source: number, seq: number, variant = 0) =>
  makeTransfer(keys[source]!, seq, [{ to, amount: BigInt(1 + variant) }]);

const ids = (transfers: readonly EncodedTransfer[]) => transfers.map((t) => t.id).sort();

async function reload(db: NodeDatabase, settled: (source: string, seq: number) => boolean = () => false) {
  const log = new SubmittedLog();
  const restored = log.restore(await SubmittedLog.load(db), settled);
  return { log, restored };
}

async function keysIn(db: NodeDatabase): Promise<string[]> {
  const out: string[] = [];
  for await (const k of db.keys()) out.push(k);
  return out;
}

describe("SubmittedLog", () => {
  it("writes one record per step, and deletes it in the step that delivers its last slot", async () => {
    await withDatabase("tally-submitted-", async (db) => {
      const log = new SubmittedLog();
      const first = [transfer(0, 1), transfer(1, 1), transfer(2, 1)];
      for (const t of first) log.add(t);
      const step1 = log.take();
      assert.deepEqual(
        step1.map((op) => op.type),
        ["put"],
        "three accepted transfers, one record",
      );
      const record = step1[0]!.key;
      await writeBatch(db, step1);
      log.add(transfer(0, 2));
      log.settle(keys[0]!.address, 1);
      log.settle(keys[1]!.address, 1);
      await writeBatch(db, log.take());
      assert.equal((await keysIn(db)).length, 2, "the first record still holds a pending transfer");
      log.settle(keys[2]!.address, 1);
      const step3 = log.take();
      assert.deepEqual(step3, [{ type: "del", key: record }]);
      await writeBatch(db, step3);
      const { restored } = await reload(db);
      assert.deepEqual(ids(restored), [transfer(0, 2).id]);
    });
  });

  it("a restarted node gets back exactly the transfers not yet delivered, in bounded records (property)", async () => {
    // Steps accept transfers (some of them twins of a pending one) and deliver slots; some slots never
    // deliver, so their records must move forward. After any step, what a restart restores is the model's:
    // a record may still hold a delivered transfer beside a pending one, and the ledger's slots filter it.
    const op = fc.record({ accept: fc.nat(5), deliver: fc.nat(5), twin: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), fc.nat(39), async (steps, stopAt) => {
        await withDatabase("tally-submitted-", async (db) => {
          const log = new SubmittedLog();
          const pending = new Map<string, EncodedTransfer[]>(); // slot → accepted transfers
          const nextSeq = [1, 1, 1];
          // The ledger's slots, durable in the same batches: what a restart's `isSettled` consults.
          const delivered = new Set<string>();
          for (const [n, step] of steps.entries()) {
            for (let i = 0; i < step.accept; i++) {
              const source = (n + i) % 3;
              const slots = [...pending.keys()].filter((s) => s.startsWith(`${source}/`));
              const t =
                step.twin && slots.length > 0
                  ? transfer(source, Number(slots[0]!.split("/")[1]), 1 + pending.get(slots[0]!)!.length)
                  : transfer(source, nextSeq[source]!++);
              const slot = `${source}/${t.transfer.seq}`;
              pending.set(slot, [...(pending.get(slot) ?? []), t]);
              log.add(t);
            }
            // Slots of account 2 are never delivered: they pin their records.
            for (const slot of [...pending.keys()]
              .filter((s) => !s.startsWith("2/"))
              .slice(0, step.deliver)) {
              const [source, seq] = slot.split("/").map(Number) as [number, number];
              log.settle(keys[source]!.address, seq);
              pending.delete(slot);
              delivered.add(`${keys[source]!.address}/${seq}`);
            }
            await writeBatch(db, log.take());
            if (n === stopAt % steps.length) break;
          }
          const onDisk = await keysIn(db);
          assert.ok(onDisk.length <= RELOCATE_AFTER_RECORDS + 1);
          const { restored } = await reload(db, (source, seq) => delivered.has(`${source}/${seq}`));
          assert.deepEqual(
            ids(restored),
            ids([...pending.values()].flat()),
            `after ${delivered.size} deliveries`,
          );
        });
      }),
      { numRuns: 40 },
    );
  });

  it("keeps a transfer pinned by a slot that never delivers in at most RELOCATE_AFTER_RECORDS + 1 records", () => {
    const log = new SubmittedLog();
    const stuck = transfer(2, 1);
    log.add(stuck);
    for (let step = 0; step < 3 * RELOCATE_AFTER_RECORDS; step++) {
      const t = transfer(0, step + 1);
      log.add(t);
      log.take();
      log.settle(keys[0]!.address, step + 1);
      assert.ok(log.recordCount <= RELOCATE_AFTER_RECORDS + 1, `step ${step}: ${log.recordCount} records`);
    }
  });

  it("drops on restart what was delivered before the crash, and deletes the records left holding nothing", async () => {
    await withDatabase("tally-submitted-", async (db) => {
      const log = new SubmittedLog();
      const [a, b] = [transfer(0, 1), transfer(1, 1)];
      log.add(a);
      await writeBatch(db, log.take());
      log.add(b);
      await writeBatch(db, log.take());
      // The ledger holds a's slot (its delivery's batch was durable), b's is still open.
      const settled = (source: string) => source === keys[0]!.address;
      const { log: restarted, restored } = await reload(db, settled);
      assert.deepEqual(ids(restored), [b.id]);
      await writeBatch(db, restarted.take());
      assert.equal((await keysIn(db)).length, 1, "a's record is gone");
      assert.deepEqual(ids((await reload(db)).restored), [b.id]);
    });
  });

  it("migrates the one-key-per-transfer layout into a record and deletes the old keys", async () => {
    await withDatabase("tally-submitted-", async (db) => {
      const old = [transfer(0, 3), transfer(1, 7), transfer(2, 1)];
      await writeBatch(
        db,
        old.map((t) => ({ type: "put", key: key(Bucket.submitted, t.id), value: t.bytes })),
      );
      const settled = (source: string) => source === keys[1]!.address;
      const { log, restored } = await reload(db, settled);
      assert.deepEqual(ids(restored), ids([old[0]!, old[2]!]));
      await writeBatch(db, log.take());
      const onDisk = await keysIn(db);
      assert.equal(onDisk.length, 1);
      assert.ok(onDisk[0]!.startsWith(`${Bucket.submittedLog}/`));
      assert.deepEqual(ids((await reload(db)).restored), ids([old[0]!, old[2]!]));
    });
  });

  it("refuses a corrupt record rather than forget what it promised", async () => {
    await withDatabase("tally-submitted-", async (db) => {
      const t = transfer(0, 1);
      const entry = new Uint8Array(4 + t.bytes.length);
      new DataView(entry.buffer).setUint32(0, t.bytes.length + 1); // one byte longer than the record holds
      entry.set(t.bytes, 4);
      await db.put(key(Bucket.submittedLog, "0000000000000001"), entry);
      await assert.rejects(SubmittedLog.load(db), (e) => isTallyError(e) && /corrupt/.test(e.message));
    });
  });
});
