import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { EventQueue } from "../../src/sim/eventQueue.ts";

describe("event queue grouped by receiver", () => {
  // Few receivers make long runs per receiver (sorted by index rather than by insertion).
  for (const [windowMs, receivers] of [
    [1, 7],
    [25, 7],
    [25, 2],
  ] as const) {
    it(`takes ${windowMs} ms windows in time order and, within one, by receiver (of ${receivers}), each in time order`, () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.tuple(
              // Times 10 µs apart at least: the queue orders a long run by time to the nanosecond.
              fc.integer({ min: 0, max: 10_000_000 }).map((tens) => tens / 100_000),
              fc.integer({ min: -1, max: receivers - 1 }),
            ),
            {
              maxLength: 300,
            },
          ),
          (events) => {
            const q = new EventQueue<number>({ grouped: true, windowMs });
            for (const [i, [time, group]] of events.entries()) q.push(time, i, group, i * 7);
            const out: number[] = [];
            for (let x = q.pop(); x !== undefined; x = q.pop()) {
              out.push(x);
              assert.deepEqual([q.lastGroup, q.lastTag], [events[x]![1], x * 7]);
            }
            const expected = events
              .map(([time, group], i) => ({ window: Math.floor(time / windowMs), group, time, i }))
              .sort((a, b) => a.window - b.window || a.group - b.group || a.time - b.time || a.i - b.i)
              .map((e) => e.i);
            assert.deepEqual(out, expected);
            assert.equal(q.size, 0);
          },
        ),
      );
    });
  }

  it("keeps an event pushed into the millisecond being drained", () => {
    const q = new EventQueue<string>({ grouped: true });
    q.push(2.5, "x", 1);
    q.push(2.1, "a", 0);
    assert.equal(q.pop(), "a");
    q.push(2.2, "b", 0); // same millisecond, pushed while draining: after the grouped ones
    q.push(1, "late", 0);
    assert.deepEqual([q.pop(), q.pop(), q.pop(), q.pop()], ["x", "b", "late", undefined]);
  });
});
