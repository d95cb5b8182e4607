/** Worker-thread side of `runJobs` (monteCarlo.ts): runs one job per request and posts its outcome. */

import { parentPort } from "node:worker_threads";
import { runJob, type WorkerReply, type WorkerRequest } from "./monteCarlo.ts";

const port = parentPort;
if (port === null) throw new Error("simWorker.ts runs as a worker thread of monteCarlo.ts");

port.on("message", ({ index, job }: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    const outcome = runJob(job, (progress) => port.postMessage({ index, progress } satisfies WorkerReply));
    reply = { index, outcome };
  } catch (e) {
    reply = { index, error: (e as Error)?.stack ?? String(e) };
  }
  port.postMessage(reply);
});
