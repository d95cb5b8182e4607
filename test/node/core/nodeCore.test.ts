import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeBroadcastMessage, encodeBroadcastMessage } from "../../../src/broadcast/messageCodec.ts";
import type { BroadcastMessage } from "../../../src/broadcast/types.ts";
import { ErrorCode } from "../../../src/core/errors.ts";
import type { NodeEvent } from "../../../src/node/core/nodeEvents.ts";
import { PARKING_DEFAULTS } from "../../../src/node/core/parkedIntroductions.ts";
import { FORGERIES_PER_STEP, noAdmissions } from "../../../src/node/core/peerPayloadAdmission.ts";
import { WatermarkSummary } from "../../../src/protocols/status/watermarkSummary.ts";
import { Bucket } from "../../../src/storage/buckets.ts";
import { writeBatch } from "../../../src/storage/database.ts";
import { SubmittedLog } from "../../../src/storage/submittedLog.ts";
import {
  countingVerifier,
  makeTransfer,
  TEST_NETWORK,
  testKey,
  withForgedSignature,
} from "../../support/fixtures.ts";
import { CORE_MEMBERS, echoesIn, funded, introduce, newCore, votes } from "../../support/nodeCoreFixture.ts";
import { withDatabase } from "../../support/tempDatabase.ts";

const MEMBERS = CORE_MEMBERS;
const alice = funded;
const bob = testKey(2);
const carol = testKey(3);

describe("NodeCore", () => {
  it("persists a submission and its echo before anything of it is sent, then answers pending", () => {
    const core = newCore();
    const t = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    const actions = core.handle({ type: "submit", encoded: t, ticket: 7, nowMs: 0 });
    const firstSend = actions.findIndex((a) => a.type === "send");
    const writes = actions.flatMap((a, i) => (a.type === "write" ? a.ops.map((op) => ({ i, op })) : []));
    assert.ok(firstSend >= 0, "the transfer is introduced to the members");
    assert.deepEqual(writes, [], "nothing written ahead of the step's batch");
    // The transfer and the echo commitment go into the step's records, taken with the step's other writes:
    // the batch is durable before any action of the step is carried out.
    const stepWrites = core.finishStep();
    const submitted = stepWrites.find((op) => op.key.startsWith(`${Bucket.submittedLog}/`));
    assert.ok(submitted?.type === "put", "the accepted transfer persisted with the step");
    assert.deepEqual(Buffer.from(submitted.value as Uint8Array).subarray(4), Buffer.from(t.bytes));
    const record = stepWrites.find((op) => op.key.startsWith(`${Bucket.commitmentLog}/`));
    assert.ok(record?.type === "put", "echo commitment persisted with the step");
    assert.deepEqual(decodeBroadcastMessage(record.value as Uint8Array), {
      kind: "echo",
      instance: { source: alice.address, seq: 1 },
      digest: t.id,
    });
    const answer = actions.find((a) => a.type === "submitted");
    assert.deepEqual(answer, {
      type: "submitted",
      ticket: 7,
      result: { ok: true, id: t.id, status: "pending" },
    });
    assert.equal(core.statusOf(t.id), "pending");
  });

  it("introduces again after a restart a transfer it answered pending, and not one a twin refused", async () => {
    await withDatabase("tally-core-", async (db) => {
      const core = newCore();
      const t = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
      const twin = makeTransfer(alice, 1, [{ to: bob.address, amount: 31n }]);
      core.handle({ type: "submit", encoded: t, ticket: 1, nowMs: 0 });
      core.handle({ type: "submit", encoded: twin, ticket: 2, nowMs: 0 }); // SEQ_CONFLICT: never persisted
      await writeBatch(db, core.finishStep());
      // The node crashes before any peer votes; a new process reads the same data dir.
      const restarted = newCore();
      const resubmitted = restarted.restoreSubmitted(await SubmittedLog.load(db));
      assert.deepEqual(
        resubmitted.map((e) => e.id),
        [t.id],
      );
      const actions = restarted.handle({ type: "reintroduce", encoded: resubmitted[0]!, nowMs: 1 });
      const introducedTo = actions.flatMap((a) =>
        a.type === "send" && a.message.kind === "send" ? a.to : [],
      );
      assert.deepEqual(introducedTo.sort(), MEMBERS.filter((m) => m !== "self").sort(), "introduced again");
      assert.equal(restarted.statusOf(t.id), "pending");
    });
  });

  it("applies a delivered transfer, announces it and forgets the instance's commitments", () => {
    const core = newCore();
    const t = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    core.handle({ type: "submit", encoded: t, ticket: 1, nowMs: 0 });
    const stepWrites = core.finishStep();
    const record = stepWrites.find((op) => op.key.startsWith(`${Bucket.commitmentLog}/`))!;
    const submitted = stepWrites.find((op) => op.key.startsWith(`${Bucket.submittedLog}/`))!;
    votes(core, "echo", t.id, ["p1", "p2"]);
    const actions = votes(core, "ready", t.id, ["p1", "p2"]);
    const announced = actions.flatMap((a) => (a.type === "announce" ? [a.change.status] : []));
    assert.deepEqual(announced, ["applied"]);
    const deleted = [
      ...actions.flatMap((a) => (a.type === "write" ? a.ops : [])),
      ...core.finishStep(),
    ].filter((op) => op.type === "del");
    assert.ok(
      deleted.some((op) => op.key === record.key),
      "the step record holding the instance's commitments is deleted with the delivery",
    );
    assert.ok(
      deleted.some((op) => op.key === submitted.key),
      "the step record holding the accepted transfer is deleted with the delivery",
    );
    assert.equal(core.statusOf(t.id), "applied");
    assert.equal(core.ledger.account(bob.address).balance, 30n);
  });

  it("answers a status request with watermarks kept in step with the ledger's verdicts", () => {
    const core = newCore();
    const t = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    core.handle({ type: "submit", encoded: t, ticket: 1, nowMs: 0 });
    votes(core, "echo", t.id, ["p1", "p2"]);
    votes(core, "ready", t.id, ["p1", "p2"]);
    const [answer] = core.handle({ type: "statusRequest", from: "p3", requestId: 9, request: {}, nowMs: 2 });
    assert.ok(answer?.type === "respondStatus" && answer.to === "p3" && answer.requestId === 9);
    assert.equal(answer.response.network, TEST_NETWORK);
    const rebuilt = WatermarkSummary.fromWatermarks(core.ledger.accountWatermarks()).snapshot();
    assert.deepEqual(answer.response.watermarks, rebuilt);
    assert.equal(core.watermarks.totalSeqSum, 1n);
  });

  it("refuses the twin of a double spend with SEQ_CONFLICT, and reports the loser superseded once the winner is delivered", () => {
    const core = newCore();
    const winner = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    const twin = makeTransfer(alice, 1, [{ to: bob.address, amount: 31n }]);
    core.handle({ type: "submit", encoded: winner, ticket: 1, nowMs: 0 });
    const refused = core
      .handle({ type: "submit", encoded: twin, ticket: 2, nowMs: 0 })
      .find((a) => a.type === "submitted");
    assert.ok(refused?.type === "submitted" && !refused.result.ok);
    assert.equal(refused.result.ok ? "" : refused.result.error.code, ErrorCode.SeqConflict);
    assert.equal(core.statusOf(twin.id), undefined, "a refused twin is not tracked");
    votes(core, "echo", winner.id, ["p1", "p2"]);
    votes(core, "ready", winner.id, ["p1", "p2"]);
    assert.equal(core.statusOf(winner.id), "applied");
    assert.equal(core.ledger.account(bob.address).balance, 30n, "exactly one twin applied");
  });

  it("answers a bad transfer from the ledger's precheck without broadcasting it", () => {
    const core = newCore();
    const overdraft = makeTransfer(alice, 1, [{ to: bob.address, amount: 1000n }]);
    const actions = core.handle({
      type: "submit",
      encoded: overdraft,
      ticket: 3,
      nowMs: 0,
    } satisfies NodeEvent);
    assert.equal(actions.filter((a) => a.type === "send" || a.type === "write").length, 0);
    const answer = actions.find((a) => a.type === "submitted");
    assert.ok(answer?.type === "submitted" && !answer.result.ok);
    assert.equal(answer.result.ok ? "" : answer.result.error.code, ErrorCode.InsufficientFunds);
  });

  it("refuses a made-up dep at submit with UNKNOWN_DEPENDENCY, broadcasting nothing", () => {
    const core = newCore();
    const t = makeTransfer(bob, 1, [{ to: carol.address, amount: 1n }], ["ab".repeat(32)]);
    const actions = core.handle({ type: "submit", encoded: t, ticket: 4, nowMs: 0 });
    assert.equal(actions.filter((a) => a.type === "send" || a.type === "write").length, 0);
    const answer = actions.find((a) => a.type === "submitted");
    assert.ok(answer?.type === "submitted" && !answer.result.ok);
    assert.equal(answer.result.error.code, ErrorCode.UnknownDependency);
  });

  it("does not echo a peer's transfer that every node would reject: no balance, no deps", () => {
    const core = newCore();
    const unfunded = makeTransfer(carol, 1, [{ to: bob.address, amount: 1n }]);
    assert.deepEqual(introduce(core, unfunded), []);
    assert.equal(core.broadcast.stats().liveInstances, 0, "no instance, no commitment");
    assert.equal(core.admission.refused, 1);
  });

  it("judges each item of a payload batch as if it had come alone: echoes, parks and refuses in order", () => {
    const core = newCore();
    const t1 = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    const t2 = makeTransfer(alice, 2, [{ to: bob.address, amount: 30n }]);
    const unfunded = makeTransfer(carol, 1, [{ to: bob.address, amount: 1n }]);
    const batch = decodeBroadcastMessage(
      encodeBroadcastMessage({
        kind: "payloads",
        items: [
          { kind: "send", payload: t2.bytes },
          { kind: "send", payload: unfunded.bytes },
          { kind: "send", payload: t1.bytes },
        ],
      }),
    );
    const actions = core.handle({ type: "peerMessage", from: "p1", message: batch, nowMs: 1 });
    assert.deepEqual(
      echoesIn(actions),
      [t1.id],
      "seq 1 echoed; seq 2 parked behind it; the unfunded one not",
    );
    assert.deepEqual(
      { ...core.admission },
      { ...noAdmissions(), admitted: 1, parked: 1, refused: 1 },
      "each item counted as a message of its own",
    );
  });

  it("asks the ledger about a copy of a payload the broadcast already holds only once", () => {
    const core = newCore();
    const t = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    const instance = { source: alice.address, seq: 1 };
    assert.equal(core.broadcast.holdsPayload(instance, t.id), false);
    assert.deepEqual(introduce(core, t, "p1"), [t.id]);
    assert.equal(core.broadcast.holdsPayload(instance, t.id), true);
    // Another neighbour's copy: the same bytes in a message of its own.
    const copy = { ...t, bytes: new Uint8Array(t.bytes) };
    assert.deepEqual(introduce(core, copy, "p2"), [], "echoed once");
    assert.deepEqual({ ...core.admission }, { ...noAdmissions(), admitted: 1 });
    // A payload the broadcast does not hold goes to the ledger: a twin for the same seq is admitted by it
    // (nothing is delivered for the seq yet), and then dropped, since the broadcast, having echoed t, has no
    // use for it.
    const twin = makeTransfer(alice, 1, [{ to: carol.address, amount: 30n }]);
    assert.equal(core.broadcast.holdsPayload(instance, twin.id), false);
    assert.deepEqual(introduce(core, twin, "p3"), []);
    assert.deepEqual([core.admission.admitted, core.admission.unneeded], [1, 1]);
    votes(core, "echo", t.id, ["p2", "p3"]);
    votes(core, "ready", t.id, ["p2", "p3"]);
    assert.equal(core.statusOf(t.id), "applied");
    assert.equal(core.broadcast.holdsPayload(instance, t.id), false, "delivered: no longer live");
  });

  it("checks no signature of a payload for a slot it has resolved: an old transfer replayed or forged costs a decode", () => {
    const { verifier, checks } = countingVerifier();
    // One entry per table: every payload judged evicts the one before, as a replay of old transfers would find.
    const core = newCore({ verifier, cacheEntries: 1 });
    const t = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    core.handle({ type: "submit", encoded: t, ticket: 1, nowMs: 0 });
    votes(core, "echo", t.id, ["p1", "p2"]);
    votes(core, "ready", t.id, ["p1", "p2"]);
    assert.equal(core.statusOf(t.id), "applied");
    const next = makeTransfer(alice, 2, [{ to: bob.address, amount: 30n }]);
    const checksBefore = checks();
    assert.deepEqual(introduce(core, next, "p1"), [next.id]);
    assert.equal(
      checks(),
      checksBefore + 1,
      "a payload for an open slot is checked (and t's verdicts are gone)",
    );

    const replays: BroadcastMessage[] = [
      { kind: "send", payload: t.bytes },
      { kind: "gossip", payload: t.bytes },
      { kind: "payload", payload: t.bytes },
      { kind: "send", payload: withForgedSignature(t.bytes) },
    ];
    for (const message of replays) {
      const actions = core.handle({ type: "peerMessage", from: "p3", message, nowMs: 2 });
      assert.deepEqual(actions, [], `${message.kind}: dropped before the broadcast, nobody scored`);
    }
    assert.equal(checks(), checksBefore + 1, "no signature checked for any of the four");
    assert.equal(core.admission.settled, replays.length);
    assert.equal(core.admission.forged, 0, "unchecked, so not known to be forged");
  });

  it("checks no signature of an introduction every correct node would refuse, and asks the ledger once", () => {
    const { verifier, checks } = countingVerifier();
    const core = newCore({ verifier });
    const ledger = core.ledger;
    const admission = ledger.admission.bind(ledger);
    let asked = 0;
    ledger.admission = (encoded) => {
      asked++;
      return admission(encoded);
    };
    // carol holds nothing: a transfer from her with no deps is refused on every correct node.
    const unfunded = makeTransfer(carol, 1, [{ to: bob.address, amount: 1n }]);
    for (const payload of [unfunded.bytes, withForgedSignature(unfunded.bytes)]) {
      const actions = core.handle({
        type: "peerMessage",
        from: "p1",
        message: { kind: "gossip", payload },
        nowMs: 1,
      });
      assert.deepEqual(actions, [], "not echoed, nobody scored");
    }
    assert.equal(checks(), 0, "neither signature checked");
    assert.equal(core.admission.refused, 2);
    const t = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    asked = 0;
    assert.deepEqual(introduce(core, t, "p1"), [t.id]);
    assert.equal(checks(), 1, "one it echoes is checked");
    assert.equal(asked, 1, "and admission is judged once for it");
  });

  it("scores the sender of a payload whose signature fails, and hands the broadcast nothing of it", () => {
    const core = newCore();
    const t = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    const forged = withForgedSignature(t.bytes);
    const messages: BroadcastMessage[] = [
      { kind: "send", payload: forged },
      { kind: "gossip", payload: forged },
      { kind: "payload", payload: forged },
    ];
    for (const message of messages) {
      const actions = core.handle({ type: "peerMessage", from: "p2", message, nowMs: 1 });
      assert.deepEqual(
        actions.map((a) => (a.type === "penalize" ? [a.type, a.peer, a.event] : [a.type])),
        [["penalize", "p2", "forgedPayload"]],
        message.kind,
      );
    }
    const batch = decodeBroadcastMessage(
      encodeBroadcastMessage({ kind: "payloads", items: [{ kind: "send", payload: forged }] }),
    );
    const batchActions = core.handle({ type: "peerMessage", from: "p3", message: batch, nowMs: 1 });
    assert.deepEqual(
      batchActions.map((a) => a.type === "penalize" && a.peer),
      ["p3"],
      "an item of a batch too",
    );
    assert.equal(core.admission.forged, 4);
    assert.equal(core.broadcast.holdsPayload({ source: alice.address, seq: 1 }, t.id), false);
    assert.deepEqual(introduce(core, t, "p1"), [t.id], "the genuine transfer is echoed: no verdict was kept");
  });

  it("checks no twin of a payload it echoed, until the network readies for the twin: then it takes and delivers it", () => {
    const { verifier, checks } = countingVerifier();
    const core = newCore({ verifier });
    const t = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    assert.deepEqual(introduce(core, t, "p1"), [t.id]);
    const twins = [2n, 3n, 4n, 5n].map((amount) => makeTransfer(alice, 1, [{ to: carol.address, amount }]));
    for (const payload of [...twins.map((w) => w.bytes), withForgedSignature(twins[0]!.bytes)]) {
      const actions = core.handle({
        type: "peerMessage",
        from: "p3",
        message: { kind: "send", payload },
        nowMs: 1,
      });
      assert.deepEqual(actions, [], "not echoed, nobody scored");
    }
    assert.equal(checks(), 1, "only t's signature checked");
    assert.equal(core.admission.unneeded, twins.length + 1);
    // The other three ready the first twin: two READYs make this node ready for it too, so it needs its payload.
    const twin = twins[0]!;
    votes(core, "ready", twin.id, ["p1", "p2"]);
    assert.equal(core.broadcast.wantsPayload({ source: alice.address, seq: 1 }, twin.id), true);
    assert.deepEqual(introduce(core, twin, "p3"), [], "taken, not echoed (t was)");
    assert.equal(checks(), 2, "the twin it needs is checked");
    votes(core, "ready", twin.id, ["p3"]);
    assert.equal(core.statusOf(twin.id), "applied", "three READYs and the payload: delivered");
    assert.equal(core.statusOf(t.id), undefined);
  });

  it("checks a peer's forged payloads only up to its ban in a step, and none of its payloads after them", () => {
    const { verifier, checks } = countingVerifier();
    const core = newCore({ verifier });
    const t = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    const forged = withForgedSignature(t.bytes);
    const items = 12;
    const batch = decodeBroadcastMessage(
      encodeBroadcastMessage({
        kind: "payloads",
        items: [
          ...Array.from({ length: items }, () => ({ kind: "gossip" as const, payload: forged })),
          { kind: "send", payload: t.bytes },
        ],
      }),
    );
    const actions = core.handle({ type: "peerMessage", from: "p1", message: batch, nowMs: 1 });
    assert.equal(
      checks(),
      FORGERIES_PER_STEP,
      "a check per forgery until the sender has forged enough to be banned",
    );
    assert.equal(core.checkedSignatures, checks(), "the node's count is the verifier's");
    assert.equal(actions.filter((a) => a.type === "penalize").length, FORGERIES_PER_STEP);
    assert.deepEqual(echoesIn(actions), [], "its genuine payload after them is dropped too");
    assert.equal(core.admission.forged, FORGERIES_PER_STEP);
    assert.equal(core.admission.afterForgeries, items - FORGERIES_PER_STEP + 1);
    // Others are judged as ever in the same step.
    assert.deepEqual(introduce(core, t, "p2"), [t.id]);
    assert.equal(checks(), FORGERIES_PER_STEP + 1);
    // The next step judges p1 afresh (the shell has banned it by then; this core does not know of bans).
    core.finishStep();
    core.handle({ type: "peerMessage", from: "p1", message: { kind: "send", payload: forged }, nowMs: 2 });
    assert.equal(core.admission.forged, FORGERIES_PER_STEP + 1);
  });

  it("checks a transfer it parks once: copies, replays and forgeries of a parked one, or any when parking is full, cost none", () => {
    const { verifier, checks } = countingVerifier();
    // One entry per table, so nothing is answered from a verdict; two parking places for an account.
    const core = newCore({ verifier, cacheEntries: 1, parking: { ...PARKING_DEFAULTS, perAccount: 2 } });
    const [t1, t2, t3, t4] = [1, 2, 3, 4].map((seq) =>
      makeTransfer(alice, seq, [{ to: bob.address, amount: 10n }]),
    );
    assert.deepEqual(introduce(core, t2!, "p1"), []);
    assert.deepEqual(introduce(core, t3!, "p1"), []);
    assert.equal(checks(), 2, "each checked before it was parked");
    assert.equal(core.parkedCount, 2);
    const dropped: [string, Uint8Array][] = [
      ["a copy from another peer", t2!.bytes],
      ["a forged copy", withForgedSignature(t2!.bytes)],
      ["a seq with no parking place left", t4!.bytes],
      ["a forgery of it", withForgedSignature(t4!.bytes)],
    ];
    for (const [what, payload] of dropped) {
      const actions = core.handle({
        type: "peerMessage",
        from: "p3",
        message: { kind: "gossip", payload },
        nowMs: 1,
      });
      assert.deepEqual(actions, [], `${what}: dropped, nobody scored`);
    }
    assert.equal(checks(), 2, "none of the four checked");
    assert.deepEqual(
      {
        parked: core.admission.parked,
        parkingFull: core.admission.parkingFull,
        forged: core.admission.forged,
      },
      { parked: 4, parkingFull: 2, forged: 0 },
    );
    // The parked copies are the verified ones: they are echoed in turn as their predecessors apply.
    assert.deepEqual(introduce(core, t1!, "p2"), [t1!.id]);
    votes(core, "echo", t1!.id, ["p2", "p3"]);
    assert.deepEqual(echoesIn(votes(core, "ready", t1!.id, ["p2", "p3"])), [t2!.id]);
    votes(core, "echo", t2!.id, ["p2", "p3"], 2);
    assert.deepEqual(echoesIn(votes(core, "ready", t2!.id, ["p2", "p3"], 2)), [t3!.id]);
  });

  it("holds back a peer's next transfer until its predecessor applies here, then echoes it", () => {
    const core = newCore();
    const t1 = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    const t2 = makeTransfer(alice, 2, [{ to: bob.address, amount: 30n }]);
    assert.deepEqual(introduce(core, t2, "p2"), [], "seq 2 before seq 1: parked, not echoed");
    assert.equal(core.admission.parked, 1);
    assert.deepEqual(introduce(core, t1), [t1.id]);
    votes(core, "echo", t1.id, ["p2", "p3"]);
    const actions = votes(core, "ready", t1.id, ["p2", "p3"]);
    assert.deepEqual(echoesIn(actions), [t2.id], "echoed in the step that applied its predecessor");
    assert.equal(core.statusOf(t1.id), "applied");
  });

  it("holds back a transfer whose dep is unknown here, echoes it once the dep applies, forgets junk after the timeout", () => {
    const core = newCore();
    const t1 = makeTransfer(alice, 1, [{ to: bob.address, amount: 30n }]);
    const spends = makeTransfer(bob, 1, [{ to: carol.address, amount: 30n }], [t1.id]);
    const junk = makeTransfer(carol, 1, [{ to: bob.address, amount: 5n }], ["cd".repeat(32)]);
    assert.deepEqual(introduce(core, spends), []);
    assert.deepEqual(introduce(core, junk), []);
    introduce(core, t1);
    votes(core, "echo", t1.id, ["p2", "p3"]);
    assert.deepEqual(echoesIn(votes(core, "ready", t1.id, ["p2", "p3"])), [spends.id]);
    assert.equal(core.parkedCount, 1, "the junk is still held back");
    core.handle({ type: "tick", nowMs: 11 * 60_000 });
    assert.equal(core.parkedCount, 0);
  });

  it("keeps a delivered transfer however far ahead of this node", () => {
    const core = newCore();
    const far = makeTransfer(alice, 70, [{ to: bob.address, amount: 1n }]);
    // The others echoed and readied it (they had applied seqs 1..69): this node delivers it by READYs and a pull.
    const pulled = votes(core, "ready", far.id, ["p1", "p2", "p3"], 70);
    assert.ok(pulled.some((a) => a.type === "send" && a.message.kind === "request"));
    const delivered = core.handle({
      type: "peerMessage",
      from: "p1",
      message: { kind: "payload", payload: far.bytes },
      nowMs: 2,
    });
    assert.ok(delivered.some((a) => a.type === "announce" && a.change.status === "delivered"));
    assert.equal(core.statusOf(far.id), "delivered", "kept, not dropped");
  });
});
