import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ActionDriver,
  type BatchedActionSink,
  type ImmediateActionSink,
} from "../../src/broadcast/actionDriver.ts";
import type { BroadcastAction, Commitment } from "../../src/broadcast/types.ts";

const instance = { source: "alice", seq: 1 };
const digest = "ab".repeat(32);

function persist(kind: "echo" | "ready"): BroadcastAction {
  return { type: "persist", commitment: { instance, kind, digest } };
}

function send(label: string): BroadcastAction {
  return { type: "send", to: [label], message: { kind: "echo", instance, digest } };
}

const deliver: BroadcastAction = { type: "deliver", instance, digest, payload: new Uint8Array([1]) };
const accepted: BroadcastAction = { type: "submitResult", outcome: "accepted", instance, digest };
const serve: BroadcastAction = { type: "serveFromStore", to: "puller", instance, digest };

/** Records what reached it, as "context:what", and what is durable (a flush moves `collected` there). */
class RecordingSink {
  readonly log: string[] = [];
  collected: Commitment[] = [];
  readonly durable: Commitment[] = [];
  failNextFlush = false;
  /** Resolves the write in flight, for tests that act while it is pending. */
  finishWrite: (() => void) | undefined;

  persist(context: string, commitment: Commitment): void {
    this.collected.push(commitment);
    this.log.push(`${context}:persist ${commitment.kind}`);
  }
  send(context: string, to: readonly string[]): void {
    this.log.push(`${context}:send ${to.join(",")}`);
  }
  deliver(context: string): void {
    this.log.push(`${context}:deliver`);
  }
  submitResult(context: string, outcome: string): void {
    this.log.push(`${context}:result ${outcome}`);
  }
  serveFromStore(context: string, to: string): void {
    this.log.push(`${context}:serve ${to}`);
  }
}

function immediate(sink: RecordingSink): ImmediateActionSink<string> {
  return {
    durability: "immediate",
    persist: (c, commitment) => sink.persist(c, commitment),
    send: (c, to) => sink.send(c, to),
    deliver: (c) => sink.deliver(c),
    submitResult: (c, outcome) => sink.submitResult(c, outcome),
    serveFromStore: (c, to) => sink.serveFromStore(c, to),
  };
}

function batched(sink: RecordingSink, manual = false): BatchedActionSink<string> {
  return {
    ...immediate(sink),
    durability: "batched",
    flush: async () => {
      // Taken before the first await: persists collected during the write belong to the next flush.
      const writing = sink.collected;
      sink.collected = [];
      if (manual) await new Promise<void>((resolve) => (sink.finishWrite = resolve));
      else await Promise.resolve();
      if (sink.failNextFlush) {
        sink.failNextFlush = false;
        sink.collected = [...writing, ...sink.collected];
        throw new Error("disk full");
      }
      sink.durable.push(...writing);
      sink.log.push("flushed");
    },
  };
}

describe("action driver, immediate sink", () => {
  test("carries out every action at once, in list order", async () => {
    const sink = new RecordingSink();
    const driver = new ActionDriver(immediate(sink));
    driver.carryOut([send("a"), persist("echo"), send("b"), deliver, accepted, serve], "n1");
    assert.deepEqual(sink.log, [
      "n1:send a",
      "n1:persist echo",
      "n1:send b",
      "n1:deliver",
      "n1:result accepted",
      "n1:serve puller",
    ]);
    assert.equal(driver.held, 0);
    await driver.flush();
    assert.equal(sink.log.length, 6);
  });

  test("a crash after the first `count` actions carries out only those", () => {
    const sink = new RecordingSink();
    const driver = new ActionDriver(immediate(sink));
    driver.carryOut([persist("echo"), send("a"), send("b")], "n1", 1);
    assert.deepEqual(sink.log, ["n1:persist echo"]);
    driver.carryOut([send("c")], "n1", 5);
    assert.deepEqual(sink.log, ["n1:persist echo", "n1:send c"]);
  });
});

describe("action driver, batched sink", () => {
  test("what follows a persist leaves only after the flush made it durable; what precedes it, at once", async () => {
    const sink = new RecordingSink();
    const driver = new ActionDriver(batched(sink));
    driver.carryOut([send("before"), persist("echo"), send("after"), deliver, accepted, serve], "i1");
    assert.deepEqual(sink.log, ["i1:send before", "i1:persist echo", "i1:deliver"]);
    assert.equal(driver.held, 3);
    await driver.flush();
    assert.deepEqual(sink.log.slice(3), [
      "flushed",
      "i1:send after",
      "i1:result accepted",
      "i1:serve puller",
    ]);
    assert.equal(sink.durable.length, 1);
    assert.equal(driver.held, 0);
  });

  test("a later list's sends wait behind an earlier list's unflushed persist (a replayed ECHO)", async () => {
    const sink = new RecordingSink();
    const driver = new ActionDriver(batched(sink));
    driver.carryOut([persist("echo"), send("subscribers")], "i1");
    driver.carryOut([send("replay to new subscriber")], "i2");
    assert.deepEqual(sink.log, ["i1:persist echo"]);
    await driver.flush();
    assert.deepEqual(sink.log, [
      "i1:persist echo",
      "flushed",
      "i1:send subscribers",
      "i2:send replay to new subscriber",
    ]);
  });

  test("without a persist nothing waits", () => {
    const sink = new RecordingSink();
    const driver = new ActionDriver(batched(sink));
    driver.carryOut([send("a"), accepted], "i1");
    assert.deepEqual(sink.log, ["i1:send a", "i1:result accepted"]);
  });

  test("lists carried out during a write wait for it, and for the next one if they persisted", async () => {
    const sink = new RecordingSink();
    const driver = new ActionDriver(batched(sink, true));
    driver.carryOut([persist("echo"), send("a")], "i1");
    const first = driver.flush();
    await Promise.resolve();
    // During the write: a send with no persist of its own, then a persist the write does not cover.
    driver.carryOut([send("b")], "i2");
    driver.carryOut([persist("ready"), send("c")], "i3");
    sink.finishWrite!();
    await first;
    assert.deepEqual(sink.log.slice(-2), ["flushed", "i1:send a"]);
    assert.equal(driver.held, 2);
    const second = driver.flush();
    await new Promise((resolve) => setImmediate(resolve));
    sink.finishWrite!();
    await second;
    assert.deepEqual(sink.log.slice(-3), ["flushed", "i2:send b", "i3:send c"]);
    assert.equal(sink.durable.length, 2);
  });

  test("a send held only because a write was in flight leaves when it completes", async () => {
    const sink = new RecordingSink();
    const driver = new ActionDriver(batched(sink, true));
    driver.carryOut([persist("echo")], "i1");
    const flushing = driver.flush();
    await Promise.resolve();
    driver.carryOut([send("b")], "i2");
    assert.equal(driver.held, 1);
    sink.finishWrite!();
    await flushing;
    assert.deepEqual(sink.log.slice(-2), ["flushed", "i2:send b"]);
  });

  test("a failed write releases nothing and keeps holding; a retried flush releases", async () => {
    const sink = new RecordingSink();
    const driver = new ActionDriver(batched(sink));
    driver.carryOut([persist("echo"), send("a")], "i1");
    sink.failNextFlush = true;
    await assert.rejects(driver.flush(), /disk full/);
    driver.carryOut([send("b")], "i2");
    assert.deepEqual(sink.log, ["i1:persist echo"]);
    assert.equal(driver.held, 2);
    await driver.flush();
    assert.deepEqual(sink.log.slice(1), ["flushed", "i1:send a", "i2:send b"]);
  });
});
