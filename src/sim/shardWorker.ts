/** Worker-thread side of `runSharded` (shardedRun.ts): simulates one shard of a run, posts its totals. */

import { parentPort } from "node:worker_threads";
import type { ShardReply, ShardRequest } from "./shardedRun.ts";
import { createSimulation } from "./simSpec.ts";

const port = parentPort;
if (port === null) throw new Error("shardWorker.ts runs as a worker thread of shardedRun.ts");

port.once("message", ({ spec, shard }: ShardRequest) => {
  try {
    const simulation = createSimulation(spec, {
      shard,
      onProgress: (done, total) => port.postMessage({ progress: done / total } satisfies ShardReply),
    });
    const totals = simulation.runTotals();
    // Per-node sums and latency samples: a few MB at most, cloned.
    port.postMessage({ totals } satisfies ShardReply);
  } catch (e) {
    port.postMessage({ error: (e as Error)?.stack ?? String(e) } satisfies ShardReply);
  }
});
