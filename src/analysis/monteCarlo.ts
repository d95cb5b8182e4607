/**
 * Simulator runs as plain data: a `SimJob` says what to simulate (so it can cross a worker-thread boundary),
 * `runJob` runs it with src/sim's `Simulation`, and `runJobs` spreads many jobs over worker threads. Used by
 * `tally params --verify` (verify.ts) and by scripts/analysis.ts.
 */

import { Worker } from "node:worker_threads";
import { defaultSimWorkers, simWorkerLimits } from "../sim/shardedRun.ts";
import { createSimulation, type SimSpec } from "../sim/simSpec.ts";
import type { SimulationResult } from "../sim/simulation.ts";
import { population } from "./population.ts";

/**
 * A simulation of the analysis: f means ⌊f·N⌋ Byzantine nodes, as in the bounds (population.ts), and under
 * `equivocate` every broadcast is attacked.
 */
export type SimJob = Omit<SimSpec, "equivocateEvery">;

/** What the analysis keeps of a `SimulationResult`, with the denominators each property is counted over. */
export interface SimOutcome {
  readonly job: SimJob;
  readonly broadcasts: number;
  /**
   * Broadcasts with a correct source: the ones validity is about. Under "equivocate" every broadcast has a
   * Byzantine source (`equivocateEvery` 1), so none; consistency and totality are about every broadcast.
   */
  readonly correctSourceBroadcasts: number;
  readonly violations: SimulationResult["violations"];
  readonly messagesPerNodePerBroadcast: SimulationResult["messagesPerNodePerBroadcast"];
  readonly setupMessagesPerNode: number;
  readonly latencyMs: SimulationResult["latencyMs"];
  readonly latencyHops: SimulationResult["latencyHops"];
  readonly deliveredFraction: number;
  readonly simulatedMessages: number;
  readonly wallSeconds: number;
}

/**
 * The fraction handed to the simulator so that it picks exactly ⌊f·N⌋ Byzantine nodes like the bounds: the
 * simulator floors f·N without the bounds' 1e-9 allowance for decimal input (0.3 × 10 = 2.999…).
 */
export function simulatorFraction(nodes: number, byzantine: number): number {
  const count = population({ nodes, byzantine }).byzantineNodes;
  return Math.floor(byzantine * nodes) === count ? byzantine : (count + 0.5) / nodes;
}

export function runJob(job: SimJob, onProgress?: (fraction: number) => void): SimOutcome {
  const result = createSimulation(
    {
      ...job,
      byzantine: simulatorFraction(job.nodes, job.byzantine),
      // Every broadcast attacked: validity is then checked under the other adversaries only.
      equivocateEvery: 1,
    },
    { onProgress: onProgress && ((done, total) => onProgress(Math.min(1, done / total))) },
  ).run();
  const attacked = job.adversary === "equivocate" && population(job).byzantineNodes > 0;
  return {
    job,
    broadcasts: result.broadcasts,
    correctSourceBroadcasts: attacked ? 0 : result.broadcasts,
    violations: result.violations,
    messagesPerNodePerBroadcast: result.messagesPerNodePerBroadcast,
    setupMessagesPerNode: result.setupMessagesPerNode,
    latencyMs: result.latencyMs,
    latencyHops: result.latencyHops,
    deliveredFraction: result.deliveredFraction,
    simulatedMessages: result.simulatedMessages,
    wallSeconds: result.wallSeconds,
  };
}

export interface RunJobsOptions {
  /** Worker threads; 1 runs the jobs in this thread. Default: the machine's parallelism, at most 2. */
  readonly workers?: number;
  /** After each job, in completion order. */
  readonly onDone?: (outcome: SimOutcome, done: number, total: number) => void;
  /** Within a long job (the simulator reports every ~0.5 s of wall time). */
  readonly onJobProgress?: (job: SimJob, fraction: number) => void;
}

/** Messages between runJobs and simWorker.ts. */
export type WorkerRequest = { readonly index: number; readonly job: SimJob };
export type WorkerReply =
  | { readonly index: number; readonly outcome: SimOutcome }
  | { readonly index: number; readonly progress: number }
  | { readonly index: number; readonly error: string };

/** Runs the jobs, on worker threads when there are several jobs and workers; outcomes in job order. */
export async function runJobs(jobs: readonly SimJob[], options: RunJobsOptions = {}): Promise<SimOutcome[]> {
  const outcomes: SimOutcome[] = new Array(jobs.length);
  const workers = Math.min(options.workers ?? defaultSimWorkers(), jobs.length);
  let done = 0;
  const finish = (index: number, outcome: SimOutcome) => {
    outcomes[index] = outcome;
    done++;
    options.onDone?.(outcome, done, jobs.length);
  };
  if (workers <= 1) {
    for (const [index, job] of jobs.entries()) {
      finish(index, runJob(job, options.onJobProgress && ((f) => options.onJobProgress!(job, f))));
    }
    return outcomes;
  }
  let next = 0;
  const pool = Array.from(
    { length: workers },
    () =>
      new Promise<void>((resolve, reject) => {
        const worker = new Worker(new URL("./simWorker.ts", import.meta.url), {
          resourceLimits: simWorkerLimits(workers),
        });
        const post = () => {
          if (next >= jobs.length) {
            void worker.terminate().then(() => resolve());
            return;
          }
          const index = next++;
          worker.postMessage({ index, job: jobs[index]! } satisfies WorkerRequest);
        };
        worker.on("message", (reply: WorkerReply) => {
          if ("progress" in reply) options.onJobProgress?.(jobs[reply.index]!, reply.progress);
          else if ("error" in reply) {
            void worker.terminate();
            reject(new Error(`simulation job ${reply.index} failed: ${reply.error}`));
          } else {
            finish(reply.index, reply.outcome);
            post();
          }
        });
        worker.on("error", reject);
        post();
      }),
  );
  await Promise.all(pool);
  return outcomes;
}
