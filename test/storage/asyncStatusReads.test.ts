import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it, mock } from "node:test";
import { isTallyError } from "../../src/core/errors.ts";
import { MAX_DEPS } from "../../src/core/limits.ts";
import type { EncodedTransfer } from "../../src/core/transfer.ts";
import type { Ledger } from "../../src/ledger/ledger.ts";
import { MemoryLedgerStore } from "../../src/ledger/memoryStore.ts";
import { LevelLedgerStore, type LoadedStatuses } from "../../src/storage/levelLedgerStore.ts";
import { deliverQuietly, ledgerOver } from "../ledger/ledgerOver.ts";
import { buildScenario, type Scenario, sampleOps, shuffle } from "../ledger/scenario.ts";
import { makeTransfer, testKey } from "../support/fixtures.ts";
import { withDatabase } from "../support/tempDatabase.ts";

/** What a wallet submitting `e` would be told by the precheck: "ok" or the error code. */
function precheckOutcome(ledger: Ledger, e: EncodedTransfer): string {
  try {
    ledger.precheck(e);
    return "ok";
  } catch (error) {
    assert.ok(isTallyError(error));
    return error.code;
  }
}

/** As the node's read model reads: probe, load what is missing asynchronously, probe again. */
async function readLoading<T>(store: LevelLedgerStore, read: () => T): Promise<T> {
  const loaded: LoadedStatuses = new Map();
  for (let round = 0; round < 2; round++) {
    const { value, missing } = store.probeStatuses(loaded, read);
    if (missing.length === 0) return value;
    await store.loadStatuses(missing, loaded);
  }
  const { value, missing } = store.probeStatuses(loaded, read);
  assert.deepEqual(missing, [], "a ledger that does not move needs two rounds at most");
  return value;
}

function scenario(seed: number): Scenario {
  const ops = sampleOps(seed, 150);
  return buildScenario(6, [1000, 0, 250_000, 7, 40], ops);
}

describe("asynchronous status reads (the API's)", () => {
  it("answer statuses and prechecks of evicted transfers as the in-memory ledger does, never with a blocking read", async () => {
    const s = scenario(23);
    const stream = shuffle([...s.delivered, ...s.noise], 17);
    await withDatabase("tally-store-", async (db) => {
      const reference = ledgerOver(s, new MemoryLedgerStore());
      const store = await LevelLedgerStore.open(db, { recentStatuses: 4 });
      const ledger = ledgerOver(s, store);
      for (const e of stream) {
        deliverQuietly(reference, e);
        deliverQuietly(ledger, e);
        await store.flush();
      }
      const blockingReads = mock.method(db, "getSync");
      try {
        let fromDisk = 0;
        for (const e of stream) {
          if (store.heldStatus(e.id) === undefined) fromDisk++;
          assert.deepEqual(await readLoading(store, () => ledger.status(e.id)), reference.status(e.id));
          // Stale seqs, twins and reused or unknown deps: the precheck's own lookups.
          assert.equal(
            await readLoading(store, () => precheckOutcome(ledger, e)),
            precheckOutcome(reference, e),
          );
        }
        assert.equal(await readLoading(store, () => ledger.status("ab".repeat(32))), undefined);
        assert.ok(fromDisk > 40, `${fromDisk} statuses came from disk`);
        assert.equal(blockingReads.mock.callCount(), 0);
      } finally {
        blockingReads.mock.restore();
      }
    });
  });

  it("do not trust an absence read before the transfer resolved once its status has left memory", async () => {
    // Read "absent", then the transfer resolves and (a tiny bound) leaves memory for disk: the loaded absence
    // is stale, so the store asks for the status again instead of answering "unknown".
    const s = scenario(29);
    const stream = shuffle([...s.delivered, ...s.noise], 31);
    await withDatabase("tally-store-", async (db) => {
      const reference = ledgerOver(s, new MemoryLedgerStore());
      for (const e of stream) deliverQuietly(reference, e);
      const target = stream.find((e) => reference.status(e.id)?.status === "applied")!;
      const store = await LevelLedgerStore.open(db, { recentStatuses: 1 });
      const ledger = ledgerOver(s, store);
      const loaded: LoadedStatuses = new Map();
      await store.loadStatuses([target.id], loaded);
      assert.equal(loaded.get(target.id)?.record, undefined, "not resolved yet when read");
      for (const e of stream) {
        deliverQuietly(ledger, e);
        await store.flush();
      }
      assert.equal(store.heldStatus(target.id), undefined, "evicted since");
      const probe = store.probeStatuses(loaded, () => ledger.status(target.id));
      assert.deepEqual(probe.missing, [target.id]);
      assert.deepEqual(await readLoading(store, () => ledger.status(target.id)), reference.status(target.id));
      assert.deepEqual(
        store.withLoadedStatuses(loaded, () => ledger.status(target.id)),
        reference.status(target.id),
        "falls back to reading in place",
      );
    });
  });

  it("read at most one dep's status for a submission, however many made-up deps it names", async () => {
    await withDatabase("tally-store-", async (db) => {
      const store = await LevelLedgerStore.open(db, {});
      const key = testKey(700);
      const ledger = ledgerOver({ genesis: new Map([[key.address, 1_000n]]) }, store);
      const deps = Array.from({ length: MAX_DEPS }, () => randomBytes(32).toString("hex")).sort();
      const junk = makeTransfer(key, 1, [{ to: testKey(701).address, amount: 1n }], deps);
      const reads = mock.method(db, "get");
      try {
        assert.equal(await readLoading(store, () => precheckOutcome(ledger, junk)), "UNKNOWN_DEPENDENCY");
        // The first made-up dep's status, then its body (absent, so not an applied transfer either).
        assert.equal(reads.mock.callCount(), 2);
      } finally {
        reads.mock.restore();
      }
    });
  });
});
