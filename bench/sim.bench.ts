/**
 * Simulator throughput: simulated messages per wall-clock second for contagion at the ε = 1e-9 parameters
 * (f = 0.1, silent Byzantine nodes), in one thread and split over two worker threads, with the ratio.
 * Subscriptions are counted once even when every worker sends them (see src/sim/shardedRun.ts).
 *
 *   node bench/sim.bench.ts [nodes=300,1000,3000] [broadcasts=20]
 */
import { chooseParams } from "../src/analysis/chooseParams.ts";
import { runSharded } from "../src/sim/shardedRun.ts";
import type { SimSpec } from "../src/sim/simSpec.ts";

const sizes = (process.argv[2] ?? "300,1000,3000").split(",").map(Number);
const broadcasts = Number(process.argv[3] ?? 20);

const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
console.log(`contagion, f = 0.1 silent, ε = 1e-9 parameters, ${broadcasts} broadcasts`);
console.log("nodes      messages  1 thread msg/s  2 threads msg/s  ratio");
for (const nodes of sizes) {
  const spec: SimSpec = {
    nodes,
    byzantine: 0.1,
    adversary: "silent",
    protocol: { contagion: chooseParams({ nodes, byzantine: 0.1, epsilon: 1e-9 }) },
    broadcasts,
    seed: 1,
    latency: "uniform",
    meanLatencyMs: 50,
    intervalMs: 500,
  };
  const one = await runSharded(spec, { workers: 1 });
  const two = await runSharded(spec, { workers: 2 });
  console.log(
    `${String(nodes).padStart(5)} ${fmt(one.simulatedMessages).padStart(13)} ${fmt(one.messagesPerSecond).padStart(15)} ${fmt(two.messagesPerSecond).padStart(16)}  ${(two.messagesPerSecond / one.messagesPerSecond).toFixed(2)}×`,
  );
}
