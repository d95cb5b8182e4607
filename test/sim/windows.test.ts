import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chooseParams } from "../../src/analysis/chooseParams.ts";
import type { BroadcastEvent, BroadcastProtocol } from "../../src/broadcast/types.ts";
import { latencyModel, minimumLatencyMs } from "../../src/sim/latency.ts";
import { contagionFactory } from "../../src/sim/protocols.ts";
import { type ProtocolFactory, Simulation } from "../../src/sim/simulation.ts";

/** Wraps each node's state machine to record the times of the events it is handed. */
function recordingFactory(inner: ProtocolFactory, times: Map<string, number[]>): ProtocolFactory {
  return {
    name: inner.name,
    startEvents: inner.startEvents,
    create: (context) => {
      const protocol = inner.create(context);
      const mine: number[] = [];
      times.set(context.self, mine);
      return new Proxy(protocol, {
        get(target, key, receiver) {
          if (key !== "handle") return Reflect.get(target, key, receiver);
          return (event: BroadcastEvent) => {
            mine.push(event.nowMs);
            return target.handle(event);
          };
        },
      }) as BroadcastProtocol;
    },
  };
}

function run(windowMs: number, times: Map<string, number[]>) {
  const nodes = 60;
  return new Simulation({
    nodes,
    byzantine: 0.1,
    adversary: "ready-flood",
    protocol: recordingFactory(
      contagionFactory(chooseParams({ nodes, byzantine: 0.1, epsilon: 1e-6 })),
      times,
    ),
    broadcasts: 4,
    seed: 5,
    latency: latencyModel("uniform", 50),
    meanLatencyMs: 50,
    intervalMs: 300,
    windowMs,
  }).run();
}

describe("receiver-by-receiver windows", () => {
  it("never hand a node an event earlier than one it already handled", () => {
    const times = new Map<string, number[]>();
    const result = run(minimumLatencyMs("uniform", 50), times);
    assert.equal(result.deliveredFraction, 1);
    let events = 0;
    for (const [node, seen] of times) {
      events += seen.length;
      for (let i = 1; i < seen.length; i++) {
        assert.ok(seen[i]! >= seen[i - 1]!, `${node}: event at ${seen[i]} after one at ${seen[i - 1]}`);
      }
    }
    assert.ok(events > 10_000, `only ${events} events`);
  });

  it("wider than the shortest delay, they would (the check above can fail)", () => {
    const times = new Map<string, number[]>();
    run(50, times);
    const backwards = [...times.values()].some((seen) => seen.some((t, i) => i > 0 && t < seen[i - 1]!));
    assert.ok(backwards, "a 50 ms window over 25–75 ms delays should reorder some node's events");
  });
});
