import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { newP2PCounters, type P2PCounters } from "../../src/p2p/counters.ts";
import { decodeFramePayload, FRAME_HEADER_BYTES } from "../../src/p2p/framing.ts";
import {
  DEFAULT_PEER_QUEUE_OPTIONS,
  type FrameSink,
  PeerQueue,
  type PeerQueueOptions,
} from "../../src/p2p/peerQueue.ts";

/** Just enough of a libp2p stream: `send` result is scripted, events are dispatched by the test. */
class FakeStream extends EventTarget {
  writeStatus: "writable" | "closing" | "closed" = "writable";
  frames: Uint8Array[][] = [];
  accept = true;

  send(frame: Uint8Array): boolean {
    if (this.writeStatus !== "writable") throw new Error("closed");
    this.frames.push(decodeFramePayload(frame.subarray(FRAME_HEADER_BYTES), 1 << 20));
    return this.accept;
  }
  abort(err: Error): void {
    this.end(err);
  }
  async close(): Promise<void> {
    this.end(undefined);
  }
  end(error: Error | undefined): void {
    if (this.writeStatus === "closed") return;
    this.writeStatus = "closed";
    this.dispatchEvent(Object.assign(new Event("close"), { error, local: false }));
  }
  get messages(): number[] {
    return this.frames.flat().map((m) => m[0]!);
  }
}

interface Harness {
  queue: PeerQueue;
  streams: FakeStream[];
  counters: P2PCounters;
  disposed: () => boolean;
}

function harness(opts: Partial<PeerQueueOptions>, wanted = true, openHangs = false): Harness {
  const streams: FakeStream[] = [];
  const counters = newP2PCounters();
  let disposed = false;
  const queue = new PeerQueue(
    "peer",
    wanted,
    { ...DEFAULT_PEER_QUEUE_OPTIONS, reconnectInitialDelayMs: 5, reconnectMaxDelayMs: 20, ...opts },
    {
      openStream: async () => {
        if (openHangs) return new Promise<FrameSink>(() => {});
        const s = new FakeStream();
        streams.push(s);
        return s as unknown as FrameSink;
      },
      counters,
      log: pino({ level: "silent" }),
      onDispose: () => {
        disposed = true;
      },
    },
  );
  return { queue, streams, counters, disposed: () => disposed };
}

const msg = (i: number): Uint8Array => Uint8Array.of(i & 0xff, 0xaa);

describe("PeerQueue", () => {
  it("batches messages queued within batchDelayMs into one frame", async () => {
    const h = harness({ batchDelayMs: 5 });
    h.queue.ensureOpen();
    await sleep(1);
    for (let i = 0; i < 100; i++) assert.equal(h.queue.enqueue(msg(i)), true);
    assert.equal(h.streams[0]!.frames.length, 0, "nothing before the batch delay");
    await sleep(20);
    assert.equal(h.streams[0]!.frames.length, 1);
    assert.deepEqual(
      h.streams[0]!.messages,
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.equal(h.counters.messagesOut, 100);
    await h.queue.close();
  });

  it("batchDelayMs 0: what one synchronous run queues leaves as one frame when the run ends, before any timer", async () => {
    const h = harness({ batchDelayMs: 0 });
    h.queue.ensureOpen();
    await sleep(1);
    for (let i = 0; i < 50; i++) h.queue.enqueue(msg(i));
    assert.equal(h.streams[0]!.frames.length, 0, "nothing while the run goes on");
    await Promise.resolve();
    assert.deepEqual(
      h.streams[0]!.frames.map((f) => f.length),
      [50],
      "one frame once the run ended, no timer waited for",
    );
    // A second run: a frame of its own.
    for (let i = 50; i < 53; i++) h.queue.enqueue(msg(i));
    await Promise.resolve();
    assert.deepEqual(
      h.streams[0]!.frames.map((f) => f.length),
      [50, 3],
    );
    assert.deepEqual(
      h.streams[0]!.messages,
      Array.from({ length: 53 }, (_, i) => i),
    );
    // A full frame inside a run still goes at once, and the rest at the run's end.
    const full = harness({ batchDelayMs: 0, maxFrameMessages: 10 });
    full.queue.ensureOpen();
    await sleep(1);
    for (let i = 0; i < 25; i++) full.queue.enqueue(msg(i));
    assert.deepEqual(
      full.streams[0]!.frames.map((f) => f.length),
      [10, 10],
    );
    await Promise.resolve();
    assert.deepEqual(
      full.streams[0]!.frames.map((f) => f.length),
      [10, 10, 5],
    );
    await Promise.all([h.queue.close(), full.queue.close()]);
  });

  it("batchDelayMs 0: what is discarded before the run ends is not sent", async () => {
    const h = harness({ batchDelayMs: 0 });
    h.queue.ensureOpen();
    await sleep(1);
    h.queue.enqueue(msg(1));
    h.queue.discardQueued();
    await Promise.resolve();
    assert.equal(h.streams[0]!.frames.length, 0);
    await h.queue.close();
  });

  it("flushes a full frame immediately", async () => {
    const h = harness({ batchDelayMs: 50, maxFrameMessages: 10 });
    h.queue.ensureOpen();
    await sleep(1);
    for (let i = 0; i < 25; i++) h.queue.enqueue(msg(i));
    assert.deepEqual(
      h.streams[0]!.frames.map((f) => f.length),
      [10, 10],
    );
    await sleep(80);
    assert.deepEqual(
      h.streams[0]!.frames.map((f) => f.length),
      [10, 10, 5],
    );
    await h.queue.close();
  });

  it("stops on send()=false and resumes on the 'drain' event with one bigger frame", async () => {
    const h = harness({ batchDelayMs: 1 });
    h.queue.ensureOpen();
    await sleep(1);
    const s = h.streams[0]!;
    s.accept = false;
    for (let i = 0; i < 5; i++) h.queue.enqueue(msg(i));
    await sleep(10);
    assert.equal(s.frames.length, 1);
    for (let i = 5; i < 55; i++) h.queue.enqueue(msg(i));
    await sleep(10);
    assert.equal(s.frames.length, 1, "no write while the stream needs a drain");
    assert.equal(h.queue.queuedMessages, 50);
    s.accept = true;
    s.dispatchEvent(new Event("drain"));
    assert.equal(s.frames.length, 2);
    assert.equal(s.frames[1]!.length, 50);
    assert.deepEqual(
      s.messages,
      Array.from({ length: 55 }, (_, i) => i),
    );
    await h.queue.close();
  });

  it("drops new messages when full and counts them", async () => {
    const h = harness({ maxQueuedMessages: 3 }, true, true);
    const results = [0, 1, 2, 3, 4].map((i) => h.queue.enqueue(msg(i)));
    assert.deepEqual(results, [true, true, true, false, false]);
    assert.equal(h.counters.dropsQueueFull, 2);
    const hb = harness({ maxQueuedBytes: 5 }, true, true);
    assert.deepEqual(
      [0, 1, 2].map((i) => hb.queue.enqueue(msg(i))),
      [true, true, false],
    );
    await h.queue.close();
    await hb.queue.close();
    assert.equal(h.counters.dropsOnClose, 3);
  });

  it("re-opens a member's stream after it dies and sends what was queued", async () => {
    const h = harness({ batchDelayMs: 1 });
    h.queue.ensureOpen();
    await sleep(1);
    h.queue.enqueue(msg(1));
    await sleep(5);
    h.streams[0]!.end(new Error("remote reset"));
    h.queue.enqueue(msg(2));
    h.queue.enqueue(msg(3));
    await sleep(40);
    assert.equal(h.streams.length, 2);
    assert.deepEqual(h.streams[0]!.messages, [1]);
    assert.deepEqual(h.streams[1]!.messages, [2, 3]);
    assert.equal(h.counters.streamErrors, 1);
    assert.equal(h.counters.streamsOpened, 2);
    await h.queue.close();
  });

  it("discards on request what was queued while the stream was down, and sends only what came after", async () => {
    const h = harness({ batchDelayMs: 1 });
    h.queue.ensureOpen();
    await sleep(1);
    h.streams[0]!.end(new Error("remote reset"));
    h.queue.enqueue(msg(1));
    h.queue.enqueue(msg(2));
    // The owner learns the connection ended (an open network's introduction with it is void).
    h.queue.discardQueued();
    h.queue.enqueue(msg(3));
    await sleep(40);
    assert.equal(h.streams.length, 2);
    assert.deepEqual(h.streams[1]!.messages, [3]);
    assert.equal(h.counters.dropsNoRoute, 2);
    await h.queue.close();
  });

  it("resets a stream that does not drain in time, then re-opens", async () => {
    const h = harness({ batchDelayMs: 1, drainTimeoutMs: 10 });
    h.queue.ensureOpen();
    await sleep(1);
    h.streams[0]!.accept = false;
    h.queue.enqueue(msg(1));
    h.queue.enqueue(msg(2));
    await sleep(5);
    h.queue.enqueue(msg(3));
    await sleep(60);
    assert.equal(h.counters.drainTimeouts, 1);
    assert.equal(h.streams[0]!.writeStatus, "closed");
    assert.ok(h.streams.length >= 2);
    assert.deepEqual(h.streams[1]!.messages, [3]);
    await h.queue.close();
  });

  it("forgets a non-member when its stream closes", async () => {
    const h = harness({ batchDelayMs: 50 }, false);
    h.queue.ensureOpen();
    await sleep(1);
    h.queue.enqueue(msg(1));
    h.streams[0]!.end(undefined);
    assert.equal(h.disposed(), true);
    assert.equal(h.counters.dropsNoRoute, 1);
    assert.equal(h.queue.enqueue(msg(2)), false);
  });
});
