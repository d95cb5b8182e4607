import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { NodePeers } from "../../src/api/nodeApi.ts";
import type { DevnetNode } from "../../src/devnet/devnet.ts";
import type { AccountJson } from "../../src/wallet/nodeClient.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import { isAlive, sleep } from "../support/nodeProbes.ts";

export { sleep };

/**
 * The chaos suite's handle on a running devnet's node processes: which pid runs each node now, and the
 * faults the nemesis injects — signals, a lost disk, and partitions through each node's testing-only
 * `/v1/testing/partition` (the devnet runs with `--testing-faults`). Restarted nodes append to their node.log
 * (devnetProcess.restart discards their output, and a violation report needs those logs).
 */
export class Cluster {
  readonly nodes: readonly DevnetNode[];
  private readonly pids = new Map<string, number>();
  private readonly restarted: ChildProcess[] = [];

  constructor(nodes: readonly DevnetNode[]) {
    this.nodes = nodes;
    for (const n of nodes) this.pids.set(n.name, n.pid);
  }

  pid(node: DevnetNode): number {
    return this.pids.get(node.name)!;
  }

  kill(node: DevnetNode): void {
    signal(this.pid(node), "SIGKILL");
  }
  pause(node: DevnetNode): void {
    signal(this.pid(node), "SIGSTOP");
  }
  resume(node: DevnetNode): void {
    signal(this.pid(node), "SIGCONT");
  }

  /** The disk is lost: everything but the peer key goes. The node must be killed first. */
  async wipeDatabase(node: DevnetNode): Promise<void> {
    await rm(join(node.dataDir, "db"), { recursive: true, force: true });
  }

  /**
   * Waits until the killed process is gone, then starts the node again with its devnet.json argv; inside a
   * partition, `blocked` is the other side, refused from the node's first dial (`--testing-blocked-peer`).
   */
  async restart(node: DevnetNode, blocked: readonly DevnetNode[] = []): Promise<void> {
    const old = this.pid(node);
    const deadline = Date.now() + 10_000;
    while (isAlive(old) && Date.now() < deadline) await sleep(20);
    const fd = openSync(node.log, "a");
    try {
      const cut = blocked.flatMap((b) => ["--testing-blocked-peer", b.peerId]);
      const child = spawn(node.argv[0]!, [...node.argv.slice(1), ...cut], { stdio: ["ignore", fd, fd] });
      this.restarted.push(child);
      this.pids.set(node.name, child.pid ?? -1);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Cuts `minority` off from every other node, on both sides of the cut: each node refuses the other side's
   * peers (dials and inbound connections) and drops what it had open to them.
   */
  async partition(minority: readonly DevnetNode[]): Promise<void> {
    const majority = this.nodes.filter((n) => !minority.includes(n));
    await Promise.all([
      ...minority.map((n) => setBlocked(n, majority)),
      ...majority.map((n) => setBlocked(n, minority)),
    ]);
  }

  /** Lifts the partition of `nodes` (every node by default). */
  async heal(nodes: readonly DevnetNode[] = this.nodes): Promise<void> {
    await Promise.all(nodes.map((n) => setBlocked(n, [])));
  }

  /** Kills the processes this cluster started (the devnet stops its own). */
  stopRestarted(): void {
    for (const c of this.restarted) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  }
}

/** One node's view of every tracked account, read concurrently; throws if the node cannot answer. */
export async function readAccounts(node: DevnetNode, addresses: readonly string[]): Promise<AccountJson[]> {
  const client = new NodeClient(node.api, { timeoutMs: 3_000 });
  return Promise.all(addresses.map((a) => client.account(a)));
}

export async function isHealthy(node: DevnetNode): Promise<boolean> {
  return fetch(`${node.api}/v1/health`, { signal: AbortSignal.timeout(1_000) }).then(
    (r) => r.status === 200,
    () => false,
  );
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** PUT (or, for `[]`, DELETE) the node's blocked peers; retried briefly, since a GC pause is no reason to fail. */
async function setBlocked(node: DevnetNode, blocked: readonly DevnetNode[]): Promise<void> {
  const init: RequestInit =
    blocked.length === 0
      ? { method: "DELETE" }
      : {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ blocked: blocked.map((b) => b.peerId) }),
        };
  let last = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const status = await fetch(`${node.api}/v1/testing/partition`, {
      ...init,
      signal: AbortSignal.timeout(2_000),
    }).then(
      (r) => r.status,
      (e: Error) => e.message,
    );
    if (status === 204) return;
    last = String(status);
    await sleep(200);
  }
  throw new Error(`${node.name}: ${init.method} /v1/testing/partition failed: ${last}`);
}

/** The peer ids `node` lists as members now (itself excluded), or undefined if it does not answer. */
export async function knownMembers(node: DevnetNode): Promise<string[] | undefined> {
  const peers = await fetch(`${node.api}/v1/node/peers`, { signal: AbortSignal.timeout(2_000) })
    .then((r) => (r.ok ? (r.json() as Promise<NodePeers>) : undefined))
    .catch(() => undefined);
  return peers?.members.map((m) => m.peerId);
}

/** How many peers `node` has a connection to right now, or undefined if it does not answer. */
export async function connectedPeers(node: DevnetNode): Promise<number | undefined> {
  const info = await new NodeClient(node.api, { timeoutMs: 2_000 }).info().catch(() => undefined);
  return info?.peers.connected;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone: the fault is in place anyway
  }
}
