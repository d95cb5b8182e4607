import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ErrorCode } from "../../src/core/errors.ts";
import type { EncodedTransfer } from "../../src/core/transfer.ts";
import type { NodeCore } from "../../src/node/core/nodeCore.ts";
import type { NodeAction, NodeEvent } from "../../src/node/core/nodeEvents.ts";
import { DurableReads } from "../../src/node/durableReads.ts";
import { GroupCommit } from "../../src/node/groupCommit.ts";
import { MAX_WAITING_SUBMISSIONS, ProcessingLoop, type StepTiming } from "../../src/node/processingLoop.ts";
import type { BatchOp } from "../../src/storage/database.ts";

const PEER = "12D3KooWpeer";
const encoded = (n: number) => ({ n }) as unknown as EncodedTransfer;

/**
 * The loop around a scripted core: every event yields one write, a submission is answered and a peer's
 * message sends one reply. What the test controls is the durable write (`commit`), which it can hold open
 * or fail, and the peers' backlog.
 */
function harness(options: { maxEventsPerStep?: number } = {}) {
  const log: string[] = [];
  const steps: NodeEvent[][] = [];
  let current: NodeEvent[] = [];
  let coreFault: Error | undefined;
  const core = {
    handle(event: NodeEvent): NodeAction[] {
      if (coreFault !== undefined) throw coreFault;
      current.push(event);
      const write: NodeAction = { type: "write", ops: [{ type: "del", key: `k${current.length}` }] };
      if (event.type === "submit") {
        const n = (event.encoded as unknown as { n: number }).n;
        return [
          write,
          { type: "announce", change: { id: `t${n}`, source: "s", seq: n, status: "delivered" } },
          { type: "submitted", ticket: event.ticket, result: { ok: true, id: `t${n}`, status: "pending" } },
        ];
      }
      return [write, { type: "askStatus", to: PEER }];
    },
    finishStep(): BatchOp[] {
      steps.push(current);
      current = [];
      return [];
    },
  } as unknown as NodeCore;
  let peerMessages = 0;
  let commitGate: Promise<void> = Promise.resolve();
  let commitEnteredAt = Number.NaN;
  let failNext: Error | undefined;
  const failures: unknown[] = [];
  const timings: StepTiming[] = [];
  const durableReads = new DurableReads();
  const loop = new ProcessingLoop({
    core,
    maxEventsPerStep: options.maxEventsPerStep ?? 2_000,
    groupCommit: new GroupCommit({ load: () => 0 }),
    durableReads,
    peerBacklog: () => peerMessages,
    takePeerEvents: (max, nowMs) => {
      const n = Math.min(max, peerMessages);
      peerMessages -= n;
      return Array.from({ length: n }, () => ({ type: "peerUp", peer: PEER, nowMs }) as NodeEvent);
    },
    commit: async (writes) => {
      log.push(`commit ${writes.length}`);
      commitEnteredAt = performance.now();
      await commitGate;
      if (failNext !== undefined) throw failNext;
      log.push("durable");
    },
    send: (actions) => log.push(`send ${actions.filter((a) => a.type === "askStatus").length}`),
    announce: (change) => log.push(`announce ${change.id}`),
    onFailure: (e) => failures.push(e),
    onStep: (timing) => timings.push(timing),
  });
  return {
    loop,
    log,
    steps,
    failures,
    timings,
    durableReads,
    addPeerMessages: (n: number) => {
      peerMessages += n;
      loop.kick();
    },
    commitEnteredAt: () => commitEnteredAt,
    holdCommits: () => {
      let open: () => void = () => {};
      commitGate = new Promise((resolve) => (open = resolve));
      return () => open();
    },
    failCommits: (e: Error) => (failNext = e),
    failCore: (e: Error) => (coreFault = e),
  };
}

describe("processing loop", () => {
  it("answers a submitter and announces only after the step's write is durable", async () => {
    const h = harness();
    const open = h.holdCommits();
    let answered = false;
    const answer = h.loop.submit(encoded(1)).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(h.log, ["commit 1"], "the write is in flight, nothing else happened");
    assert.equal(answered, false);
    // A reader waits while the step's write is in flight.
    let read = false;
    const reader = h.durableReads.settled().then(() => (read = true));
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(read, false);
    const heldMs = performance.now() - h.commitEnteredAt();
    open();
    assert.deepEqual(await answer, { ok: true, id: "t1", status: "pending" });
    await reader;
    assert.deepEqual(h.log, ["commit 1", "durable", "send 0", "announce t1"]);
    // The step's time is reported by phase: the time the write was held open is the write's.
    assert.equal(h.timings.length, 1);
    const [timing] = h.timings;
    assert.ok(timing!.writeMs >= heldMs && heldMs > 0, `held ${heldMs} ms: ${JSON.stringify(timing)}`);
    assert.ok(timing!.handleMs < timing!.writeMs && timing!.sendMs < timing!.writeMs);
    assert.ok(timing!.waitMs >= 0);
  });

  it("gives the node's own events at most half a step while peers' messages wait", async () => {
    const h = harness({ maxEventsPerStep: 10 });
    const open = h.holdCommits(); // the first step stays in flight while both queues fill
    const first = h.loop.submit(encoded(0));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const answers = Array.from({ length: 8 }, (_, i) => h.loop.submit(encoded(i + 1)));
    h.addPeerMessages(12);
    open();
    await Promise.all([first, ...answers]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const kinds = h.steps.map((s) => s.map((e) => (e.type === "submit" ? "own" : "peer")));
    assert.deepEqual(kinds[0], ["own"]);
    assert.deepEqual(kinds[1], [...Array(5).fill("own"), ...Array(5).fill("peer")]);
    assert.deepEqual(kinds[2], [...Array(3).fill("own"), ...Array(7).fill("peer")]);
    assert.equal(h.steps.flat().length, 21, "every event was taken once");
  });

  it("stops on a failed write, answers nobody of that step and takes nothing more", async () => {
    const h = harness();
    h.failCommits(new Error("disk full"));
    let answered = false;
    void h.loop.submit(encoded(1)).then(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(h.failures.length, 1);
    assert.match(String(h.failures[0]), /disk full/);
    assert.equal(answered, false);
    assert.ok(!h.log.includes("announce t1"), "nothing of the failed step leaves the node");
    assert.throws(() => h.loop.submit(encoded(2)), { code: ErrorCode.PendingFull });
    // Readers are let go: they find the node stopping rather than wait forever.
    await h.durableReads.settled();
  });

  it("stops on a fault in the core and lets waiting readers go", async () => {
    const h = harness();
    h.failCore(new Error("invariant broken"));
    void h.loop.submit(encoded(1));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(h.failures.length, 1);
    assert.match(String(h.failures[0]), /invariant broken/);
    assert.deepEqual(h.log, [], "nothing was written or sent");
    // A reader arriving now does not wait for a write that will never come.
    await h.durableReads.settled();
  });

  it("close waits for the step in flight and drops what was not taken", async () => {
    const h = harness();
    const open = h.holdCommits();
    const inFlight = h.loop.submit(encoded(1));
    await new Promise((resolve) => setTimeout(resolve, 5));
    let dropped = false;
    void h.loop.submit(encoded(2)).then(() => (dropped = true));
    let closed = false;
    const closing = h.loop.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(closed, false, "the write in flight is not abandoned");
    open();
    await closing;
    assert.equal((await inFlight).ok, true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(dropped, false);
    assert.equal(h.steps.length, 1, "no step after close");
  });

  it("refuses submissions beyond its bound with PENDING_FULL", async () => {
    const h = harness();
    const open = h.holdCommits();
    const waiting: Promise<unknown>[] = [];
    for (let i = 0; i < MAX_WAITING_SUBMISSIONS; i++) waiting.push(h.loop.submit(encoded(i)));
    assert.throws(() => h.loop.submit(encoded(-1)), { code: ErrorCode.PendingFull });
    open();
    await Promise.all(waiting);
  });

  it("lets the step's events be collected while its write is in flight", async () => {
    // V8's collector, reachable at run time: a WeakRef tells whether an event is still held by anything.
    setFlagsFromString("--expose-gc");
    const collect = runInNewContext("gc") as () => void;
    const refs: WeakRef<object>[] = [];
    let peerMessages = 0;
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    let committing: () => void = () => {};
    const inCommit = new Promise<void>((resolve) => (committing = resolve));
    const loop = new ProcessingLoop({
      // A core that keeps nothing of what it handles, as the node's keeps nothing of a decoded message.
      core: { handle: () => [], finishStep: () => [] } as unknown as NodeCore,
      maxEventsPerStep: 100,
      groupCommit: new GroupCommit({ load: () => 0 }),
      durableReads: new DurableReads(),
      peerBacklog: () => peerMessages,
      takePeerEvents: (max, nowMs) => {
        const n = Math.min(max, peerMessages);
        peerMessages -= n;
        return Array.from({ length: n }, () => {
          const event = { type: "peerUp", peer: PEER, nowMs } as NodeEvent;
          refs.push(new WeakRef(event));
          return event;
        });
      },
      commit: async () => {
        committing();
        await gate;
      },
      send: () => {},
      announce: () => {},
      onFailure: (e) => assert.fail(String(e)),
    });
    peerMessages = 5;
    loop.kick();
    await inCommit;
    await new Promise((resolve) => setImmediate(resolve));
    collect();
    await new Promise((resolve) => setImmediate(resolve));
    const alive = refs.filter((r) => r.deref() !== undefined).length;
    assert.equal(refs.length, 5);
    // The loop's iteration variable may still hold the last event handled; none of the others is kept.
    assert.ok(alive <= 1, `${alive} of the step's 5 events still alive during its write`);
    open();
    await loop.close();
  });
});
