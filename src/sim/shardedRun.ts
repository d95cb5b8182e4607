import { availableParallelism, totalmem } from "node:os";
import { Worker } from "node:worker_threads";
import type { SimSpec } from "./simSpec.ts";
import type { SimulationResult, SimulationShard } from "./simulation.ts";
import { mergeTotals, type SimulationTotals, summarize } from "./simulationTotals.ts";

/** Messages between `runSharded` and shardWorker.ts. */
export type ShardRequest = { readonly spec: SimSpec; readonly shard: SimulationShard };
export type ShardReply =
  | { readonly totals: SimulationTotals }
  | { readonly progress: number }
  | { readonly error: string };

export interface ShardedRunOptions {
  /** Worker threads (at most one per broadcast; one is still a worker, for its heap limit). */
  readonly workers: number;
  /** Fraction done, the slowest shard's. */
  readonly onProgress?: (fraction: number) => void;
}

/**
 * The heap each of `workers` simulation threads may grow to: three quarters of the machine's memory, shared.
 * V8's default (~4 GB) is too small for 10,000 nodes at f = 0.2, whose samples are ~3× larger than at 0.1.
 */
export function simWorkerLimits(workers: number): { readonly maxOldGenerationSizeMb: number } {
  const totalMb = totalmem() / 2 ** 20;
  return { maxOldGenerationSizeMb: Math.max(1024, Math.floor((0.75 * totalMb) / Math.max(1, workers))) };
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
  // Even one shard runs on a worker thread: its heap limit can be raised, this thread's cannot.
  const progress = new Array<number>(count).fill(0);
  const shards = await Promise.all(
    Array.from({ length: count }, (_, index) =>
      runShard({ spec, shard: { index, count } }, simWorkerLimits(count), (fraction) => {
        progress[index] = fraction;
        options.onProgress?.(Math.min(...progress));
      }),
    ),
  );
  const merged = shards.reduce(mergeTotals);
  return summarize(merged, (performance.now() - started) / 1000);
}

function runShard(
  request: ShardRequest,
  resourceLimits: { readonly maxOldGenerationSizeMb: number },
  onProgress: (fraction: number) => void,
): Promise<SimulationTotals> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./shardWorker.ts", import.meta.url), { resourceLimits });
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
