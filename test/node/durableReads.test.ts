import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DurableReads } from "../../src/node/durableReads.ts";

/**
 * The processing loop's shape: a step changes memory, writes (await), releases, yields one event-loop turn and
 * goes on to the next step, which changes memory again. A reader that arrives during a write must see the state of the
 * step just written — never the half-written one, never the next step's.
 */
describe("durable reads", () => {
  it("a reader arriving during a write sees exactly the state that write made durable", async () => {
    const reads = new DurableReads();
    let memory = 0;
    let durable = 0;
    const seen: { memory: number; durable: number }[] = [];
    let writeDone: (() => void) | undefined;

    const step = async (value: number): Promise<void> => {
      reads.hold();
      memory = value; // the core's change, in memory only
      await new Promise<void>((resolve) => {
        writeDone = () => {
          writeDone = undefined;
          durable = value;
          resolve();
        };
      });
      reads.release();
    };
    let looping = true;
    const loop = (async () => {
      for (const value of [1, 2, 3]) {
        await step(value);
        await new Promise((r) => setImmediate(r)); // the node's loop yields a turn between steps
      }
      looping = false;
    })();

    // Readers arrive while step 1's write is in flight.
    const readers = [1, 2, 3].map(async () => {
      await reads.settled();
      seen.push({ memory, durable });
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(seen.length, 0, "nobody reads while the write is in flight");
    // The disk finishes each write as soon as the step has started it.
    while (looping) {
      writeDone?.();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all([loop, ...readers]);
    assert.deepEqual(seen, [
      { memory: 1, durable: 1 },
      { memory: 1, durable: 1 },
      { memory: 1, durable: 1 },
    ]);
  });

  it("answers at once when nothing is in flight", async () => {
    const reads = new DurableReads();
    let done = false;
    await reads.settled().then(() => {
      done = true;
    });
    assert.ok(done);
  });
});
