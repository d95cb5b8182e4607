import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ErrorCode } from "../../../src/core/errors.ts";
import { decodeTransfer, type EncodedTransfer } from "../../../src/core/transfer.ts";
import { MemoryLedgerStore } from "../../../src/ledger/memoryStore.ts";
import { AHEAD_DEFAULTS } from "../../../src/node/core/aheadSubmissions.ts";
import type { NodeCore } from "../../../src/node/core/nodeCore.ts";
import type { NodeAction, SubmitResult } from "../../../src/node/core/nodeEvents.ts";
import { REOFFER_SWEEP_MS } from "../../../src/node/core/ownSubmissions.ts";
import { Bucket } from "../../../src/storage/buckets.ts";
import { writeBatch } from "../../../src/storage/database.ts";
import { SubmittedLog } from "../../../src/storage/submittedLog.ts";
import { makeTransfer, testKey } from "../../support/fixtures.ts";
import { deliverBy, echoesIn, funded, newCore, votes } from "../../support/nodeCoreFixture.ts";
import { withDatabase } from "../../support/tempDatabase.ts";

const bob = testKey(2);

/** The funded account's transfer at `seq`, paying bob 1 (`amount` tells twins apart). */
function paying(seq: number, amount = 1n): EncodedTransfer {
  return makeTransfer(funded, seq, [{ to: bob.address, amount }]);
}

function submit(
  core: NodeCore,
  t: EncodedTransfer,
  nowMs = 0,
): { result: SubmitResult; actions: NodeAction[] } {
  const actions = core.handle({ type: "submit", encoded: t, ticket: 1, nowMs });
  const answer = actions.find((a) => a.type === "submitted");
  assert.ok(answer?.type === "submitted");
  return { result: answer.result, actions };
}

/** The seqs this node introduced to its peers (Bracha's SEND) in `actions`. */
function introducedSeqs(actions: readonly NodeAction[]): number[] {
  const seqs = new Set<number>();
  for (const a of actions)
    if (a.type === "send" && a.message.kind === "send")
      seqs.add(decodeTransfer(a.message.payload).transfer.seq);
  return [...seqs].sort((x, y) => x - y);
}

describe("a wallet's submissions ahead of its next seq", () => {
  it("takes the next seq after eight later ones, introducing each only once its predecessor applied", () => {
    const core = newCore();
    for (let seq = 2; seq <= 9; seq++) {
      const { result, actions } = submit(core, paying(seq));
      assert.deepEqual(result, { ok: true, id: paying(seq).id, status: "pending" });
      assert.deepEqual(introducedSeqs(actions), [], `seq ${seq}: not the next seq, so held`);
    }
    assert.equal(core.heldAheadCount, 8);
    // Without the hold, seqs 2..9 took the account's 8 broadcast places here and seq 1 was refused.
    const first = submit(core, paying(1));
    assert.deepEqual(first.result, { ok: true, id: paying(1).id, status: "pending" });
    assert.deepEqual(introducedSeqs(first.actions), [1]);
    for (let seq = 1; seq <= 8; seq++) {
      const applied = deliverBy(core, paying(seq).id, seq);
      assert.equal(core.statusOf(paying(seq).id), "applied");
      assert.deepEqual(introducedSeqs(applied), [seq + 1], `released in the step that applied seq ${seq}`);
      assert.equal(core.heldAheadCount, 8 - seq);
    }
    deliverBy(core, paying(9).id, 9);
    for (let seq = 1; seq <= 9; seq++) assert.equal(core.statusOf(paying(seq).id), "applied", `seq ${seq}`);
    assert.equal(core.ledger.account(bob.address).balance, 9n);
  });

  it("refuses a twin of a held transfer with SEQ_CONFLICT and answers a copy pending", () => {
    const core = newCore();
    const held = paying(8);
    submit(core, held);
    assert.deepEqual(submit(core, held).result, { ok: true, id: held.id, status: "pending" });
    const twin = submit(core, paying(8, 2n)).result;
    assert.equal(twin.ok ? "" : twin.error.code, ErrorCode.SeqConflict);
    assert.equal(core.statusOf(paying(8, 2n).id), undefined);
    assert.equal(core.heldAheadCount, 1);
  });

  it("refuses with PENDING_FULL past its total, and never holds back an account's next seq", () => {
    const core = newCore({ ahead: { ...AHEAD_DEFAULTS, total: 2 } });
    assert.ok(submit(core, paying(7)).result.ok);
    assert.ok(submit(core, paying(8)).result.ok);
    const refused = submit(core, paying(9)).result;
    assert.equal(refused.ok ? "" : refused.error.code, ErrorCode.PendingFull);
    assert.equal(core.statusOf(paying(9).id), undefined, "a refused submission is not tracked");
    assert.deepEqual(introducedSeqs(submit(core, paying(1)).actions), [1]);
  });

  it("keeps held transfers across a restart, in the submitted log, until their seq comes within reach", async () => {
    await withDatabase("tally-ahead-", async (db) => {
      const core = newCore();
      submit(core, paying(7));
      await writeBatch(db, core.finishStep());
      const restarted = newCore();
      const resubmitted = restarted.restoreSubmitted(await SubmittedLog.load(db));
      assert.deepEqual(
        resubmitted.map((t) => t.id),
        [paying(7).id],
      );
      const actions = restarted.handle({ type: "reintroduce", encoded: resubmitted[0]!, nowMs: 1 });
      assert.deepEqual(introducedSeqs(actions), [], "still too far ahead: held again, not introduced");
      assert.equal(restarted.heldAheadCount, 1);
      assert.equal(restarted.statusOf(paying(7).id), "pending");
      for (let seq = 1; seq <= 5; seq++) {
        submit(restarted, paying(seq));
        assert.deepEqual(
          introducedSeqs(deliverBy(restarted, paying(seq).id, seq)),
          [],
          `seq 7 is past ${seq + 1}`,
        );
      }
      submit(restarted, paying(6));
      assert.deepEqual(introducedSeqs(deliverBy(restarted, paying(6).id, 6)), [7]);
    });
  });

  it("keeps pending, and holds later, one a restart brings back while the hold is full", async () => {
    await withDatabase("tally-ahead-", async (db) => {
      const core = newCore();
      submit(core, paying(7));
      submit(core, paying(8));
      await writeBatch(db, core.finishStep());
      const restarted = newCore({ ahead: { ...AHEAD_DEFAULTS, total: 1 } });
      for (const t of restarted.restoreSubmitted(await SubmittedLog.load(db)))
        restarted.handle({ type: "reintroduce", encoded: t, nowMs: 1 });
      assert.equal(restarted.heldAheadCount, 1, "room for one");
      assert.equal(restarted.statusOf(paying(8).id), "pending", "the other is not forgotten");
      await writeBatch(db, restarted.finishStep());
      assert.deepEqual(
        (await SubmittedLog.load(db)).held.map((t) => t.transfer.seq).sort(),
        [7, 8],
        "nor lost should the node crash again before there is room",
      );
      for (let seq = 1; seq <= 6; seq++) {
        submit(restarted, paying(seq), 1);
        deliverBy(restarted, paying(seq).id, seq);
      }
      assert.equal(restarted.heldAheadCount, 0, "seq 7 released when seq 6 applied");
      restarted.handle({ type: "tick", nowMs: 2 });
      restarted.handle({ type: "tick", nowMs: REOFFER_SWEEP_MS + 2 });
      assert.equal(restarted.heldAheadCount, 1, "the sweep held seq 8 now that there is room");
      assert.deepEqual(introducedSeqs(deliverBy(restarted, paying(7).id, 7)), [8]);
    });
  });

  it("gives a full hold's place to another account's first, dropping the fuller one's highest seq for good", async () => {
    await withDatabase("tally-ahead-", async (db) => {
      const other = testKey(3);
      const core = newCore({ ahead: { ...AHEAD_DEFAULTS, total: 3 }, alsoFunded: [other.address] });
      for (const seq of [7, 8, 9]) submit(core, paying(seq));
      await writeBatch(db, core.finishStep());
      const theirs = makeTransfer(other, 7, [{ to: bob.address, amount: 1n }]);
      assert.deepEqual(submit(core, theirs).result, { ok: true, id: theirs.id, status: "pending" });
      assert.equal(core.heldAheadCount, 3);
      assert.equal(core.droppedAheadCount, 1);
      assert.equal(core.statusOf(paying(9).id), undefined, "the client may submit it again");
      assert.equal(core.statusOf(paying(8).id), "pending");
      const refused = submit(core, paying(10)).result;
      assert.equal(refused.ok ? "" : refused.error.code, ErrorCode.PendingFull, "2 and 1: no more swaps");
      await writeBatch(db, core.finishStep());
      const restored = newCore({ alsoFunded: [other.address] }).restoreSubmitted(await SubmittedLog.load(db));
      assert.deepEqual(
        restored.map((t) => t.id).sort(),
        [paying(7).id, paying(8).id, theirs.id].sort(),
        "a restart brings back what is held, not the dropped seq 9",
      );
    });
  });

  it("drops a held transfer whose seq never comes within reach after the timeout, from the log too", () => {
    const core = newCore();
    submit(core, paying(7));
    const writes = core.finishStep();
    assert.ok(!writes.some((op) => op.key.startsWith(`${Bucket.submittedLog}/`)), "held, not introduced");
    const record = writes.find((op) => op.key.startsWith(`${Bucket.heldSubmission}/`));
    assert.ok(record?.type === "put");
    core.handle({ type: "tick", nowMs: AHEAD_DEFAULTS.timeoutMs - 1 });
    assert.equal(core.heldAheadCount, 1);
    core.handle({ type: "tick", nowMs: AHEAD_DEFAULTS.timeoutMs });
    assert.equal(core.heldAheadCount, 0);
    assert.equal(core.statusOf(paying(7).id), undefined, "the client may submit it again");
    const deleted = core.finishStep().filter((op) => op.type === "del");
    assert.ok(
      deleted.some((op) => op.key === record.key),
      "a restart does not bring it back",
    );
  });
});

describe("a wallet's submission that no correct node will echo", () => {
  it("is rejected for its client once its predecessor leaves it unfunded, instead of pending for good", async () => {
    await withDatabase("tally-refused-", async (db) => {
      const core = newCore();
      const overdraft = paying(2, 100n);
      const held = submit(core, overdraft);
      assert.deepEqual(held.result, { ok: true, id: overdraft.id, status: "pending" });
      submit(core, paying(1));
      await writeBatch(db, core.finishStep());
      const actions = deliverBy(core, paying(1).id, 1);
      // Never echoed: not when it came (its seq was not the next), not when seq 1 applied (refused then).
      for (const a of [...held.actions, ...actions])
        assert.ok(
          !(a.type === "send" && "digest" in a.message && a.message.digest === overdraft.id),
          `a vote for the refused transfer: ${JSON.stringify(a)}`,
        );
      const refused = actions.flatMap((a) => (a.type === "refused" ? [a.refusal] : []));
      assert.equal(refused.length, 1, "told once, in the step that applied seq 1");
      assert.equal(refused[0]!.id, overdraft.id);
      assert.equal(refused[0]!.reason.code, ErrorCode.InsufficientFunds);
      assert.equal(core.statusOf(overdraft.id), "rejected");
      assert.deepEqual(core.submissions.reasonOf(overdraft.id), refused[0]!.reason);
      assert.equal(core.refusedCount, 1);
      // Every correct node refuses to echo it: this node's admission for a peer's copy says so too.
      assert.deepEqual(
        echoesIn(
          core.handle({
            type: "peerMessage",
            from: "p2",
            message: { kind: "send", payload: overdraft.bytes },
            nowMs: 2,
          }),
        ),
        [],
      );
      const again = submit(core, overdraft).result;
      assert.deepEqual(
        again,
        { ok: true, id: overdraft.id, status: "rejected" },
        "a resubmission hears the same",
      );
      // Its seq is open, here as anywhere: another transfer for it is introduced and applied.
      const replacement = submit(core, paying(2, 99n));
      assert.deepEqual(replacement.result, { ok: true, id: paying(2, 99n).id, status: "pending" });
      assert.deepEqual(introducedSeqs(replacement.actions), [2]);
      deliverBy(core, paying(2, 99n).id, 2);
      assert.equal(core.statusOf(paying(2, 99n).id), "applied");
      await writeBatch(db, core.finishStep());
      const restored = newCore().restoreSubmitted(await SubmittedLog.load(db));
      assert.deepEqual(
        restored.map((t) => t.id),
        [],
        "a restart does not bring it back",
      );
    });
  });

  it("is rejected for its client once its predecessor spent the dep it names", () => {
    const core = newCore();
    submit(core, paying(1, 10n));
    deliverBy(core, paying(1, 10n).id, 1);
    const dep = paying(1, 10n).id;
    const spend = (seq: number, amount: bigint) =>
      makeTransfer(bob, seq, [{ to: funded.address, amount }], [dep]);
    submit(core, spend(2, 1n));
    submit(core, spend(1, 5n));
    const actions = deliverBy(core, spend(1, 5n).id, 1, bob.address);
    assert.equal(core.statusOf(spend(1, 5n).id), "applied");
    const refused = actions.flatMap((a) => (a.type === "refused" ? [a.refusal] : []));
    assert.deepEqual(
      refused.map((r) => [r.id, r.reason.code]),
      [[spend(2, 1n).id, ErrorCode.InvalidDependency]],
    );
    assert.equal(core.statusOf(spend(2, 1n).id), "rejected");
  });

  it("holds, unechoed, one whose dep this node no longer holds in memory, as a peer's copy would be parked", () => {
    // Statuses leave memory under load; a dep known only on disk is what a peer's echo admission awaits.
    const forgotten = new Set<string>();
    const store = new (class extends MemoryLedgerStore {
      override heldStatus(id: string) {
        return forgotten.has(id) ? undefined : super.heldStatus(id);
      }
    })();
    const core = newCore({ store });
    submit(core, paying(1, 10n));
    deliverBy(core, paying(1, 10n).id, 1);
    const dep = paying(1, 10n).id;
    const spend = (seq: number) => makeTransfer(bob, seq, [{ to: funded.address, amount: 1n }], [dep]);
    const held = submit(core, spend(2));
    assert.deepEqual(held.result, { ok: true, id: spend(2).id, status: "pending" });
    submit(core, spend(1));
    forgotten.add(dep);
    const actions = deliverBy(core, spend(1).id, 1, bob.address);
    assert.equal(core.statusOf(spend(1).id), "applied");
    assert.deepEqual(introducedSeqs(actions), [], "not introduced: no echo for what peers would park");
    assert.equal(actions.filter((a) => a.type === "refused").length, 0, "nor refused: this node cannot tell");
    assert.equal(core.statusOf(spend(2).id), "pending");
    assert.equal(core.heldAheadCount, 1, "held until its timeout");
  });

  it("keeps the lost-twin reason for a held one whose seq the network gave another transfer", () => {
    const core = newCore();
    const mine = paying(3);
    submit(core, mine);
    // The others applied seqs 1..3, seq 3 being a twin of ours: READYs, then a pull answered.
    const twin = paying(3, 2n);
    votes(core, "ready", twin.id, ["p1", "p2", "p3"], 3);
    core.handle({
      type: "peerMessage",
      from: "p1",
      message: { kind: "payload", payload: twin.bytes },
      nowMs: 2,
    });
    assert.equal(core.statusOf(mine.id), "rejected");
    assert.equal(core.submissions.reasonOf(mine.id)?.code, ErrorCode.SeqConflict);
    for (const seq of [1, 2]) {
      submit(core, paying(seq));
      const actions = deliverBy(core, paying(seq).id, seq);
      assert.equal(actions.filter((a) => a.type === "refused").length, 0, `seq ${seq}`);
    }
    assert.equal(core.statusOf(twin.id), "applied");
    assert.equal(core.submissions.reasonOf(mine.id)?.code, ErrorCode.SeqConflict, "not told its seq is open");
    assert.equal(core.heldAheadCount, 0);
  });

  it("stays pending while its predecessor leaves it enough, and is applied", () => {
    const core = newCore();
    submit(core, paying(2, 99n));
    submit(core, paying(1));
    const actions = deliverBy(core, paying(1).id, 1);
    assert.equal(actions.filter((a) => a.type === "refused").length, 0);
    assert.equal(core.statusOf(paying(2, 99n).id), "pending");
    deliverBy(core, paying(2, 99n).id, 2);
    assert.equal(core.statusOf(paying(2, 99n).id), "applied");
  });
});

describe("a wallet's submissions in any order", () => {
  it("are all taken and applied, each introduced only once it is the next seq", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 24 })
          .chain((n) => fc.shuffledSubarray([...Array(n).keys()], { minLength: n })),
        (order) => {
          const core = newCore();
          const seqs = order.map((i) => i + 1);
          const introduced = new Set<number>();
          const note = (actions: readonly NodeAction[], next: number) => {
            for (const seq of introducedSeqs(actions)) {
              assert.equal(seq, next, `seq ${seq} introduced while the next seq is ${next}`);
              introduced.add(seq);
            }
          };
          for (const seq of seqs) {
            const { result, actions } = submit(core, paying(seq));
            assert.ok(result.ok, `seq ${seq} refused: ${JSON.stringify(result)}`);
            note(actions, 1);
          }
          // The peers answer whatever this node introduced, one seq at a time, in seq order.
          for (let seq = 1; seq <= seqs.length; seq++) {
            assert.ok(introduced.has(seq), `seq ${seq} was never introduced`);
            note(deliverBy(core, paying(seq).id, seq), seq + 1);
            assert.equal(core.statusOf(paying(seq).id), "applied");
          }
          assert.equal(core.heldAheadCount, 0);
        },
      ),
      { numRuns: 40, seed: 53 },
    );
  });
});

describe("a wallet's submission the broadcast dropped", () => {
  it("is introduced again within a sweep after a stall eviction, and then applied", () => {
    const core = newCore();
    const t = paying(1);
    submit(core, t, 0);
    assert.equal(core.broadcast.stats().liveInstances, 1);
    // No peer answers for 12 minutes (this node is cut off): the instance idles past the 10-minute stall
    // timeout and the broadcast evicts it, payload and all.
    let evictedAtMs: number | undefined;
    let reofferedAtMs: number | undefined;
    for (let nowMs = 15_000; nowMs <= 12 * 60_000 && reofferedAtMs === undefined; nowMs += 15_000) {
      core.handle({ type: "tick", nowMs });
      const live = core.broadcast.stats().liveInstances;
      if (evictedAtMs === undefined && live === 0) evictedAtMs = nowMs;
      else if (evictedAtMs !== undefined && live === 1) reofferedAtMs = nowMs;
    }
    assert.ok(evictedAtMs !== undefined && evictedAtMs >= 10 * 60_000, `evicted at ${evictedAtMs} ms`);
    assert.ok(
      reofferedAtMs !== undefined && reofferedAtMs - evictedAtMs <= REOFFER_SWEEP_MS,
      `evicted at ${evictedAtMs} ms, offered again at ${reofferedAtMs} ms`,
    );
    assert.equal(core.reofferedCount, 1);
    // Bracha sends the payload again with its next re-send of the instance's commitments (at most 30 s).
    const resent: number[] = [];
    for (let nowMs = reofferedAtMs + 1_000; nowMs <= reofferedAtMs + 31_000; nowMs += 1_000) {
      const actions = core.handle({ type: "tick", nowMs });
      resent.push(...introducedSeqs(actions));
    }
    assert.ok(resent.length > 0 && resent.every((seq) => seq === 1), "the payload went to the peers again");
    assert.equal(core.statusOf(t.id), "pending");
    deliverBy(core, t.id, 1);
    assert.equal(core.statusOf(t.id), "applied");
  });

  it("is not offered again while the broadcast holds it, nor once its slot is taken", () => {
    const core = newCore();
    const t = paying(1);
    submit(core, t, 0);
    for (let nowMs = 15_000; nowMs <= 5 * 60_000; nowMs += 15_000) core.handle({ type: "tick", nowMs });
    assert.equal(core.reofferedCount, 0, "live for 5 minutes: nothing to offer");
    deliverBy(core, t.id, 1);
    for (let nowMs = 5 * 60_000; nowMs <= 20 * 60_000; nowMs += 15_000) core.handle({ type: "tick", nowMs });
    assert.equal(core.reofferedCount, 0, "applied: nothing to offer");
  });
});
