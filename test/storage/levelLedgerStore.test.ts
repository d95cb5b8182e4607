import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { MemoryLedgerStore } from "../../src/ledger/memoryStore.ts";
import { openDatabase, writeBatch } from "../../src/storage/database.ts";
import { LevelLedgerStore } from "../../src/storage/levelLedgerStore.ts";
import { deliverQuietly, ledgerOver } from "../ledger/ledgerOver.ts";
import { buildScenario, sampleOps, shuffle } from "../ledger/scenario.ts";

describe("LevelDB ledger store", () => {
  it("survives close and reopen mid-stream and ends where the in-memory ledger ends", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tally-store-"));
    try {
      const ops = sampleOps(7, 120);
      const scenario = buildScenario(5, [1000, 0, 250_000, 7], ops);
      const stream = shuffle([...scenario.delivered, ...scenario.noise], 99);
      const reference = ledgerOver(scenario, new MemoryLedgerStore());
      for (const e of stream) deliverQuietly(reference, e);

      const half = Math.floor(stream.length / 2);
      let db = await openDatabase(dir);
      let store = await LevelLedgerStore.open(db);
      let ledger = ledgerOver(scenario, store);
      for (const e of stream.slice(0, half)) {
        deliverQuietly(ledger, e);
        await store.flush();
      }
      await db.close();

      db = await openDatabase(dir);
      store = await LevelLedgerStore.open(db);
      ledger = ledgerOver(scenario, store);
      for (const e of stream.slice(half)) {
        deliverQuietly(ledger, e);
        await store.flush();
      }
      for (const key of scenario.keys) {
        assert.deepEqual(ledger.account(key.address), reference.account(key.address));
      }
      for (const e of stream) assert.deepEqual(ledger.status(e.id), reference.status(e.id));

      const applied = scenario.delivered.find((e) => reference.status(e.id)?.status === "applied")!;
      assert.equal((await store.body(applied.id))?.id, applied.id, "bodies are kept on disk");
      const history = await store.history(applied.transfer.source, 1000);
      assert.ok(history.some((h) => h.id === applied.id && h.direction === "out"));
      await db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("answers every status from disk once the recent ones are evicted, and agrees with the in-memory ledger", async () => {
    // Memory holds only the newest resolved statuses; older ones must come back from LevelDB unchanged,
    // including on the paths that decide verdicts (deps that are not unreferenced payments, stale seqs).
    const dir = await mkdtemp(join(tmpdir(), "tally-store-"));
    try {
      const ops = sampleOps(23, 150);
      const scenario = buildScenario(6, [1000, 0, 250_000, 7, 40], ops);
      const stream = shuffle([...scenario.delivered, ...scenario.noise], 17);
      const reference = ledgerOver(scenario, new MemoryLedgerStore());
      const db = await openDatabase(dir);
      const store = await LevelLedgerStore.open(db, { recentStatuses: 4 });
      const ledger = ledgerOver(scenario, store);
      for (const e of stream) {
        deliverQuietly(reference, e);
        deliverQuietly(ledger, e);
        await store.flush();
      }
      const resolved = stream.filter((e) => reference.status(e.id)?.status !== "delivered");
      assert.ok(resolved.length > 40, "far more resolved transfers than the 4 kept in memory");
      for (const e of stream) assert.deepEqual(ledger.status(e.id), reference.status(e.id));
      for (const key of scenario.keys) {
        assert.deepEqual(ledger.account(key.address), reference.account(key.address));
      }
      await db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("keeps every status readable while its batch is not yet written, whatever the bound", async () => {
    // One batch may resolve far more transfers than memory keeps: none may be lost between the take and the
    // write (the ledger would then wait on a dep it already judged, for good).
    const dir = await mkdtemp(join(tmpdir(), "tally-store-"));
    try {
      const ops = sampleOps(29, 150);
      const scenario = buildScenario(6, [1000, 0, 250_000, 7, 40], ops);
      const stream = shuffle([...scenario.delivered, ...scenario.noise], 31);
      const reference = ledgerOver(scenario, new MemoryLedgerStore());
      const db = await openDatabase(dir);
      const store = await LevelLedgerStore.open(db, { recentStatuses: 4 });
      const ledger = ledgerOver(scenario, store);
      const taken = [];
      for (const e of stream) {
        deliverQuietly(reference, e);
        deliverQuietly(ledger, e);
        taken.push(...store.takeQueued()); // taken, as the node takes them per event, not yet written
      }
      for (const e of stream) assert.deepEqual(ledger.status(e.id), reference.status(e.id));
      await writeBatch(db, taken);
      await db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("writes the same database whether it flushes after every delivery or once per many", async () => {
    // Batches coalesce writes per key (a marker created and dropped in one batch never reaches disk), and
    // unreferenced payments reach disk at checkpoints, with a journal of the steps between: whatever the batch
    // sizes, the database must end byte for byte the same once reopened (which replays and checkpoints).
    const ops = sampleOps(11, 150);
    const scenario = buildScenario(6, [1000, 0, 250_000, 7, 40], ops);
    const stream = shuffle([...scenario.delivered, ...scenario.noise], 5);
    const batchSizes = [1, 7, 64, stream.length];
    const dumps: [string, string][][] = [];
    for (const batchSize of batchSizes) {
      const dir = await mkdtemp(join(tmpdir(), "tally-store-"));
      try {
        const db = await openDatabase(dir);
        const store = await LevelLedgerStore.open(db);
        const ledger = ledgerOver(scenario, store);
        for (let i = 0; i < stream.length; i++) {
          deliverQuietly(ledger, stream[i]!);
          if ((i + 1) % batchSize === 0) await store.flush();
        }
        await store.flush();
        await db.close();
        const reopened = await openDatabase(dir);
        await LevelLedgerStore.open(reopened);
        const dump: [string, string][] = [];
        for await (const [k, v] of reopened.iterator()) dump.push([k, Buffer.from(v).toString("hex")]);
        dumps.push(dump);
        await reopened.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    assert.ok(
      dumps[0]!.some(([k]) => k.startsWith("05/")),
      "some transfers are still waiting at the end",
    );
    for (let i = 1; i < dumps.length; i++)
      assert.deepEqual(dumps[i], dumps[0], `batch size ${batchSizes[i]}`);
  });
  it("writes a payer's account record at the next checkpoint and never a recipient's for being paid", async () => {
    // A received payment changes only the recipient's unreferenced total, which is not stored: it is the sum
    // of the recipient's unreferenced payments. A payer's record changes with every transfer it resolves, and
    // is written once per checkpoint, however many it resolved in between; the journal covers the steps.
    const ops = sampleOps(5, 600);
    const scenario = buildScenario(6, [1000, 0, 250_000, 7, 40], ops);
    const stream = shuffle([...scenario.delivered, ...scenario.noise], 3);
    const referenceStore = new MemoryLedgerStore();
    const reference = ledgerOver(scenario, referenceStore);
    for (const e of stream) deliverQuietly(reference, e);
    const dir = await mkdtemp(join(tmpdir(), "tally-store-"));
    try {
      let db = await openDatabase(dir);
      let store = await LevelLedgerStore.open(db, {
        journalLimits: { changes: 12, transfers: 3, historyEntries: 24 },
      });
      let ledger = ledgerOver(scenario, store);
      const genesis = store.takeQueued();
      assert.deepEqual(
        genesis
          .filter((op) => op.key.startsWith("01/"))
          .map((op) => op.key.slice(3))
          .sort(),
        [...scenario.genesis.keys()].sort(),
        "a new account's record is written in its own step",
      );
      await writeBatch(db, genesis);
      store.settleTaken();
      const onDisk = new Set(scenario.genesis.keys());
      let checkpoints = 0;
      let deferred = 0;
      const resolved = new Set<string>();
      for (const e of stream) {
        deliverQuietly(ledger, e);
        const batch = store.takeQueued();
        // A resolved transfer (applied or rejected) takes its source's seq; only an applied one pays.
        const payers = new Set<string>();
        for (const t of scenario.delivered) {
          const status = ledger.status(t.id)?.status;
          if (resolved.has(t.id) || (status !== "applied" && status !== "rejected")) continue;
          resolved.add(t.id);
          payers.add(t.transfer.source);
        }
        const written = batch.filter((op) => op.key.startsWith("01/")).map((op) => op.key.slice(3));
        const checkpoint = batch.some((op) => op.key === "00/historyCounter");
        if (!checkpoint) {
          for (const address of written)
            assert.ok(!onDisk.has(address), "between checkpoints, new records only");
          for (const payer of payers) if (onDisk.has(payer)) deferred++;
        }
        for (const address of written) onDisk.add(address);
        await writeBatch(db, batch);
        store.settleTaken();
        if (!checkpoint) continue;
        checkpoints++;
        // After a checkpoint every record on disk is current, and every account with a seq or funds has one:
        // paid-only accounts (seq 0, nothing spendable) have none.
        for (const key of scenario.keys) {
          const stored = await db.get(`01/${key.address}`);
          const account = store.getAccount(key.address);
          const bare = account === undefined || (account.seq === 0 && account.spendable === 0n);
          assert.equal(
            stored === undefined,
            bare,
            `${key.address}: a record exactly if it has a seq or funds`,
          );
          if (stored !== undefined)
            assert.deepEqual(JSON.parse(Buffer.from(stored).toString()), {
              seq: account!.seq,
              spendable: String(account!.spendable),
            });
        }
      }
      assert.ok(checkpoints > 2, `${checkpoints} checkpoints, ${resolved.size} resolved`);
      assert.ok(deferred > 0, `${deferred} changes of a record on disk waited for a checkpoint`);
      await db.close();

      db = await openDatabase(dir);
      store = await LevelLedgerStore.open(db);
      ledger = ledgerOver(scenario, store);
      for (const key of scenario.keys) {
        assert.deepEqual(ledger.account(key.address), reference.account(key.address));
        assert.deepEqual(store.getAccount(key.address), referenceStore.getAccount(key.address));
      }
      await db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("writes no status record for a transfer applied on delivery, and keeps one for a transfer that waited", async () => {
    // Its body, written in the same batch, says "applied": one LevelDB write fewer for nearly every transfer.
    const ops = sampleOps(13, 150);
    const scenario = buildScenario(6, [1000, 0, 250_000, 7, 40], ops);
    const stream = shuffle([...scenario.delivered, ...scenario.noise], 21);
    const dir = await mkdtemp(join(tmpdir(), "tally-store-"));
    try {
      const db = await openDatabase(dir);
      const store = await LevelLedgerStore.open(db, { recentStatuses: 1 });
      const ledger = ledgerOver(scenario, store);
      const waited = new Set<string>();
      for (const e of stream) {
        deliverQuietly(ledger, e);
        for (const t of scenario.delivered) if (ledger.status(t.id)?.status === "delivered") waited.add(t.id);
        await store.flush();
      }
      const applied = scenario.delivered.filter((t) => ledger.status(t.id)?.status === "applied");
      const appliedWaited = applied.filter((t) => waited.has(t.id));
      assert.ok(appliedWaited.length > 0 && appliedWaited.length < applied.length, "both kinds were applied");
      for (const t of applied) {
        const record = await db.get(`02/${t.id}`);
        assert.equal(record !== undefined, waited.has(t.id), `status record of ${t.id}`);
        assert.deepEqual(store.getStatus(t.id), { status: "applied" }, "read back from disk either way");
      }
      await db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reads account records of the earlier format, which also stored the unreferenced total", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tally-store-"));
    try {
      const db = await openDatabase(dir);
      await writeBatch(db, [
        { type: "put", key: "01/payer", value: '{"seq":3,"spendable":"10","unreferencedTotal":"7"}' },
        { type: "put", key: "04/payer/aa", value: '"5"' },
        { type: "put", key: "04/payer/bb", value: '"2"' },
        { type: "put", key: "04/payee/cc", value: '"4"' },
      ]);
      const store = await LevelLedgerStore.open(db);
      assert.deepEqual(store.getAccount("payer"), { seq: 3, spendable: 10n, unreferencedTotal: 7n });
      assert.deepEqual(store.getAccount("payee"), { seq: 0, spendable: 0n, unreferencedTotal: 4n });
      assert.equal(store.getAccount("nobody"), undefined);
      await db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("deletes only keys it wrote: a transfer resolved on delivery leaves no marker to delete", async () => {
    // Every write costs the node time and LevelDB work; a delete of a marker that was never written (the
    // transfer never waited) is pure waste. Count the deletes of keys absent from every earlier batch.
    const ops = sampleOps(3, 150);
    const scenario = buildScenario(6, [1000, 0, 250_000, 7, 40], ops);
    const stream = shuffle([...scenario.delivered, ...scenario.noise], 9);
    const dir = await mkdtemp(join(tmpdir(), "tally-store-"));
    try {
      const db = await openDatabase(dir);
      const store = await LevelLedgerStore.open(db);
      const ledger = ledgerOver(scenario, store);
      const written = new Set<string>();
      let deletes = 0;
      const strayDeletes: string[] = [];
      for (let i = 0; i < stream.length; i++) {
        deliverQuietly(ledger, stream[i]!);
        if (i % 5 !== 4 && i !== stream.length - 1) continue;
        const batch = store.takeQueued();
        for (const op of batch) {
          if (op.type === "put") written.add(op.key);
          else if (written.has(op.key)) deletes++;
          else strayDeletes.push(op.key);
        }
        await writeBatch(db, batch);
        store.settleTaken();
      }
      assert.ok(deletes > 0, "the stream deletes some markers and unreferenced entries it wrote");
      assert.deepEqual(strayDeletes, []);
      await db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
