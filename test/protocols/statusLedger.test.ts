import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isTallyError } from "../../src/core/errors.ts";
import type { EncodedTransfer } from "../../src/core/transfer.ts";
import type { Ledger, TransferStatusChange } from "../../src/ledger/ledger.ts";
import { MemoryLedgerStore } from "../../src/ledger/memoryStore.ts";
import { WatermarkSummary } from "../../src/protocols/status/watermarkSummary.ts";
import { openDatabase } from "../../src/storage/database.ts";
import { LevelLedgerStore } from "../../src/storage/levelLedgerStore.ts";
import { ledgerOver } from "../ledger/ledgerOver.ts";
import { buildScenario, type Scenario, sampleOps, shuffle } from "../ledger/scenario.ts";

function scenario(seed: number): Scenario {
  const ops = sampleOps(seed, 80);
  return buildScenario(6, [1000, 0, 250_000], ops);
}

/** Delivers like the node would, and advances the summary the way the node is meant to. */
function deliverAll(ledger: Ledger, stream: readonly EncodedTransfer[], summary: WatermarkSummary): void {
  for (const e of stream) {
    let changes: TransferStatusChange[];
    try {
      changes = ledger.deliver(e);
    } catch (error) {
      assert.ok(isTallyError(error));
      continue;
    }
    for (const c of changes) if (c.status !== "delivered") summary.advance(c.source, c.seq - 1, c.seq);
  }
}

describe("ledger watermarks for the status summary", () => {
  it("lists every account with the seq of its last resolved outgoing transfer", () => {
    const s = scenario(5);
    const ledger = ledgerOver(s, new MemoryLedgerStore());
    const summary = new WatermarkSummary();
    deliverAll(ledger, shuffle([...s.delivered, ...s.noise], 17), summary);

    const watermarks = new Map(ledger.accountWatermarks());
    for (const key of s.keys) {
      const expected = ledger.account(key.address).nextSeq - 1;
      assert.equal(watermarks.get(key.address) ?? 0, expected, key.address);
    }
    for (const address of s.genesis.keys()) assert.ok(watermarks.has(address), "genesis accounts are listed");
    assert.ok(
      [...watermarks.values()].some((seq) => seq > 0),
      "the scenario resolves something",
    );
    assert.deepEqual(WatermarkSummary.fromWatermarks(watermarks).snapshot(), summary.snapshot());
  });

  it("lists the same watermarks from LevelDB after a restart", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tally-status-"));
    try {
      const s = scenario(9);
      const stream = shuffle([...s.delivered, ...s.noise], 3);
      const reference = ledgerOver(s, new MemoryLedgerStore());
      deliverAll(reference, stream, new WatermarkSummary());

      let db = await openDatabase(dir);
      let store = await LevelLedgerStore.open(db);
      const ledger = ledgerOver(s, store);
      for (const e of stream) {
        deliverAll(ledger, [e], new WatermarkSummary());
        await store.flush();
      }
      await db.close();

      db = await openDatabase(dir);
      store = await LevelLedgerStore.open(db);
      const reopened = ledgerOver(s, store);
      const sorted = (l: Ledger) => [...l.accountWatermarks()].sort(([a], [b]) => (a < b ? -1 : 1));
      assert.deepEqual(sorted(reopened), sorted(reference));
      await db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
