import type { RandomSource } from "../../src/core/random.ts";
import { type DevnetNode, OPEN_DEVNET_MEMBERSHIP } from "../../src/devnet/devnet.ts";
import { randomIndex } from "../../src/sampling/randomDraw.ts";
import { type Cluster, connectedPeers, isHealthy, knownMembers, readAccounts, sleep } from "./cluster.ts";

/**
 * The nemesis: one fault at a time, seeded. Each event is one of: SIGKILL a node then restart it with its argv;
 * SIGSTOP then SIGCONT; SIGKILL, delete its database (peer key kept) then restart; a partition — a random
 * minority of 1..⌊(n−1)/2⌋ nodes cut off from the rest (both sides refuse each other's connections through the
 * nodes' testing-only partition control) while the workload goes on, then healed; or a partition with a kill -9
 * inside it — one node of either side killed while the cut holds and restarted on its side of it
 * (`--testing-blocked-peer`), the cut healed only after; or a long partition, held past the record TTL, so that
 * each side's records of the other expire while it holds. A process fault hits one node (at most f = 1 on 4
 * nodes; the suite keeps it at one on 7 too). Before the next event every node on the faulty side must have
 * caught up: its next seqs at least those a healthy node had when the fault ended.
 */

export type RestartInCut = "stayedCut" | "crossedCut" | "answeredLate";

export type FaultKind = "kill" | "pause" | "wipe" | "partition" | "partitionKill" | "longPartition";
export const FAULT_KINDS: readonly FaultKind[] = [
  "kill",
  "pause",
  "wipe",
  "partition",
  "partitionKill",
  "longPartition",
];

/** A node restarted inside a partition must answer within this after the heal, or it stays cut (a finding). */
const RESTART_ANSWER_TIMEOUT_MS = 20_000;

/**
 * A partition with a kill inside it lasts at most this, restart or not: below an open devnet's record TTL
 * (10 s), so that what it tests is the restart, not the expiry `longPartition` tests.
 */
const MAX_CUT_MS = 8_000;

/** An open devnet's record TTL: a `longPartition` holds its cut for 1.5 of it plus the drawn down time. */
const RECORD_TTL_MS = OPEN_DEVNET_MEMBERSHIP.recordTtlSeconds * 1_000;

export interface NemesisOptions {
  readonly random: RandomSource;
  /** Mean pause between the end of one recovery and the next fault. */
  readonly intervalMs: number;
  /** How long a node stays down or paused: uniform in [min, max]. */
  readonly downMs: readonly [number, number];
  /** A node not caught up within this is a finding; the nemesis stops there. */
  readonly recoverTimeoutMs: number;
  /** The first events' kinds, in order, before the seeded choice takes over (a short run can force a partition). */
  readonly firstKinds?: readonly FaultKind[];
  /** The kinds the seeded choice picks from (default: all of `FAULT_KINDS`). */
  readonly kinds?: readonly FaultKind[];
  /**
   * Nodes whose database is never deleted (a `wipe` drawn for one hits another node): those hosting a shared
   * account's owner. An owner's committee records are its memory of what it signed; an owner that loses them
   * may sign a second, different vote, which makes it a Byzantine owner, not a crashed one.
   */
  readonly keepDisks?: readonly string[];
  /** The first events' nodes, by name, before the seeded choice takes over (a partition still draws its minority). */
  readonly firstVictims?: readonly string[];
}

export interface NemesisEvent {
  readonly kind: FaultKind;
  /** The faulty side: one node, or a partition's minority. */
  readonly nodes: readonly string[];
  /** ms since the nemesis started. */
  readonly at: number;
  readonly downMs: number;
  /** From the fault's end (restart or SIGCONT) to caught up; undefined if it never caught up. */
  readonly catchUpMs: number | undefined;
  /**
   * How far behind the faulty side was when the fault ended: the largest total next-seq deficit (over the
   * tracked accounts) of a faulty node's first answer; 0 if it was level, undefined if none answered at once.
   */
  readonly behindAtHeal: number | undefined;
  /**
   * Partitions only: whether a minority node was seen with no connection across the cut while it held (it
   * reported at most minority − 1 connected peers).
   */
  readonly cutSeen?: boolean;
  /** `partitionKill` only: the node killed and restarted while the cut held. */
  readonly restarted?: string;
  /**
   * `partitionKill` only: `stayedCut` if the restarted node's API answered before the heal and, watched until it,
   * never had more connections than the other nodes of its side; `crossedCut` if it had; `answeredLate` if it
   * did not answer in time to be watched (it was healed once it did).
   */
  readonly restartInCut?: RestartInCut;
  /**
   * `longPartition` only: whether the cut was seen to outlast the records — a minority node that no longer
   * listed any majority node as a member, and a majority node that no longer listed any minority node.
   */
  readonly recordsExpired?: boolean;
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
    const { nodes } = this.cluster;
    // A partition needs a minority of at least one node that leaves a strict majority: three nodes or more.
    const pool = this.options.kinds ?? FAULT_KINDS;
    const kinds = nodes.length >= 3 ? pool : pool.filter((k) => !k.startsWith("partition"));
    const forced = [...(this.options.firstKinds ?? [])];
    const victims = [...(this.options.firstVictims ?? [])];
    while (this.running) {
      await this.sleepWhileRunning(this.options.intervalMs * (0.5 + random()));
      if (!this.running) return;
      const victim = victims.shift();
      let node =
        victim === undefined
          ? nodes[randomIndex(random, nodes.length)]
          : nodes.find((n) => n.name === victim);
      if (node === undefined) throw new Error(`nemesis: no node is named ${victim}`);
      const kind = forced.shift() ?? kinds[randomIndex(random, kinds.length)]!;
      const keep = this.options.keepDisks ?? [];
      if (kind === "wipe" && keep.includes(node.name)) {
        // Drawn only here, so a run that keeps no disks replays the same schedule as before.
        const wipeable = nodes.filter((n) => !keep.includes(n.name));
        if (wipeable.length === 0) throw new Error("nemesis: a wipe was drawn, and every disk is kept");
        node = wipeable[randomIndex(random, wipeable.length)]!;
      }
      const [lo, hi] = this.options.downMs;
      const drawnMs = Math.round(lo + random() * (hi - lo));
      const downMs = kind === "longPartition" ? Math.round(1.5 * RECORD_TTL_MS) + drawnMs : drawnMs;
      const at = Date.now() - this.origin;
      let faulty = [node];
      let cutSeen: boolean | undefined;
      let restartInCut: RestartInCut | undefined;
      let recordsExpired: boolean | undefined;
      if (kind === "partition") {
        faulty = this.pickMinority();
        cutSeen = await this.partition(faulty, downMs);
      } else if (kind === "longPartition") {
        faulty = this.pickMinority();
        ({ cutSeen, recordsExpired } = await this.longPartition(faulty, downMs));
      } else if (kind === "partitionKill") {
        const minority = this.pickMinority();
        ({ cutSeen, restartInCut } = await this.partitionWithKill(minority, node, downMs));
        faulty = minority.includes(node) ? minority : [...minority, node];
      } else await this.inject(kind, node, downMs);
      const { catchUpMs, behindAtHeal } = await this.timeToCatchUp(faulty);
      const names = faulty.map((n) => n.name);
      this.events.push({
        behindAtHeal,
        kind,
        nodes: names,
        at,
        downMs,
        catchUpMs,
        ...(cutSeen === undefined ? {} : { cutSeen }),
        ...(restartInCut === undefined ? {} : { restarted: node.name, restartInCut }),
        ...(recordsExpired === undefined ? {} : { recordsExpired }),
      });
      const restart =
        restartInCut === undefined ? "" : ` (${node.name} restarted inside the cut: ${restartInCut})`;
      const expiry = recordsExpired === false ? " (records NOT seen to expire)" : "";
      this.log(
        `nemesis: ${kind} ${names.join("+")}${restart}${expiry} for ${downMs} ms at +${at} ms${cutSeen === false ? " (cut NOT seen)" : ""}; ${behindAtHeal ?? "?"} seqs behind at the heal; ${catchUpMs === undefined ? "NOT caught up" : `caught up in ${catchUpMs} ms`}`,
      );
      if (catchUpMs === undefined) return;
    }
  }

  /** 1..⌊(n−1)/2⌋ nodes, seeded: a seeded shuffle's prefix. */
  private pickMinority(): DevnetNode[] {
    const { random } = this.options;
    const pool = [...this.cluster.nodes];
    const size = 1 + randomIndex(random, Math.floor((pool.length - 1) / 2));
    const minority: DevnetNode[] = [];
    while (minority.length < size) minority.push(pool.splice(randomIndex(random, pool.length), 1)[0]!);
    return minority;
  }

  /**
   * Cuts `minority` off for `downMs` while the workload goes on, then heals. Returns whether a minority node
   * was seen without connections across the cut (polled while it holds).
   */
  private async partition(minority: readonly DevnetNode[], downMs: number): Promise<boolean> {
    const until = Date.now() + downMs;
    let cutSeen = false;
    try {
      await this.cluster.partition(minority);
      while (Date.now() < until) {
        if (await isCut(minority[0]!, minority.length)) cutSeen = true;
        await sleep(Math.max(0, Math.min(250, until - Date.now())));
      }
    } finally {
      await this.cluster.heal();
    }
    return cutSeen;
  }

  /**
   * Cuts `minority` off for `downMs` (1.5 record TTLs plus the drawn down time), long enough for every record
   * across the cut to expire on the other side (each side stops hearing the other's refreshes), then heals. A
   * minority must then wait rather than redraw its samples from its own side, and the checker's verdicts say
   * whether it did.
   */
  private async longPartition(
    minority: readonly DevnetNode[],
    downMs: number,
  ): Promise<{ cutSeen: boolean; recordsExpired: boolean }> {
    const until = Date.now() + downMs;
    const majority = this.cluster.nodes.filter((n) => !minority.includes(n));
    const forgets = async (node: DevnetNode, others: readonly DevnetNode[]) => {
      const members = await knownMembers(node);
      return members !== undefined && others.every((o) => !members.includes(o.peerId));
    };
    let cutSeen = false;
    let recordsExpired = false;
    try {
      await this.cluster.partition(minority);
      while (Date.now() < until) {
        if (!cutSeen) cutSeen = await isCut(minority[0]!, minority.length);
        if (!recordsExpired)
          recordsExpired = (await forgets(minority[0]!, majority)) && (await forgets(majority[0]!, minority));
        await sleep(Math.max(0, Math.min(250, until - Date.now())));
      }
    } finally {
      await this.cluster.heal();
    }
    return { cutSeen, recordsExpired };
  }

  /**
   * Cuts `minority` off, SIGKILLs `victim` (either side) a third of the way in, restarts it a third later on
   * its side of the cut, and heals once `downMs` is over and the victim has been watched answering for a
   * second — but never later than `MAX_CUT_MS` after the cut. Returns whether a minority node was seen cut, and
   * what the restarted victim did while the cut held.
   */
  private async partitionWithKill(
    minority: readonly DevnetNode[],
    victim: DevnetNode,
    downMs: number,
  ): Promise<{ cutSeen: boolean; restartInCut: RestartInCut }> {
    const start = Date.now();
    const latestHeal = start + MAX_CUT_MS;
    const side = minority.includes(victim)
      ? minority
      : this.cluster.nodes.filter((n) => !minority.includes(n));
    const otherSide = this.cluster.nodes.filter((n) => !side.includes(n));
    const observer = minority.find((n) => n !== victim);
    let cutSeen = false;
    let restartInCut: RestartInCut = "answeredLate";
    let victimHealed = false;
    try {
      await this.cluster.partition(minority);
      const killAt = start + downMs / 3;
      while (Date.now() < killAt) {
        if (!cutSeen) cutSeen = await isCut(minority[0]!, minority.length);
        await sleep(Math.max(0, Math.min(100, killAt - Date.now())));
      }
      this.cluster.kill(victim);
      await sleep(downMs / 3);
      await this.cluster.restart(victim, otherSide);
      // Answering, not healthy: cut off from the other side's share of its samples, it reports `isolated`.
      const answering = async () => (await connectedPeers(victim)) !== undefined;
      while (!(await answering()) && Date.now() < latestHeal - 1_000) await sleep(100);
      if (await answering()) {
        restartInCut = "stayedCut";
        const watchUntil = Math.min(latestHeal, Math.max(start + downMs, Date.now() + 1_000));
        while (Date.now() < watchUntil) {
          if (!(await isCut(victim, side.length))) restartInCut = "crossedCut";
          if (observer !== undefined && (await isCut(observer, minority.length))) cutSeen = true;
          await sleep(250);
        }
      }
      await this.cluster.heal(this.cluster.nodes.filter((n) => n !== victim));
      // A victim still starting is healed once it answers (it started with the cut in its flags).
      const answerBy = Date.now() + RESTART_ANSWER_TIMEOUT_MS;
      while (!(await answering()) && Date.now() < answerBy) await sleep(100);
      // One that never answers stays cut; the catch-up check that follows reports it.
      await this.cluster.heal([victim]).catch(() => undefined);
      victimHealed = true;
    } finally {
      if (!victimHealed) await this.cluster.heal().catch(() => undefined);
    }
    return { cutSeen, restartInCut };
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

  /**
   * Caught up: every faulty node healthy, and every account's next seq on it at least what a healthy peer
   * showed when the fault ended. The time is until the last of them got there.
   */
  private async timeToCatchUp(
    faulty: readonly DevnetNode[],
  ): Promise<{ catchUpMs: number | undefined; behindAtHeal: number | undefined }> {
    const healed = Date.now();
    const target = await this.referenceSeqs(faulty);
    const deficits = await Promise.all(
      faulty.map((node) =>
        readAccounts(node, this.addresses).then(
          (seen) => seen.reduce((sum, a, i) => sum + Math.max(0, target[i]! - a.nextSeq), 0),
          () => undefined,
        ),
      ),
    );
    const answered = deficits.filter((d) => d !== undefined);
    const behindAtHeal = answered.length === 0 ? undefined : Math.max(...answered);
    const deadline = healed + this.options.recoverTimeoutMs;
    const waiting = new Set(faulty);
    while (Date.now() < deadline) {
      for (const node of [...waiting]) {
        if (!(await isHealthy(node))) continue;
        const seen = await readAccounts(node, this.addresses).catch(() => undefined);
        if (seen?.every((a, i) => a.nextSeq >= target[i]!)) waiting.delete(node);
      }
      if (waiting.size === 0) return { catchUpMs: Date.now() - healed, behindAtHeal };
      await sleep(100);
    }
    // What a stuck node said: its health answer and its deficit per account, for the post-mortem.
    for (const node of waiting) {
      const health = await fetch(`${node.api}/v1/health`, { signal: AbortSignal.timeout(2_000) }).then(
        async (r) => `${r.status} ${await r.text()}`,
        (e: Error) => e.message,
      );
      const seen = await readAccounts(node, this.addresses).catch(() => undefined);
      const short = seen?.flatMap((a, i) =>
        a.nextSeq < target[i]! ? [`${i}:${a.nextSeq}<${target[i]}`] : [],
      );
      this.log(`nemesis: ${node.name} not caught up: health ${health}; behind on ${short?.join(" ") ?? "?"}`);
    }
    return { catchUpMs: undefined, behindAtHeal };
  }

  private async referenceSeqs(faulty: readonly DevnetNode[]): Promise<number[]> {
    for (const peer of this.cluster.nodes) {
      if (faulty.includes(peer)) continue;
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

/** Whether `node` answers with no more connections than the other nodes of its side (of `sideSize`). */
async function isCut(node: DevnetNode, sideSize: number): Promise<boolean> {
  const connected = await connectedPeers(node);
  return connected !== undefined && connected <= sideSize - 1;
}
