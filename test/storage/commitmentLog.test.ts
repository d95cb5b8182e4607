import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeBroadcastMessage } from "../../src/broadcast/messageCodec.ts";
import type { Commitment, InstanceRef } from "../../src/broadcast/types.ts";
import { isTallyError } from "../../src/core/errors.ts";
import { Bucket, key } from "../../src/storage/buckets.ts";
import { CommitmentLog } from "../../src/storage/commitmentLog.ts";
import { type BatchOp, type NodeDatabase, writeBatch } from "../../src/storage/database.ts";
import { RELOCATE_AFTER_RECORDS } from "../../src/storage/slotRecords.ts";
import { testKey } from "../support/fixtures.ts";
import { withDatabase } from "../support/tempDatabase.ts";

const SOURCES = [testKey(1).address, testKey(2).address, testKey(3).address];
const digestOf = (n: number) => n.toString(16).padStart(64, "0");
const commit = (source: number, seq: number, kind: "echo" | "ready", digest = seq): Commitment => ({
  instance: { source: SOURCES[source]!, seq },
  kind,
  digest: digestOf(digest),
});

/** What is on disk under the log's bucket, as a key → bytes map the test applies batches to. */
class Disk {
  readonly keys = new Map<string, Uint8Array | string>();
  apply(ops: readonly BatchOp[]): void {
    for (const op of ops) {
      if (op.type === "put") this.keys.set(op.key, op.value);
      else this.keys.delete(op.key);
    }
  }
}

async function reload(db: NodeDatabase, settled: (i: InstanceRef) => boolean = () => false) {
  const log = new CommitmentLog();
  const restored = log.restore(await CommitmentLog.load(db), settled);
  return { log, restored };
}

const sortCommitments = (cs: readonly Commitment[]) =>
  [...cs].sort((a, b) =>
    `${a.instance.source}${a.instance.seq}${a.kind}`.localeCompare(
      `${b.instance.source}${b.instance.seq}${b.kind}`,
    ),
  );

describe("CommitmentLog", () => {
  it("writes one record per step, deletes it in the step its last instance settles, and skips steps that settle everything", () => {
    const log = new CommitmentLog();
    const disk = new Disk();
    log.add(commit(0, 1, "echo"));
    log.add(commit(1, 1, "echo"));
    log.add(commit(0, 1, "ready"));
    const first = log.take();
    assert.equal(first.length, 1, "three commitments of one step: one put");
    assert.equal(first[0]!.type, "put");
    assert.equal((first[0] as { value: Uint8Array }).value.length, 3 * 74);
    disk.apply(first);

    log.settle(SOURCES[0]!, 1);
    assert.deepEqual(log.take(), [], "the record still holds an unsettled instance");
    log.settle(SOURCES[1]!, 1);
    const emptied = log.take();
    assert.deepEqual(emptied, [{ type: "del", key: first[0]!.key }]);
    disk.apply(emptied);
    assert.equal(disk.keys.size, 0);

    // Committed and settled within one step: nothing to guard, nothing written.
    log.add(commit(2, 5, "echo"));
    log.add(commit(2, 5, "ready"));
    log.settle(SOURCES[2]!, 5);
    assert.deepEqual(log.take(), []);
    assert.equal(log.recordCount, 0);
  });

  it("survives a restart: unsettled commitments come back, records of settled ones are deleted", async () => {
    await withDatabase("tally-commitments-", async (db) => {
      const log = new CommitmentLog();
      log.add(commit(0, 1, "echo"));
      log.add(commit(1, 1, "echo"));
      await writeBatch(db, log.take());
      log.add(commit(0, 1, "ready"));
      log.add(commit(0, 2, "echo"));
      await writeBatch(db, log.take());

      // Restarted with (source 0, seq 1) settled by the ledger meanwhile.
      const settled = (i: InstanceRef) => i.source === SOURCES[0] && i.seq === 1;
      const { log: again, restored } = await reload(db, settled);
      assert.deepEqual(
        sortCommitments(restored),
        sortCommitments([commit(1, 1, "echo"), commit(0, 2, "echo")]),
      );
      assert.deepEqual(again.take(), [], "each record still holds an unsettled instance");
      again.settle(SOURCES[1]!, 1);
      again.settle(SOURCES[0]!, 2);
      await writeBatch(db, again.take());
      const { restored: none } = await reload(db);
      assert.deepEqual(none, []);
      const left = [];
      for await (const k of db.keys()) left.push(k);
      assert.deepEqual(left, []);

      // Numbers are never reused while a record is on disk: a new record after a restart comes after the old.
      const third = new CommitmentLog();
      third.add(commit(2, 9, "echo"));
      await writeBatch(db, third.take());
      const { log: fourth } = await reload(db);
      fourth.add(commit(2, 10, "echo"));
      const ops = fourth.take();
      await writeBatch(db, ops);
      const { restored: both } = await reload(db);
      assert.equal(both.length, 2);
    });
  });

  it("moves instances that never settle forward, so old records do not pile up", () => {
    const log = new CommitmentLog();
    const disk = new Disk();
    // Two instances that never settle (say, byzantine sources' equivocations), spread over two records.
    const stuck = [commit(0, 1, "echo"), commit(0, 1, "ready"), commit(2, 1, "echo")];
    log.add(stuck[0]!);
    disk.apply(log.take());
    log.add(stuck[1]!);
    log.add(stuck[2]!);
    disk.apply(log.take());
    const holding = (c: Commitment) =>
      [...disk.keys.values()].filter((v) => decodeEntries(v as Uint8Array).some((d) => same(d, c))).length;
    let restartChecked = false;
    for (let step = 0; step < 3 * RELOCATE_AFTER_RECORDS; step++) {
      log.add(commit(1, step + 1, "echo"));
      disk.apply(log.take());
      log.settle(SOURCES[1]!, step + 1);
      assert.ok(log.recordCount <= RELOCATE_AFTER_RECORDS + 1, `step ${step}: ${log.recordCount} records`);
      if (!restartChecked && holding(stuck[1]!) === 2) {
        // The first record was relocated while the second (holding the other instance) stays: one commitment
        // is on disk twice. A restart restores each commitment once.
        const loaded = {
          records: [...disk.keys].map(([k, v]) => ({
            record: Number(k.split("/")[1]),
            commitments: decodeEntries(v as Uint8Array),
          })),
          legacy: [],
        };
        const restored = new CommitmentLog().restore(loaded, (i) => i.source === SOURCES[1]);
        assert.deepEqual(sortCommitments(restored), sortCommitments(stuck));
        restartChecked = true;
      }
    }
    assert.ok(restartChecked, "a relocation left a commitment in two records for a while");
    disk.apply(log.take());
    // What is left: the records the stuck instances were last moved into, with every stuck commitment once.
    const left = [...disk.keys.values()].flatMap((v) => decodeEntries(v as Uint8Array));
    for (const c of stuck) assert.equal(left.filter((d) => same(d, c)).length, 1);
    assert.ok(disk.keys.size <= 2);
  });

  it("what is on disk always covers every unsettled commitment, in a bounded number of records (property)", () => {
    const op = fc.oneof(
      fc.record({ t: fc.constant("add" as const), source: fc.nat(2), seq: fc.integer({ min: 1, max: 30 }) }),
      fc.record({
        t: fc.constant("settle" as const),
        source: fc.nat(2),
        seq: fc.integer({ min: 1, max: 30 }),
      }),
      fc.record({ t: fc.constant("take" as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const log = new CommitmentLog();
        const disk = new Disk();
        const made = new Map<string, Commitment[]>(); // unsettled commitments, as the broadcast holds them
        for (const o of ops) {
          if (o.t === "take") {
            disk.apply(log.take());
            const onDisk = [...disk.keys.values()].flatMap((v) => decodeEntries(v as Uint8Array));
            for (const cs of made.values())
              for (const c of cs)
                assert.ok(
                  onDisk.some((d) => same(d, c)),
                  "an unsettled commitment is on disk",
                );
            assert.ok(disk.keys.size <= RELOCATE_AFTER_RECORDS + 1);
            assert.equal(disk.keys.size, log.recordCount);
            continue;
          }
          const k = `${o.source}:${o.seq}`;
          if (o.t === "settle") {
            log.settle(SOURCES[o.source]!, o.seq);
            made.delete(k);
          } else {
            const kind = (made.get(k)?.length ?? 0) % 2 === 0 ? "echo" : "ready";
            const c = commit(o.source, o.seq, kind);
            log.add(c);
            made.set(k, [...(made.get(k) ?? []), c]);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it("migrates commitments of the one-key-per-commitment layout into a record and deletes the old keys", async () => {
    await withDatabase("tally-commitments-", async (db) => {
      const legacy = (c: Commitment) =>
        key(Bucket.legacyCommitment, c.instance.source, c.instance.seq, c.kind);
      const old = [commit(0, 3, "echo"), commit(0, 3, "ready"), commit(1, 7, "echo")];
      await writeBatch(
        db,
        old.map((c) => ({ type: "put", key: legacy(c), value: `"${c.digest}"` })),
      );
      const settled = (i: InstanceRef) => i.source === SOURCES[1];
      const { log, restored } = await reload(db, settled);
      assert.deepEqual(sortCommitments(restored), sortCommitments(old.slice(0, 2)));
      await writeBatch(db, log.take());
      const keys = [];
      for await (const k of db.keys()) keys.push(k);
      assert.equal(keys.length, 1);
      assert.ok(keys[0]!.startsWith(`${Bucket.commitmentLog}/`));
      const { restored: again } = await reload(db);
      assert.deepEqual(sortCommitments(again), sortCommitments(old.slice(0, 2)));
    });
  });

  it("refuses a corrupt record rather than run without its promises", async () => {
    await withDatabase("tally-commitments-", async (db) => {
      await db.put(key(Bucket.commitmentLog, "0000000000000001"), new Uint8Array(75));
      await assert.rejects(CommitmentLog.load(db), (e) => isTallyError(e) && /corrupt/.test(e.message));
    });
  });
});

function decodeEntries(bytes: Uint8Array): Commitment[] {
  const out: Commitment[] = [];
  for (let at = 0; at < bytes.length; at += 74) {
    const vote = decodeBroadcastMessage(bytes.subarray(at, at + 74));
    assert.ok(vote.kind === "echo" || vote.kind === "ready");
    out.push({ instance: vote.instance, kind: vote.kind, digest: vote.digest });
  }
  return out;
}

const same = (a: Commitment, b: Commitment) =>
  a.instance.source === b.instance.source &&
  a.instance.seq === b.instance.seq &&
  a.kind === b.kind &&
  a.digest === b.digest;
