import type { RandomSource } from "../../src/core/random.ts";
import type { DevnetNode } from "../../src/devnet/devnet.ts";
import { randomIndex } from "../../src/sim/prng.ts";
import { type Cluster, isHealthy, readAccounts, sleep } from "./cluster.ts";

/**
 * The nemesis: one fault at a time (at most f = 1 faulty node on 4 nodes; the suite keeps it at one on 7 too),
 * seeded. Each event picks a node and one of: SIGKILL then restart with its argv; SIGSTOP then SIGCONT; SIGKILL,
 * delete its database (peer key kept) then restart. Before the next event the node must have caught up: its
 * next seqs at least those a healthy node had when the fault ended. Partitions are not injected: the node has
 * no runtime connection gating to drive and the suite creates no network namespaces.
 */

export type FaultKind = "kill" | "pause" | "wipe";
export const FAULT_KINDS: readonly FaultKind[] = ["kill", "pause", "wipe"];

export interface NemesisOptions {
  readonly random: RandomSource;
  /** Mean pause between the end of one recovery and the next fault. */
  readonly intervalMs: number;
  /** How long a node stays down or paused: uniform in [min, max]. */
  readonly downMs: readonly [number, number];
  /** A node not caught up within this is a finding; the nemesis stops there. */
  readonly recoverTimeoutMs: number;
}

export interface NemesisEvent {
  readonly kind: FaultKind;
  readonly node: string;
  /** ms since the nemesis started. */
  readonly at: number;
  readonly downMs: number;
  /** From the fault's end (restart or SIGCONT) to caught up; undefined if it never caught up. */
  readonly catchUpMs: number | undefined;
}

export class Nemesis {
  readonly events: NemesisEvent[] = [];
  private readonly cluster: Cluster;
  private readonly addresses: readonly string[];
  private readonly options: NemesisOptions;
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly origin = Date.now();
  private readonly log: (line: string) => void;

  constructor(
    cluster: Cluster,
    addresses: readonly string[],
    options: NemesisOptions,
    log: (line: string) => void,
  ) {
    this.cluster = cluster;
    this.addresses = addresses;
    this.options = options;
    this.log = log;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the fault in progress healed (every node up and caught up). */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    const { random } = this.options;
    while (this.running) {
      await this.sleepWhileRunning(this.options.intervalMs * (0.5 + random()));
      if (!this.running) return;
      const node = this.cluster.nodes[randomIndex(random, this.cluster.nodes.length)]!;
      const kind = FAULT_KINDS[randomIndex(random, FAULT_KINDS.length)]!;
      const [lo, hi] = this.options.downMs;
      const downMs = Math.round(lo + random() * (hi - lo));
      const at = Date.now() - this.origin;
      await this.inject(kind, node, downMs);
      const catchUpMs = await this.timeToCatchUp(node);
      this.events.push({ kind, node: node.name, at, downMs, catchUpMs });
      this.log(
        `nemesis: ${kind} ${node.name} for ${downMs} ms at +${at} ms; ${catchUpMs === undefined ? "NOT caught up" : `caught up in ${catchUpMs} ms`}`,
      );
      if (catchUpMs === undefined) return;
    }
  }

  private async inject(kind: FaultKind, node: DevnetNode, downMs: number): Promise<void> {
    if (kind === "pause") {
      this.cluster.pause(node);
      await sleep(downMs);
      this.cluster.resume(node);
      return;
    }
    this.cluster.kill(node);
    await sleep(downMs);
    if (kind === "wipe") await this.cluster.wipeDatabase(node);
    await this.cluster.restart(node);
  }

  /** Caught up: healthy, and every account's next seq at least what a healthy peer showed when the fault ended. */
  private async timeToCatchUp(node: DevnetNode): Promise<number | undefined> {
    const healed = Date.now();
    const target = await this.referenceSeqs(node);
    const deadline = healed + this.options.recoverTimeoutMs;
    while (Date.now() < deadline) {
      if (await isHealthy(node)) {
        const seen = await readAccounts(node, this.addresses).catch(() => undefined);
        if (seen?.every((a, i) => a.nextSeq >= target[i]!)) return Date.now() - healed;
      }
      await sleep(100);
    }
    return undefined;
  }

  private async referenceSeqs(faulty: DevnetNode): Promise<number[]> {
    for (const peer of this.cluster.nodes) {
      if (peer === faulty) continue;
      const accounts = await readAccounts(peer, this.addresses).catch(() => undefined);
      if (accounts !== undefined) return accounts.map((a) => a.nextSeq);
    }
    return this.addresses.map(() => 0);
  }

  private async sleepWhileRunning(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (this.running && Date.now() < until) await sleep(Math.min(200, until - Date.now()));
  }
}
