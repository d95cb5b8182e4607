import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EncodedTransfer } from "../../src/core/transfer.ts";
import type { Ledger } from "../../src/ledger/ledger.ts";
import { MemoryLedgerStore } from "../../src/ledger/memoryStore.ts";
import type { AccountRecord, RejectionReason } from "../../src/ledger/store.ts";
import type { PositionedHistoryEntry } from "../../src/storage/accountHistory.ts";
import { sortableNumber } from "../../src/storage/buckets.ts";
import { type BatchOp, type NodeDatabase, openDatabase, writeBatch } from "../../src/storage/database.ts";
import { LevelLedgerStore } from "../../src/storage/levelLedgerStore.ts";
import { MAX_CHUNK_ENTRIES } from "../../src/storage/pendingHistory.ts";
import { accountValue, type JournalLimits } from "../../src/storage/stepJournal.ts";
import { deliverQuietly, ledgerOver } from "../ledger/ledgerOver.ts";
import { buildScenario, interleaveBySource, type Scenario, sampleOps, shuffle } from "../ledger/scenario.ts";
import { makeTransfer, testKey } from "../support/fixtures.ts";
import { withTempDir } from "../support/tempDatabase.ts";

/**
 * Index entries (by-seq and incoming history) wait in memory and reach LevelDB one record per account at each
 * checkpoint. What a user cares about: an account's history pages and the ids catch-up serves are exactly
 * what they would be with one write per entry — after any stop, across the format change, and never showing
 * an entry whose step is not yet durable.
 */

/** A resolution as the store saw it, in order: the model the expected history is computed from. */
interface Resolution {
  readonly encoded: EncodedTransfer;
  readonly applied: boolean;
}

/** The in-memory store, noting every resolution in the order the ledger made them. */
class RecordingStore extends MemoryLedgerStore {
  readonly resolutions: Resolution[] = [];
  override putResolved(encoded: EncodedTransfer, status: "applied" | "rejected", reason?: RejectionReason) {
    this.resolutions.push({ encoded, applied: status === "applied" });
    super.putResolved(encoded, status, reason);
  }
}

/**
 * Each resolution takes the next position for its by-seq entry; an applied one, the positions after it for
 * its outputs' incoming entries, in output order.
 */
function expectedIndex(resolutions: readonly Resolution[]) {
  const history = new Map<string, PositionedHistoryEntry[]>();
  const bySeq = new Map<string, string[]>();
  const add = (address: string, entry: PositionedHistoryEntry) =>
    history.set(address, [entry, ...(history.get(address) ?? [])]);
  let position = 0;
  for (const { encoded, applied } of resolutions) {
    const { id, transfer } = encoded;
    add(transfer.source, { id, direction: "out", position: ++position });
    bySeq.set(transfer.source, [...(bySeq.get(transfer.source) ?? []), id]);
    if (applied) for (const o of transfer.outputs) add(o.to, { id, direction: "in", position: ++position });
  }
  return { history, bySeq };
}

async function walkHistory(store: LevelLedgerStore, address: string, limit: number) {
  const walked: PositionedHistoryEntry[] = [];
  let before: number | undefined;
  do {
    const page = await store.historyPage(address, limit, before);
    walked.push(...page.entries);
    before = page.next;
  } while (before !== undefined);
  return walked;
}

/** Every account's history (in pages of 1, 3 and all) and by-seq ids in `store` are the model's. */
async function assertIndexMatches(
  scenario: Scenario,
  store: LevelLedgerStore,
  resolutions: readonly Resolution[],
  at: string,
  pageSizes: readonly number[] = [1, 3, 1_000],
) {
  const { history, bySeq } = expectedIndex(resolutions);
  for (const { address } of scenario.keys) {
    const expected = history.get(address) ?? [];
    for (const limit of pageSizes)
      assert.deepEqual(
        await walkHistory(store, address, limit),
        expected,
        `${at}: ${address} in pages of ${limit}`,
      );
    const ids = bySeq.get(address) ?? [];
    assert.deepEqual(await store.resolvedIds(address, 1, ids.length + 1), ids, `${at}: ${address} by seq`);
    assert.deepEqual(await store.resolvedIds(address, 3, 2), ids.slice(2, 4), `${at}: ${address} from seq 3`);
    assert.deepEqual(await store.firstResolvedIds(address, 5), ids.slice(0, 5), `${at}: ${address} first`);
  }
}

const withDir = <T>(run: (dir: string) => Promise<T>) => withTempDir("tally-index-", run);

async function indexRecords(db: NodeDatabase): Promise<{ key: string; value: string }[]> {
  const records = [];
  for (const bucket of ["07", "09"]) {
    for await (const [key, value] of db.iterator({ gte: `${bucket}/`, lt: `${bucket}/\uffff` }))
      records.push({ key, value: Buffer.from(value).toString("utf8") });
  }
  return records;
}

/** Random wallets, honest or not: few transfers apply, many wait for good or are refused. */
function randomScenario(seed: number) {
  const scenario = buildScenario(6, [1000, 0, 250_000, 7, 40], sampleOps(seed, 160));
  return { scenario, stream: shuffle([...scenario.delivered, ...scenario.noise], seed + 1) };
}

/**
 * Rounds of payments — every account pays the next (and every third time the one after too), spending what
 * it received — where one transfer in five overspends and is rejected, delivered interleaved so that many
 * wait for a dep and resolve in a later step.
 */
function paymentRounds(seed: number, accounts = 6, rounds = 12) {
  const keys = Array.from({ length: accounts }, (_, i) => testKey(i));
  const genesis = new Map(keys.map((k) => [k.address, 1_000_000n]));
  const received: string[][] = keys.map(() => []);
  const delivered: EncodedTransfer[] = [];
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < accounts; i++) {
      if ((r * accounts + i) % 5 === 2) {
        delivered.push(
          makeTransfer(keys[i]!, r + 1, [{ to: keys[(i + 1) % accounts]!.address, amount: 10n ** 9n }]),
        );
        continue;
      }
      const to = [(i + 1) % accounts, ...((r + i) % 3 === 0 ? [(i + 2) % accounts] : [])];
      const outputs = to.map((j) => ({ to: keys[j]!.address, amount: BigInt(1 + ((r + i + j) % 7)) }));
      const t = makeTransfer(keys[i]!, r + 1, outputs, [...received[i]!].sort());
      received[i] = [];
      delivered.push(t);
      for (const j of to) received[j]!.push(t.id);
    }
  }
  const scenario: Scenario = { keys, genesis, delivered, noise: [] };
  return { scenario, stream: interleaveBySource(delivered, seed) };
}

// Checkpoints every few transfers, so stops land before, on and after them.
/** The random scenario for odd seeds, the payment rounds for even ones. */
const pick = (seed: number) => (seed % 2 === 1 ? randomScenario(seed) : paymentRounds(seed));

const SMALL: JournalLimits = { changes: 9, transfers: 5, historyEntries: 14 };

/**
 * A LevelDB store in `dir` and the recording reference beside it, fed the same deliveries; `open` (again)
 * models a node starting on the data dir, `check` compares the store's index with the reference's.
 */
class StoreAndReference {
  readonly reference = new RecordingStore();
  private readonly referenceLedger: Ledger;
  private readonly scenario: Scenario;
  private readonly dir: string;
  db!: NodeDatabase;
  store!: LevelLedgerStore;
  ledger!: Ledger;

  constructor(scenario: Scenario, dir: string) {
    this.scenario = scenario;
    this.dir = dir;
    this.referenceLedger = ledgerOver(scenario, this.reference);
  }

  async open(journalLimits?: JournalLimits): Promise<this> {
    this.db = await openDatabase(this.dir);
    this.store = await LevelLedgerStore.open(this.db, journalLimits === undefined ? {} : { journalLimits });
    this.ledger = ledgerOver(this.scenario, this.store);
    return this;
  }

  deliver(e: EncodedTransfer): void {
    deliverQuietly(this.referenceLedger, e);
    deliverQuietly(this.ledger, e);
  }

  /** Delivers each of `stream` in a durable step of its own. */
  async deliverAll(stream: readonly EncodedTransfer[]): Promise<void> {
    for (const e of stream) {
      this.deliver(e);
      await this.store.flush();
    }
  }

  get resolutions(): readonly Resolution[] {
    return this.reference.resolutions;
  }

  check(at: string, resolutions = this.resolutions, pageSizes?: readonly number[]): Promise<void> {
    return assertIndexMatches(this.scenario, this.store, resolutions, at, pageSizes);
  }

  assertSameBalances(at: string): void {
    for (const { address } of this.scenario.keys)
      assert.deepEqual(this.ledger.account(address), this.referenceLedger.account(address), at);
  }
}

describe("index entries: journaled per step, written per account at checkpoints", () => {
  it("a node stopped after any step reopens with the same history and by-seq ids, and goes on from there", async () => {
    for (const [seed, { scenario, stream }] of [3, 42].map((seed) => [seed, pick(seed)] as const)) {
      let sawChunks = 0;
      let sawJournal = 0;
      for (let stop = 1; stop <= stream.length; stop += 9) {
        await withDir(async (dir) => {
          const node = await new StoreAndReference(scenario, dir).open(SMALL);
          await node.deliverAll(stream.slice(0, stop));
          if ((await indexRecords(node.db)).some((r) => r.value.includes(","))) sawChunks++;
          for await (const k of node.db.keys({ gte: "13/", lt: "13/\uffff" })) if (k) sawJournal++;
          await node.check(`seed ${seed}, before a stop at ${stop}`);
          await node.db.close();

          await node.open(SMALL);
          await node.check(`seed ${seed}, reopened at ${stop}`);
          await node.deliverAll(stream.slice(stop));
          await node.check(`seed ${seed}, the rest after ${stop}`);
          assert.ok(
            node.resolutions.some((r) => !r.applied),
            "rejected transfers took positions too",
          );
          await node.db.close();
        });
      }
      assert.ok(sawChunks > 0, "some stops came after checkpoints had written chunks");
      assert.ok(sawJournal > 0, "some stops left journal records to replay");
    }
  });

  it("pages from any cursor, including one inside a chunk, below every position", async () => {
    const { scenario, stream } = paymentRounds(5);
    await withDir(async (dir) => {
      const node = await new StoreAndReference(scenario, dir).open(SMALL);
      await node.deliverAll(stream);
      const { history } = expectedIndex(node.resolutions);
      const last = (history.get(scenario.keys[2]!.address) ?? [])[0]?.position ?? 0;
      assert.ok(last > 20, "a long history");
      for (const { address } of scenario.keys.slice(0, 3)) {
        const expected = history.get(address) ?? [];
        for (let before = 0; before <= last + 1; before++) {
          const page = await node.store.historyPage(address, 4, before);
          const below = expected.filter((e) => e.position < before);
          assert.deepEqual(page.entries, below.slice(0, 4), `${address} below ${before}`);
          assert.equal(page.next, below.length > 4 ? below[3]!.position : undefined);
        }
      }
      await node.db.close();
    });
  });

  it("shows an entry only once its step is durable, and once while a checkpoint writes it", async () => {
    const { scenario, stream } = paymentRounds(11);
    await withDir(async (dir) => {
      const node = await new StoreAndReference(scenario, dir).open(SMALL);
      let hidden = 0;
      let checkpoints = 0;
      for (const e of stream) {
        const durable = node.resolutions.length;
        node.deliver(e);
        const batch = node.store.takeQueued();
        // Taken, not yet written: the readers see exactly what the durable steps resolved.
        await node.check("in flight", node.resolutions.slice(0, durable), [2]);
        if (node.resolutions.length > durable) hidden++;
        if (batch.some((op) => op.key.startsWith("13/") && op.type === "del")) checkpoints++;
        await writeBatch(node.db, batch);
        node.store.settleTaken();
      }
      await node.check("all durable");
      assert.ok(hidden > 20, `${hidden} steps' entries were held back while their batch was in flight`);
      assert.ok(checkpoints > 3, `${checkpoints} checkpoints were in flight while readers read`);
      await node.db.close();
    });
  });

  it("writes an account's entries as one record per checkpoint, each key once", async () => {
    const { scenario, stream } = paymentRounds(13);
    await withDir(async (dir) => {
      const node = await new StoreAndReference(scenario, dir).open({
        changes: 1_000,
        transfers: 1_000,
        historyEntries: 60,
      });
      const written = new Set<string>();
      for (const e of stream) {
        node.deliver(e);
        const batch = node.store.takeQueued();
        for (const op of batch) {
          if (!op.key.startsWith("07/") && !op.key.startsWith("09/")) continue;
          assert.equal(op.type, "put");
          assert.ok(!written.has(op.key), `${op.key} written twice`);
          written.add(op.key);
        }
        await writeBatch(node.db, batch);
        node.store.settleTaken();
      }
      const entries = expectedIndex(node.resolutions);
      const entryCount = [...entries.history.values()].reduce((n, list) => n + list.length, 0);
      assert.ok(entryCount > 100, `${entryCount} index entries`);
      assert.ok(written.size < entryCount / 3, `${written.size} records for ${entryCount} entries`);
      await node.check("end");
      await node.db.close();
    });
  });

  it("splits a busy account's entries into records of at most MAX_CHUNK_ENTRIES", async () => {
    // One account pays another 1.2 × the cap in one checkpoint's span: both sides exceed a record.
    const [payer, payee] = [testKey(0), testKey(1)];
    const transfers = Math.round(MAX_CHUNK_ENTRIES * 1.2);
    const delivered = Array.from({ length: transfers }, (_, i) =>
      makeTransfer(payer, i + 1, [{ to: payee.address, amount: 1n }]),
    );
    const scenario: Scenario = {
      keys: [payer, payee],
      genesis: new Map([[payer.address, 10n ** 6n]]),
      delivered,
      noise: [],
    };
    await withDir(async (dir) => {
      const node = await new StoreAndReference(scenario, dir).open(); // default limits: one checkpoint, at open
      for (const e of delivered) node.deliver(e);
      await node.store.flush();
      await node.db.close();
      await node.open();
      const records = await indexRecords(node.db);
      const sizes = records.map((r) => r.value.split(",").length);
      assert.deepEqual(
        sizes.sort((a, b) => b - a),
        [MAX_CHUNK_ENTRIES, MAX_CHUNK_ENTRIES, transfers - MAX_CHUNK_ENTRIES, transfers - MAX_CHUNK_ENTRIES],
        "each side split into a full record and the rest",
      );
      await node.check("split records", node.resolutions, [100, 5_000]);
      await node.db.close();
    });
  });

  for (const format of [1, 2] as const) {
    const layout =
      format === 1
        ? "one record per entry, journals of bare ids, accounts every step"
        : "accounts and the history counter written every step";
    it(`reads a data dir of format ${format} (${layout}) and goes on`, async () => {
      const { scenario, stream } = paymentRounds(17);
      const half = Math.floor(stream.length / 2);
      await withDir(async (dir) => {
        const node = await new StoreAndReference(scenario, dir).open(); // default limits: no checkpoint here
        const bodies = new Map(stream.map((e) => [e.id, e.transfer]));
        const accountOf = (address: string) => node.store.getAccount(address)!;
        for (const e of stream.slice(0, half)) {
          node.deliver(e);
          await writeBatch(node.db, asEarlierFormat(format, node.store.takeQueued(), bodies, accountOf));
          node.store.settleTaken();
        }
        await node.db.close();

        await node.open(SMALL);
        if (format === 1)
          assert.ok(
            (await indexRecords(node.db)).some((r) => r.value.startsWith("{")),
            "one record per incoming entry",
          );
        await node.check("reopened");
        // The journal's transfers are already in these account records: replayed again, they would count twice.
        node.assertSameBalances("balances");
        await node.deliverAll(stream.slice(half));
        await node.check("both formats");
        node.assertSameBalances("balances at the end");
        await node.db.close();
      });
    });
  }
});

/**
 * A step's batch as an earlier format wrote it. Both wrote the account record of each source the step resolved
 * a transfer of, and the history counter, in every step. Format 1 also wrote an index record per entry in the
 * step, and its journal record named only the applied transfers, by bare id. (Only steps' batches are
 * rewritten: no checkpoint may fall in the run, or its records would be of the new format.)
 */
function asEarlierFormat(
  format: 1 | 2,
  batch: BatchOp[],
  bodies: ReadonlyMap<string, EncodedTransfer["transfer"]>,
  accountOf: (address: string) => AccountRecord,
): BatchOp[] {
  const out: BatchOp[] = [];
  for (const op of batch) {
    if (!op.key.startsWith("13/") || op.type !== "put") {
      assert.ok(
        !(op.key.startsWith("07/") || op.key.startsWith("09/")),
        "no checkpoint in the earlier format",
      );
      out.push(op);
      continue;
    }
    const applied: string[] = [];
    let counter = 0;
    for (const entry of String(op.value).split(",")) {
      const at = entry.search(/[@#]/);
      const id = entry.slice(0, at);
      const position = Number(entry.slice(at + 1));
      const t = bodies.get(id)!;
      out.push({ type: "put", key: `01/${t.source}`, value: accountValue(accountOf(t.source)) });
      counter = Math.max(counter, entry[at] === "@" ? position + t.outputs.length : position);
      if (format === 2) continue;
      out.push({ type: "put", key: `09/${t.source}/${sortableNumber(t.seq)}`, value: `${id}@${position}` });
      if (entry[at] !== "@") continue;
      applied.push(id);
      for (const [i, o] of t.outputs.entries()) {
        const value = `{"id":"${id}","direction":"in"}`;
        out.push({ type: "put", key: `07/${o.to}/${sortableNumber(position + 1 + i)}`, value });
      }
    }
    out.push({ type: "put", key: "00/historyCounter", value: String(counter) });
    if (format === 2) out.push(op);
    else if (applied.length > 0) out.push({ type: "put", key: op.key, value: applied.join(",") });
  }
  return out;
}
