import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it, mock } from "node:test";
import { ErrorCode } from "../../src/core/errors.ts";
import { MAX_DEPS } from "../../src/core/limits.ts";
import type { EncodedTransfer } from "../../src/core/transfer.ts";
import type { Ledger } from "../../src/ledger/ledger.ts";
import { MemoryLedgerStore } from "../../src/ledger/memoryStore.ts";
import { LevelLedgerStore } from "../../src/storage/levelLedgerStore.ts";
import { deliverQuietly, ledgerOver } from "../ledger/ledgerOver.ts";
import { buildScenario, sampleOps, shuffle } from "../ledger/scenario.ts";
import { makeTransfer, testKey } from "../support/fixtures.ts";
import { withDatabase } from "../support/tempDatabase.ts";

/** What the node asks the ledger about a peer's payload, in its order: a taken slot is dropped first. */
function peerAdmission(ledger: Ledger, e: EncodedTransfer): string | undefined {
  const t = e.transfer;
  return ledger.isSlotTaken(t.source, t.seq) ? undefined : ledger.admission(e).kind;
}

/**
 * A peer's payload is judged for echo before its signature is checked, and a peer may send as many as its
 * channel budget allows, each naming up to MAX_DEPS deps. Those judgements must cost no disk read: a read per
 * made-up dep made one payload cost up to 512 blocking LevelDB reads.
 */
describe("echo admission of a peer's payload", () => {
  it("reads nothing from disk, and admits exactly what a ledger holding everything in memory admits", async () => {
    const s = buildScenario(6, [1000, 0, 250_000, 7, 40], sampleOps(41, 150));
    const stream = shuffle([...s.delivered, ...s.noise], 43);
    await withDatabase("tally-admission-", async (db) => {
      const reference = ledgerOver(s, new MemoryLedgerStore());
      // Four recent statuses: nearly every resolved dep's status has left memory for disk.
      const store = await LevelLedgerStore.open(db, { recentStatuses: 4 });
      const ledger = ledgerOver(s, store);
      const blockingReads = mock.method(db, "getSync");
      const outcomes = new Map<string, number>();
      try {
        for (const e of stream) {
          // Each payload judged at every point of the ledger's history, then delivered.
          for (const candidate of stream) {
            const expected = peerAdmission(reference, candidate);
            const got = peerAdmission(ledger, candidate);
            if (expected === "never" && got === "later") {
              // Only a dep whose verdict is on disk alone may turn a refusal into a wait.
              const refused = reference.admission(candidate);
              assert.equal(refused.kind === "never" && refused.code, ErrorCode.InvalidDependency);
              const awaited = ledger.admission(candidate);
              assert.ok(
                awaited.kind === "later" && awaited.awaiting.some((d) => store.heldStatus(d) === undefined),
              );
              outcomes.set(
                "refusedEverywhereParkedHere",
                (outcomes.get("refusedEverywhereParkedHere") ?? 0) + 1,
              );
              continue;
            }
            assert.equal(got, expected, `admission of ${candidate.id}`);
            outcomes.set(String(got), (outcomes.get(String(got)) ?? 0) + 1);
          }
          assert.equal(blockingReads.mock.callCount(), 0, "judging read nothing from disk");
          deliverQuietly(reference, e);
          deliverQuietly(ledger, e);
          await store.flush();
          blockingReads.mock.resetCalls();
        }
      } finally {
        blockingReads.mock.restore();
      }
      assert.ok((outcomes.get("admit") ?? 0) > 50, `admitted: ${outcomes.get("admit")}`);
      assert.ok((outcomes.get("never") ?? 0) > 0, "some refused from memory");
      // The difference the memory-only rule makes: a dep resolved long ago is awaited, not refused.
      assert.ok(
        (outcomes.get("refusedEverywhereParkedHere") ?? 0) > 0,
        "some payload named a dep whose status had left memory",
      );
    });
  });

  it("awaits MAX_DEPS made-up deps of a fresh account's first transfer without one disk read", async () => {
    await withDatabase("tally-admission-", async (db) => {
      const store = await LevelLedgerStore.open(db, {});
      const ledger = ledgerOver({ genesis: new Map() }, store);
      const deps = Array.from({ length: MAX_DEPS }, () => randomBytes(32).toString("hex")).sort();
      const junk = makeTransfer(testKey(900), 1, [{ to: testKey(901).address, amount: 1n }], deps);
      const blockingReads = mock.method(db, "getSync");
      try {
        const admission = ledger.admission(junk);
        assert.equal(admission.kind, "later");
        assert.equal(admission.kind === "later" ? admission.awaiting.length : 0, MAX_DEPS);
        assert.equal(blockingReads.mock.callCount(), 0);
      } finally {
        blockingReads.mock.restore();
      }
    });
  });
});
