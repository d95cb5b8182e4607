import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { DevnetNode } from "../../src/devnet/devnet.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import type { FloodSummary } from "./flooder.ts";

/**
 * Probes for multi-process tests of a running devnet: its metrics, a process's memory, a node's health, when
 * each node applied each transfer, and the hostile peer of flooder.ts as a child process.
 */

const FLOODER_TS = fileURLToPath(new URL("./flooder.ts", import.meta.url));
const RSS_SAMPLE_MS = 250;
const POLL_MS = 200;

export interface PrometheusSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheus(text: string): PrometheusSample[] {
  const samples: PrometheusSample[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

export async function scrapeMetrics(node: DevnetNode): Promise<string> {
  const res = await fetch(`${node.api}/metrics`, { signal: AbortSignal.timeout(5_000) });
  return res.text();
}

export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (kb === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb[1]) * 1024;
}

/** Samples a process's RSS until stopped; `max` is the largest sample. */
export function sampleRss(pid: number): { stop(): Promise<{ max: number; samples: number }> } {
  let max = 0;
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      max = Math.max(max, await rssBytes(pid).catch(() => 0));
      samples++;
      await sleep(RSS_SAMPLE_MS);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { max, samples };
    },
  };
}

/** Health answers of one node during the flood, by status ("200", "503 <reason>", "timeout"). */
export function sampleHealth(node: DevnetNode): { stop(): Promise<Record<string, number>> } {
  const seen: Record<string, number> = {};
  let running = true;
  const loop = (async () => {
    while (running) {
      const answer = await fetch(`${node.api}/v1/health`, { signal: AbortSignal.timeout(2_000) }).then(
        async (r) => (r.status === 200 ? "200" : `${r.status} ${await r.text()}`),
        () => "timeout",
      );
      seen[answer] = (seen[answer] ?? 0) + 1;
      await sleep(500);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return seen;
    },
  };
}

/** When each watched node first reported each transfer applied (ms since `origin`). */
export class ApplyTimes {
  readonly at = new Map<string, Map<string, number>>();
  private readonly nodes: readonly DevnetNode[];
  private readonly origin: number;

  constructor(nodes: readonly DevnetNode[], origin: number) {
    this.nodes = nodes;
    this.origin = origin;
  }

  track(id: string): void {
    this.at.set(id, new Map());
  }

  allApplied(): boolean {
    return [...this.at.values()].every((byNode) => byNode.size === this.nodes.length);
  }

  /** Polls every pending (transfer, node) pair until all are applied or the deadline passes. */
  async pollUntil(deadline: number, stillSubmitting: () => boolean): Promise<void> {
    while (Date.now() < deadline && (stillSubmitting() || !this.allApplied())) {
      const checks: Promise<void>[] = [];
      for (const [id, byNode] of this.at) {
        for (const node of this.nodes) {
          if (byNode.has(node.name)) continue;
          checks.push(
            new NodeClient(node.api, { timeoutMs: 2_000 })
              .transfer(id)
              .then((view) => {
                if (view.status === "applied") byNode.set(node.name, Date.now() - this.origin);
              })
              .catch(() => {}),
          );
        }
      }
      await Promise.all(checks);
      await sleep(POLL_MS);
    }
  }
}

export interface RunningFlooder {
  child: ChildProcess;
  /** Resolves when the flooder has its first stream open. */
  connected: Promise<void>;
  /** Resolves with its summary when it exits. */
  summary: Promise<FloodSummary>;
}

/** Starts test/support/flooder.ts against `target` with the given extra arguments (see its header). */
export function startFlooder(target: DevnetNode, extraArgs: readonly string[]): RunningFlooder {
  const args = [FLOODER_TS, "--target", target.multiaddr, ...extraArgs];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  let onConnected: () => void = () => {};
  const connected = new Promise<void>((resolve) => {
    onConnected = resolve;
  });
  const summary = new Promise<FloodSummary>((resolve, reject) => {
    let last: FloodSummary | undefined;
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const event = JSON.parse(line) as { event: string };
      if (event.event === "connected") onConnected();
      if (event.event === "summary") last = event as FloodSummary;
    });
    child.once("exit", (code) => {
      if (last !== undefined) resolve(last);
      else reject(new Error(`flooder exited with ${code} and no summary: ${stderr}`));
    });
  });
  return { child, connected, summary };
}

export async function stopProcess(pid: number): Promise<void> {
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) process.kill(pid, "SIGKILL");
    await sleep(50);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

export function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
