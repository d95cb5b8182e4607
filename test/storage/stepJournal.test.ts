import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EncodedTransfer } from "../../src/core/transfer.ts";
import { MemoryLedgerStore } from "../../src/ledger/memoryStore.ts";
import type { LedgerStore } from "../../src/ledger/store.ts";
import { type BatchOp, type NodeDatabase, openDatabase, writeBatch } from "../../src/storage/database.ts";
import { LevelLedgerStore } from "../../src/storage/levelLedgerStore.ts";
import { PendingHistory } from "../../src/storage/pendingHistory.ts";
import { type JournalLimits, StepJournal } from "../../src/storage/stepJournal.ts";
import { deliverQuietly, ledgerOver } from "../ledger/ledgerOver.ts";
import type { Scenario } from "../ledger/scenario.ts";
import { makeTransfer, testKey } from "../support/fixtures.ts";
import { withTempDir } from "../support/tempDatabase.ts";

/**
 * Unreferenced payments reach LevelDB at checkpoints; between them each step journals the transfers it
 * applied. What a user cares about: whenever the node stops, its balances and spendable payments come back
 * exactly as they were, and payments spent between checkpoints cost no write at all.
 */

/**
 * Honest payments in rounds: every account pays the next one (and every fourth time the one after), spending
 * the payments it received since its last transfer — except account 0, which keeps them for nine rounds of
 * ten, so some payments stay unspent across checkpoints.
 */
function paymentRounds(accounts: number, rounds: number): Scenario {
  const keys = Array.from({ length: accounts }, (_, i) => testKey(i));
  const genesis = new Map(keys.map((k) => [k.address, 1_000_000n]));
  const received: string[][] = keys.map(() => []);
  const delivered: EncodedTransfer[] = [];
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < accounts; i++) {
      const to = [(i + 1) % accounts, ...((r + i) % 4 === 0 ? [(i + 2) % accounts] : [])];
      const outputs = to.map((j) => ({ to: keys[j]!.address, amount: BigInt(1 + ((r + i + j) % 7)) }));
      const spends = i !== 0 || r % 10 === 9;
      const deps = spends ? [...received[i]!].sort() : [];
      if (spends) received[i] = [];
      const t = makeTransfer(keys[i]!, r + 1, outputs, deps);
      delivered.push(t);
      for (const j of to) received[j]!.push(t.id);
    }
  }
  return { keys, genesis, delivered, noise: [] };
}

async function keysIn(db: NodeDatabase, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const k of db.keys({ gte: `${bucket}/`, lt: `${bucket}/\uffff` })) keys.push(k);
  return keys;
}

/** Every account's record and unreferenced payments in `store` equal the reference's. */
function assertSameAccounts(
  scenario: Scenario,
  store: LedgerStore,
  reference: MemoryLedgerStore,
  at: string,
) {
  for (const key of scenario.keys) {
    assert.deepEqual(store.getAccount(key.address), reference.getAccount(key.address), `${at}: account`);
    assert.deepEqual(
      store.listUnreferenced(key.address, 1_000),
      reference.listUnreferenced(key.address, 1_000),
      `${at}: unreferenced payments of ${key.address}`,
    );
  }
}

const withDir = <T>(run: (dir: string) => Promise<T>) => withTempDir("tally-journal-", run);

describe("unreferenced payments: journaled per step, checkpointed in bulk", () => {
  it("a node stopped after any step reopens with exactly the balances and payments it had", async () => {
    const scenario = paymentRounds(6, 12);
    const stream = scenario.delivered;
    // Checkpoints every few transfers, so stops land before, on and after them.
    const limits: JournalLimits = { changes: 9, transfers: 5, historyEntries: 14 };
    let sawJournal = 0;
    let sawCheckpointed = 0;
    for (let stop = 1; stop <= stream.length; stop += 4) {
      await withDir(async (dir) => {
        const referenceStore = new MemoryLedgerStore();
        const reference = ledgerOver(scenario, referenceStore);
        let db = await openDatabase(dir);
        let store = await LevelLedgerStore.open(db, { journalLimits: limits });
        let ledger = ledgerOver(scenario, store);
        for (const e of stream.slice(0, stop)) {
          deliverQuietly(reference, e);
          deliverQuietly(ledger, e);
          await store.flush(); // one step, durable; the stop comes after any of them
        }
        if ((await keysIn(db, "13")).length > 0) sawJournal++;
        if ((await keysIn(db, "04")).length > 0) sawCheckpointed++;
        await db.close();

        db = await openDatabase(dir);
        store = await LevelLedgerStore.open(db, { journalLimits: limits });
        ledger = ledgerOver(scenario, store);
        assertSameAccounts(scenario, store, referenceStore, `reopened after ${stop} deliveries`);
        assert.deepEqual(await keysIn(db, "13"), [], "the open checkpoints the journal it replayed");
        // And it goes on from there as if it had never stopped.
        for (const e of stream.slice(stop)) {
          deliverQuietly(reference, e);
          deliverQuietly(ledger, e);
          await store.flush();
        }
        assertSameAccounts(scenario, store, referenceStore, `the rest after a stop at ${stop}`);
        for (const e of stream) assert.deepEqual(ledger.status(e.id), reference.status(e.id));
        await db.close();
      });
    }
    assert.ok(sawJournal > 0, "some stops left journal records to replay");
    assert.ok(sawCheckpointed > 0, "some stops came after checkpoints had written payments");
  });

  it("checkpoints write each payment at most once and delete only what an earlier checkpoint wrote", async () => {
    const scenario = paymentRounds(6, 25);
    await withDir(async (dir) => {
      const referenceStore = new MemoryLedgerStore();
      const reference = ledgerOver(scenario, referenceStore);
      const db = await openDatabase(dir);
      const store = await LevelLedgerStore.open(db, {
        journalLimits: { changes: 16, transfers: 12, historyEntries: 40 },
      });
      const ledger = ledgerOver(scenario, store);
      const onDisk = new Set<string>();
      let puts = 0;
      let deletes = 0;
      for (const e of scenario.delivered) {
        deliverQuietly(reference, e);
        deliverQuietly(ledger, e);
        const batch = store.takeQueued();
        for (const op of batch) {
          if (!op.key.startsWith("04/")) continue;
          if (op.type === "put") {
            assert.ok(!onDisk.has(op.key), `${op.key} written twice`);
            onDisk.add(op.key);
            puts++;
          } else {
            assert.ok(onDisk.delete(op.key), `${op.key} deleted but never written`);
            deletes++;
          }
        }
        await writeBatch(db, batch);
        store.settleTaken();
      }
      const payments = scenario.delivered.reduce((n, t) => n + t.transfer.outputs.length, 0);
      assert.ok(deletes > 0, "payments written at one checkpoint were deleted at a later one");
      assert.ok(puts < payments / 2, `${puts} of ${payments} payments reached the disk`);
      assertSameAccounts(scenario, store, referenceStore, "end");
      await db.close();
    });
  });

  it("a payment spent before the next checkpoint is never written, and one still unspent is", async () => {
    const scenario = paymentRounds(6, 25);
    const stream = scenario.delivered;
    await withDir(async (dir) => {
      const referenceStore = new MemoryLedgerStore();
      const reference = ledgerOver(scenario, referenceStore);
      let db = await openDatabase(dir);
      let store = await LevelLedgerStore.open(db); // default limits: no checkpoint in this run
      const ledger = ledgerOver(scenario, store);
      let paymentWrites = 0;
      let journalRecords = 0;
      for (const e of stream) {
        deliverQuietly(reference, e);
        deliverQuietly(ledger, e);
        const batch = store.takeQueued();
        paymentWrites += batch.filter((op) => op.key.startsWith("04/")).length;
        journalRecords += batch.filter((op) => op.key.startsWith("13/")).length;
        await writeBatch(db, batch);
        store.settleTaken();
      }
      const payments = scenario.delivered
        .filter((t) => reference.status(t.id)?.status === "applied")
        .reduce((n, t) => n + t.transfer.outputs.length, 0);
      const spent = scenario.delivered
        .filter((t) => reference.status(t.id)?.status === "applied")
        .reduce((n, t) => n + t.transfer.deps.length, 0);
      assert.ok(payments > 50 && spent > 20, `${payments} payments made, ${spent} spent`);
      assert.equal(paymentWrites, 0, "no payment reached bucket 04 between checkpoints");
      assert.ok(journalRecords > 0, "steps that applied transfers journaled them");
      await db.close();

      db = await openDatabase(dir);
      store = await LevelLedgerStore.open(db);
      assertSameAccounts(scenario, store, referenceStore, "reopened");
      const onDisk = (await keysIn(db, "04")).length;
      const unspent = scenario.keys.reduce(
        (n, k) => n + referenceStore.listUnreferenced(k.address, 1_000).length,
        0,
      );
      assert.equal(onDisk, unspent, "the checkpoint at open wrote exactly the unspent payments");
      assert.ok(unspent < payments, "the spent ones were never written");
      await db.close();
    });
  });
});

describe("StepJournal, on its own", () => {
  const a = testKey(1).address;
  const b = testKey(2).address;
  const c = testKey(3).address;
  const [x, y, z] = ["aa", "bb", "cc"].map((h) => h.repeat(32));

  /** The journal after: a payment to a created then spent (never on disk), one to b created, one to c spent. */
  function journalWith(limits: JournalLimits): StepJournal {
    const journal = new StepJournal(new PendingHistory(), new MemoryLedgerStore(), limits);
    journal.put(a, x!, 5n);
    journal.put(b, y!, 6n);
    journal.delete(a, x!);
    journal.delete(c, z!);
    journal.resolved("11".repeat(32), 1, true);
    return journal;
  }

  it("counts pending changes over all recipients: a payment created and spent in between is none", () => {
    const under: BatchOp[] = [];
    journalWith({ changes: 3, transfers: 100, historyEntries: 100 }).take(under);
    assert.deepEqual(
      under.map((op) => op.key.slice(0, 3)),
      ["13/"],
      "two changes pending, under three: a journal record",
    );
    const due: BatchOp[] = [];
    journalWith({ changes: 2, transfers: 100, historyEntries: 100 }).take(due);
    assert.deepEqual(
      due.map((op) => (op.type === "put" ? { put: op.key, value: op.value } : { del: op.key })),
      [{ put: `04/${b}/${y}`, value: '"6"' }, { del: `04/${c}/${z}` }],
      "two changes pending, at the limit: a checkpoint of exactly them",
    );
  });
});
