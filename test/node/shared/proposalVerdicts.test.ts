/**
 * A restarted owner's node learns the verdicts its proposal book missed. The book hears of `applied` and
 * `rejected` from the node's transfer events, and its writes go with the committee's next batch; a node
 * killed in between, or a ledger that applied a transfer while the committee was still loading, once left a
 * paid proposal `decided` for good (a shared-account chaos run caught it). The driver now asks the ledger at
 * start, in-process here: a real LevelDB, real committees, a stub ledger reader.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CommitteeDriver } from "../../../src/node/shared/committeeDriver.ts";
import type { AccountReader } from "../../../src/node/shared/hostedCommittee.ts";
import { type BatchOp, openDatabase, writeBatch } from "../../../src/storage/database.ts";
import { proposalRecords } from "../../../src/storage/proposalRecords.ts";
import { driverOptions, hosted } from "../../support/committeeDriverHarness.ts";
import { withTempDir } from "../../support/tempDatabase.ts";

const PAYEE = "tly1qr6jn7088qku6v58exgk5hnqphwr7euzmv24hd24eln2p70msyswz44yssn";
const id = (n: number) => n.toString(16).padStart(64, "0");

/** A ledger reader that knows the given transfers' statuses, and counts what it is asked. */
function ledger(statuses: ReadonlyMap<string, string>) {
  const asked: string[] = [];
  const reader: AccountReader = {
    account: async () => ({ balance: 1_000n, nextSeq: 1, pendingDeps: [] }),
    transfer: async (transferId) => {
      asked.push(transferId);
      const status = statuses.get(transferId);
      return status === undefined ? undefined : { status };
    },
  };
  return { reader, asked };
}

describe("CommitteeDriver: a restarted owner's book takes the ledger's verdicts it missed", () => {
  const account = hosted("verdicts");

  /** Starts a driver on the database at `dir`, returns the book's statuses by id, and stops it. */
  async function bookAfterStart(dir: string, reader: AccountReader): Promise<Map<string, string>> {
    const db = await openDatabase(dir);
    const driver = new CommitteeDriver(driverOptions([account], db, { reader }));
    try {
      await driver.start();
      const book = driver.proposals(account.address) ?? [];
      return new Map(book.map((entry) => [entry.id, entry.status]));
    } finally {
      await driver.stop();
      await db.close();
    }
  }

  it("moves decided and pending entries the ledger resolved, keeps the rest, and stores the change", async () => {
    await withTempDir("tally-proposal-verdicts-", async (dir) => {
      // The book as a node killed before its verdict writes landed left it.
      const stored: [string, number, string][] = [
        [id(1), 1, "decided"], // paid: the ledger applied it
        [id(2), 2, "pending"], // decided and applied while the node was down
        [id(3), 3, "decided"], // refused by the ledger
        [id(4), 4, "decided"], // not resolved yet
        [id(5), 5, "superseded"], // rebuilt: never asked about
      ];
      const db = await openDatabase(dir);
      const ops: BatchOp[] = stored.map(([entryId, seq, status], order) =>
        proposalRecords.putEntry(account.idHex, order, { id: entryId, seq, status, to: PAYEE, amount: "5" }),
      );
      await writeBatch(db, ops);
      await db.close();

      const verdicts = new Map([
        [id(1), "applied"],
        [id(2), "applied"],
        [id(3), "rejected"],
        [id(4), "pending"],
        [id(5), "applied"],
      ]);
      const first = ledger(verdicts);
      const book = await bookAfterStart(dir, first.reader);
      assert.deepEqual([...book.entries()].sort(), [
        [id(1), "applied"],
        [id(2), "applied"],
        [id(3), "rejected"],
        [id(4), "decided"],
        [id(5), "superseded"],
      ]);
      assert.deepEqual(first.asked.sort(), [id(1), id(2), id(3), id(4)], "only open entries are looked up");

      // The verdicts were written: a second restart, with a ledger that no longer answers, keeps them.
      const again = await bookAfterStart(dir, ledger(new Map()).reader);
      assert.deepEqual([...again.entries()].sort(), [...book.entries()].sort());
    });
  });
});
