import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { EventQueue } from "../../src/sim/eventQueue.ts";

describe("event queue grouped by receiver", () => {
  it("takes milliseconds in time order and, within one, groups stably by receiver", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: 0, max: 20, noNaN: true }), fc.integer({ min: -1, max: 6 })), {
          maxLength: 300,
        }),
        (events) => {
          const q = new EventQueue<number>((i) => events[i]![1]);
          for (const [i, [time]] of events.entries()) q.push(time, i);
          const out: number[] = [];
          for (let x = q.pop(); x !== undefined; x = q.pop()) out.push(x);
          const expected = events
            .map(([time, group], i) => ({ ms: Math.floor(time), group, i }))
            .sort((a, b) => a.ms - b.ms || a.group - b.group || a.i - b.i)
            .map((e) => e.i);
          assert.deepEqual(out, expected);
          assert.equal(q.size, 0);
        },
      ),
    );
  });

  it("keeps an event pushed into the millisecond being drained", () => {
    const q = new EventQueue<string>((s) => (s === "x" ? 1 : 0));
    q.push(2.5, "x");
    q.push(2.1, "a");
    assert.equal(q.pop(), "a");
    q.push(2.2, "b"); // same millisecond, pushed while draining: after the grouped ones
    q.push(1, "late");
    assert.deepEqual([q.pop(), q.pop(), q.pop(), q.pop()], ["x", "b", "late", undefined]);
  });
});
