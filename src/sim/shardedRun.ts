import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { createSimulation, type SimSpec } from "./simSpec.ts";
import type { SimulationResult, SimulationShard } from "./simulation.ts";
import { mergeTotals, type SimulationTotals, summarize } from "./simulationTotals.ts";

/** Messages between `runSharded` and shardWorker.ts. */
export type ShardRequest = { readonly spec: SimSpec; readonly shard: SimulationShard };
export type ShardReply =
  | { readonly totals: SimulationTotals }
  | { readonly progress: number }
  | { readonly error: string };

export interface ShardedRunOptions {
  /** Worker threads (at most one per broadcast); 1 runs in this thread. */
  readonly workers: number;
  /** Fraction done, the slowest shard's. */
  readonly onProgress?: (fraction: number) => void;
}

/** One per core, at most two: this project's CI machine. */
export function defaultSimWorkers(): number {
  return Math.max(1, Math.min(2, availableParallelism()));
}

/**
 * Runs a simulation split by broadcast over worker threads: every worker builds the same network (same seed:
 * same Byzantine nodes, same samples) and simulates every `workers`-th broadcast of it, with its own schedule
 * randomness. The simulator has no bandwidth model, so broadcasts interact only when they overlap in time
 * (the default interval keeps them apart) and splitting them changes no broadcast's odds; a run is a pure
 * function of (spec, workers). Each worker pays for building the network and its subscriptions: the
 * subscriptions are counted once in the message rate, so the rate is never flattered by repeated work.
 */
export async function runSharded(spec: SimSpec, options: ShardedRunOptions): Promise<SimulationResult> {
  const count = Math.max(1, Math.min(options.workers, spec.broadcasts));
  const started = performance.now();
  if (count === 1) {
    const totals = createSimulation(spec, {
      onProgress: options.onProgress && ((done, total) => options.onProgress!(done / total)),
    }).runTotals();
    return summarize(totals, (performance.now() - started) / 1000);
  }
  const progress = new Array<number>(count).fill(0);
  const shards = await Promise.all(
    Array.from({ length: count }, (_, index) =>
      runShard({ spec, shard: { index, count } }, (fraction) => {
        progress[index] = fraction;
        options.onProgress?.(Math.min(...progress));
      }),
    ),
  );
  const merged = shards.reduce(mergeTotals);
  return summarize(merged, (performance.now() - started) / 1000);
}

function runShard(request: ShardRequest, onProgress: (fraction: number) => void): Promise<SimulationTotals> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./shardWorker.ts", import.meta.url));
    worker.on("message", (reply: ShardReply) => {
      if ("progress" in reply) onProgress(reply.progress);
      else {
        void worker.terminate();
        if ("error" in reply)
          reject(new Error(`simulation shard ${request.shard.index} failed: ${reply.error}`));
        else resolve(reply.totals);
      }
    });
    worker.on("error", reject);
    // A worker that dies without a word (e.g. out of memory) must not leave the run waiting forever.
    worker.on("exit", (code) =>
      reject(new Error(`simulation shard ${request.shard.index} exited (${code})`)),
    );
    worker.postMessage(request);
  });
}
