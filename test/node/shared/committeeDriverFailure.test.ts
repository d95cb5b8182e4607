/**
 * A committee step whose write fails stops the committees and tells the node (which then stops itself): the
 * committee's sends must never leave ahead of their records. In-process: a real LevelDB, closed under the
 * driver as a lost disk would leave it.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { CommitteeDriver } from "../../../src/node/shared/committeeDriver.ts";
import { openDatabase } from "../../../src/storage/database.ts";
import { driverOptions, hosted } from "../../support/committeeDriverHarness.ts";
import { withTempDir } from "../../support/tempDatabase.ts";

it("a committee whose write fails reports the failure once and takes no further step", async () => {
  await withTempDir("tally-committee-failure-", async (dir) => {
    const db = await openDatabase(dir);
    const failures: unknown[] = [];
    const driver = new CommitteeDriver(
      driverOptions([hosted("failing")], db, { onFailure: (e) => failures.push(e) }),
    );
    await driver.start();
    await db.close();
    // The committee ticks every 100 ms; each tick is a step with a write (its timer's records).
    const began = Date.now();
    while (failures.length === 0 && Date.now() - began < 5_000) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 400));
    await driver.stop();
    assert.equal(failures.length, 1, "reported once, and no step after it");
    assert.ok(failures[0] instanceof Error);
  });
});
