import type { RandomSource } from "../../src/core/random.ts";
import type { DevnetNode } from "../../src/devnet/devnet.ts";
import { randomIndex } from "../../src/sampling/randomDraw.ts";
import type { AccountJson } from "../../src/wallet/nodeClient.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import type { SeenApplied } from "./bankWorkload.ts";
import { mapLimit, readAccounts, sleep } from "./cluster.ts";

/**
 * The checker. During the run it samples every node's balances; at the end (faults healed, a quiet period for
 * catch-up) it compares all nodes. Every finding is a line in `violations`.
 *
 * Supply during the run: one read of every account is many GETs, not a snapshot, so a transfer applied between
 * two of them can tear it. A sample is therefore two complete reads back to back; if both return the same
 * values, no transfer between tracked accounts resolved across the two (each would have changed its source's
 * next seq and a recipient's balance inside one of the read windows), so the first read equals the node's state
 * at one instant and its sum must be the genesis supply. Torn samples are counted, never judged. Negative
 * balances are checked in every read.
 */

export class SupplySampler {
  readonly violations: string[] = [];
  samples = 0;
  consistent = 0;
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly nodes: readonly DevnetNode[];
  private readonly addresses: readonly string[];
  private readonly supply: bigint;
  private readonly random: RandomSource;

  constructor(
    nodes: readonly DevnetNode[],
    addresses: readonly string[],
    supply: bigint,
    random: RandomSource,
  ) {
    this.nodes = nodes;
    this.addresses = addresses;
    this.supply = supply;
    this.random = random;
  }

  start(periodMs: number): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.sample(this.nodes[randomIndex(this.random, this.nodes.length)]!);
        await sleep(periodMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** One double read of `node`; a node that cannot answer (down, paused) is skipped. */
  async sample(node: DevnetNode): Promise<void> {
    const first = await readAccounts(node, this.addresses).catch(() => undefined);
    const second = first && (await readAccounts(node, this.addresses).catch(() => undefined));
    if (first === undefined || second === undefined) return;
    this.samples++;
    for (const read of [first, second]) this.violations.push(...negativeBalances(node, read));
    if (fingerprint(first) !== fingerprint(second)) return;
    this.consistent++;
    const sum = totalOf(first);
    if (sum !== this.supply) {
      this.violations.push(`${node.name}: consistent read sums to ${sum}, genesis supply is ${this.supply}`);
    }
  }
}

/**
 * Page size of the final history walk: below the API's 1,000 so that even a short run's histories (a few
 * hundred entries per account) span several pages and the walk itself is exercised.
 */
const HISTORY_PAGE = 100;

export interface FinalCheck {
  readonly violations: string[];
  /** Distinct (source, seq) pairs seen resolved across all nodes' account histories. */
  readonly resolvedSlots: number;
  /** (node, account) histories longer than one page (HISTORY_PAGE): the check walked their `next` cursors. */
  readonly multiPageHistories: number;
}

/** The end-of-run checks; every node must answer. */
export async function checkFinal(
  nodes: readonly DevnetNode[],
  addresses: readonly string[],
  supply: bigint,
  seenApplied: readonly SeenApplied[],
  doubleSpends: readonly { source: string; seq: number; ids: [string, string] }[],
): Promise<FinalCheck> {
  const violations: string[] = [];
  const reads = await Promise.all(nodes.map((n) => readAccounts(n, addresses)));
  const reference = fingerprint(reads[0]!);
  for (const [i, read] of reads.entries()) {
    const node = nodes[i]!;
    if (fingerprint(read) !== reference) {
      const diff = read.filter(
        (a, j) => a.balance !== reads[0]![j]!.balance || a.nextSeq !== reads[0]![j]!.nextSeq,
      );
      violations.push(
        `${node.name} differs from ${nodes[0]!.name} on ${diff.length} accounts, e.g. ${diff
          .slice(0, 3)
          .map((a) => {
            const r = reads[0]!.find((x) => x.address === a.address)!;
            return `${a.address} ${a.balance}/${a.nextSeq} vs ${r.balance}/${r.nextSeq}`;
          })
          .join("; ")}`,
      );
    }
    violations.push(...negativeBalances(node, read));
    const sum = totalOf(read);
    if (sum !== supply) violations.push(`${node.name}: final supply ${sum}, genesis supply is ${supply}`);
  }

  // Every transfer a client saw applied is applied on every node.
  const pairs = nodes.flatMap((node) => seenApplied.map((seen) => ({ node, seen })));
  const statuses = await mapLimit(pairs, 16, async ({ node, seen }) =>
    new NodeClient(node.api, { timeoutMs: 5_000 }).transfer(seen.id).then(
      (v) => v.status as string,
      () => "unknown",
    ),
  );
  for (const [k, status] of statuses.entries()) {
    const { node, seen } = pairs[k]!;
    if (status !== "applied") {
      violations.push(
        `${seen.id} (${seen.source} seq ${seen.seq}) seen applied via ${seen.via} is ${status} on ${node.name}`,
      );
    }
  }

  // At most one transfer per (account, seq) in the whole network: the union of every node's histories.
  const slots = new Map<string, Set<string>>();
  let multiPageHistories = 0;
  for (const node of nodes) {
    const client = new NodeClient(node.api, { timeoutMs: 10_000 });
    // Every page: the slot check covers each account's whole history, not just its newest 1,000 entries.
    const histories = await mapLimit(addresses, 8, (a) => client.allAccountTransfers(a, HISTORY_PAGE));
    for (const h of histories) {
      if (h.length > HISTORY_PAGE) multiPageHistories++;
      for (const t of h) {
        if (t.direction !== "out" || t.status === "pending") continue;
        const key = `${t.transfer.source}#${t.transfer.seq}`;
        const ids = slots.get(key) ?? new Set<string>();
        ids.add(t.id);
        slots.set(key, ids);
      }
    }
  }
  for (const [key, ids] of slots) {
    if (ids.size > 1) violations.push(`two transfers resolved for ${key}: ${[...ids].join(", ")}`);
  }
  // And no two clients saw two different transfers applied for one slot.
  const seenBySlot = new Map<string, string>();
  for (const s of seenApplied) {
    const key = `${s.source}#${s.seq}`;
    const other = seenBySlot.get(key);
    if (other !== undefined && other !== s.id)
      violations.push(`clients saw both ${other} and ${s.id} applied for ${key}`);
    seenBySlot.set(key, s.id);
  }
  for (const d of doubleSpends) {
    const key = `${d.source}#${d.seq}`;
    const ids = slots.get(key);
    if (ids !== undefined && d.ids.every((id) => ids.has(id)))
      violations.push(`double spend ${key}: both halves resolved`);
  }
  return { violations, resolvedSlots: slots.size, multiPageHistories };
}

/** Polls until every node answers the same balances and next seqs; returns how long that took, or undefined. */
export async function waitForAgreement(
  nodes: readonly DevnetNode[],
  addresses: readonly string[],
  timeoutMs: number,
): Promise<number | undefined> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const reads = await Promise.all(nodes.map((n) => readAccounts(n, addresses).catch(() => undefined)));
    if (reads.every((r) => r !== undefined && fingerprint(r) === fingerprint(reads[0]!)))
      return Date.now() - start;
    await sleep(250);
  }
  return undefined;
}

function fingerprint(read: readonly AccountJson[]): string {
  return read.map((a) => `${a.balance}/${a.nextSeq}`).join(",");
}

function totalOf(read: readonly AccountJson[]): bigint {
  return read.reduce((sum, a) => sum + BigInt(a.balance), 0n);
}

function negativeBalances(node: DevnetNode, read: readonly AccountJson[]): string[] {
  return read
    .filter((a) => a.balance.startsWith("-"))
    .map((a) => `${node.name}: negative balance ${a.balance} for ${a.address}`);
}
