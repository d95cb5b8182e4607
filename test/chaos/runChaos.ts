import { readFile } from "node:fs/promises";
import type { DevnetNode } from "../../src/devnet/devnet.ts";
import { childSeed, seededRandom } from "../../src/sim/prng.ts";
import { readKeystore } from "../../src/wallet/keystore.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import { startDevnet } from "../support/devnetProcess.ts";
import { type BankStats, BankWorkload } from "./bankWorkload.ts";
import { checkFinal, SupplySampler, waitForAgreement } from "./checker.ts";
import { Cluster, sleep } from "./cluster.ts";
import { FAULT_KINDS, type FaultKind, Nemesis, type NemesisEvent } from "./nemesis.ts";
import { checkShared, SharedPayer, type SharedStats, waitForSharedPayments } from "./sharedWorkload.ts";

/** One chaos run: a devnet, the bank workload, the nemesis, the sampler, then heal, quiet period and checks. */

export interface ChaosOptions {
  readonly seed: number;
  readonly nodes: number;
  readonly wallets: number;
  readonly broadcast: "contagion" | "bracha";
  readonly durationMs: number;
  readonly nemesisIntervalMs: number;
  readonly downMs: readonly [number, number];
  readonly doubleSpendRate: number;
  /** Funded spare accounts per equivocating wallet (see `BankOptions.spares`); 0 when absent. */
  readonly sparesPerEquivocator?: number;
  /** After the faults heal and the load stops: how long the nodes get to agree. */
  readonly quietTimeoutMs: number;
  /** The nemesis's first fault kinds, before its seeded choice (the short run forces a partition). */
  readonly firstFaults?: readonly FaultKind[];
  /** The kinds the nemesis's seeded choice picks from (default: every kind). */
  readonly faultKinds?: readonly FaultKind[];
  /** The nemesis's first victims, by node name, before its seeded choice (see `NemesisOptions.firstVictims`). */
  readonly firstVictims?: readonly string[];
  /**
   * A shared account with this many owners (`tally devnet up --shared K`, hosted on nodes 1..K), whose owners
   * pay the wallets through its committee while the faults go on (test/chaos/sharedWorkload.ts); 0 or absent
   * for none.
   */
  readonly shared?: number;
  /**
   * Wallets (the last ones) that pipeline: each turn a burst of 12 consecutive seqs, all sent before any
   * resolves, later seqs first (test/chaos/bankWorkload.ts); 0 or absent for none.
   */
  readonly pipeliners?: number;
  /**
   * Every this many pipelined bursts, one seq inside the burst spends more than its wallet holds: rejected
   * for the wallet, never echoed, and replaced (test/chaos/bankWorkload.ts); 0 or absent for never.
   */
  readonly overspendEvery?: number;
}

/** How long the shared account's acknowledged intents get to be paid everywhere once the faults are over. */
const SHARED_SETTLE_TIMEOUT_MS = 60_000;

/** The shared account's figures: its owners' intents, what became of them, and how long the last took. */
export interface SharedReport {
  readonly owners: number;
  readonly stats: SharedStats;
  /** Intents paid, each once. */
  readonly paid: number;
  /** The owners' proposals at the end, by status. */
  readonly proposals: Record<string, number>;
  /** From the end of the faults until every acknowledged intent was paid on every node. */
  readonly settledMs: number | undefined;
}

export interface ChaosReport {
  readonly options: ChaosOptions;
  readonly events: readonly NemesisEvent[];
  readonly bank: BankStats;
  readonly seenApplied: number;
  /** Acknowledged transfers the clients never saw resolved. */
  readonly unresolved: number;
  readonly supplySamples: { readonly taken: number; readonly consistent: number };
  readonly longestCatchUpMs: number | undefined;
  /** From the end of load and faults to every node agreeing. */
  readonly agreementMs: number | undefined;
  readonly resolvedSlots: number;
  readonly multiPageHistories: number;
  readonly shared?: SharedReport;
  readonly violations: readonly string[];
  /** The last lines of each node's log when there are violations. */
  readonly logTails: Readonly<Record<string, string>>;
}

/** `TALLY_CHAOS_*` environment overrides over `defaults`; the seed is random unless given. */
export function chaosOptionsFromEnv(defaults: Omit<ChaosOptions, "seed">): ChaosOptions {
  const env = process.env;
  const num = (name: string, fallback: number) => (env[name] === undefined ? fallback : Number(env[name]));
  return {
    ...defaults,
    seed: num("TALLY_CHAOS_SEED", Math.floor(Math.random() * 2 ** 32)),
    nodes: num("TALLY_CHAOS_NODES", defaults.nodes),
    wallets: num("TALLY_CHAOS_WALLETS", defaults.wallets),
    durationMs: num("TALLY_CHAOS_SECONDS", defaults.durationMs / 1000) * 1000,
    nemesisIntervalMs: num("TALLY_CHAOS_NEMESIS_MS", defaults.nemesisIntervalMs),
    sparesPerEquivocator: num("TALLY_CHAOS_SPARES", defaults.sparesPerEquivocator ?? 0),
    broadcast: env.TALLY_CHAOS_BROADCAST === "bracha" ? "bracha" : defaults.broadcast,
    shared: num("TALLY_CHAOS_SHARED", defaults.shared ?? 0),
    pipeliners: num("TALLY_CHAOS_PIPELINERS", defaults.pipeliners ?? 0),
    overspendEvery: num("TALLY_CHAOS_OVERSPEND_EVERY", defaults.overspendEvery ?? 0),
    ...firstFaultsFromEnv(env.TALLY_CHAOS_FIRST_FAULTS, defaults.firstFaults),
  };
}

/** `TALLY_CHAOS_FIRST_FAULTS=partitionKill,kill`: the nemesis's first kinds, in order; an unknown one throws. */
function firstFaultsFromEnv(
  value: string | undefined,
  fallback: readonly FaultKind[] | undefined,
): { firstFaults?: readonly FaultKind[] } {
  if (value === undefined) return fallback === undefined ? {} : { firstFaults: fallback };
  const kinds = value.split(",").filter((k) => k !== "");
  const unknown = kinds.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
  if (unknown.length > 0)
    throw new Error(
      `TALLY_CHAOS_FIRST_FAULTS: unknown ${unknown.join(", ")} (known: ${FAULT_KINDS.join(", ")})`,
    );
  return { firstFaults: kinds as FaultKind[] };
}

export async function runChaos(options: ChaosOptions, log: (line: string) => void): Promise<ChaosReport> {
  log(
    `chaos seed ${options.seed} (TALLY_CHAOS_SEED=${options.seed} reproduces the schedule): ${JSON.stringify(options)}`,
  );
  const root = seededRandom(options.seed);
  // Drawn in this order, so that adding a stream at the end leaves the others' schedules as they were.
  const [bankRandom, nemesisRandom, samplerRandom, sharedRandom] = [
    childSeed(root),
    childSeed(root),
    childSeed(root),
    childSeed(root),
  ].map(seededRandom);
  const equivocators = Math.max(1, Math.floor(options.wallets / 4));
  const spares = equivocators * (options.sparesPerEquivocator ?? 0);
  const devnet = await startDevnet([
    "--nodes",
    String(options.nodes),
    "--wallets",
    String(options.wallets + spares),
    "--broadcast",
    options.broadcast,
    // The nemesis cuts the network through each node's testing-only partition control.
    "--testing-faults",
    ...((options.shared ?? 0) > 0 ? ["--shared", String(options.shared)] : []),
  ]);
  const cluster = new Cluster(devnet.file.nodes);
  let keepDir = false;
  try {
    const keystores = await Promise.all(
      devnet.file.wallets.map((w) => readKeystore(w.keystore, { passphraseFile: w.passphraseFile })),
    );
    const walletAddresses = keystores.map((k) => k.address);
    const shared = devnet.file.shared?.[0];
    // Every check covers the shared account too: its balance, its seqs, its slots.
    const addresses = shared === undefined ? walletAddresses : [...walletAddresses, shared.address];
    const ownerHosts = devnet.file.nodes.filter((n) => shared?.owners.some((o) => o.node === n.api));
    const genesis = JSON.parse(await readFile(devnet.file.genesis, "utf8")) as {
      balances: { amount: string }[];
    };
    const supply = genesis.balances.reduce((s, b) => s + BigInt(b.amount), 0n);

    // The spares hold genesis money too: every supply and agreement check covers them (`addresses`).
    const bank = new BankWorkload(cluster.nodes, keystores.slice(0, options.wallets), {
      spares: keystores.slice(options.wallets),
      random: bankRandom!,
      doubleSpendRate: options.doubleSpendRate,
      equivocators,
      resolveTimeoutMs: 5_000,
      doubleSpendTimeoutMs: 15_000,
      pipeliners: options.pipeliners ?? 0,
      overspendEvery: options.overspendEvery ?? 0,
      ...(shared === undefined ? {} : { otherPayees: [shared.address] }),
    });
    const payer =
      shared === undefined
        ? undefined
        : new SharedPayer(shared, { random: sharedRandom!, intervalMs: 500, payees: walletAddresses });
    const nemesis = new Nemesis(
      cluster,
      addresses,
      {
        random: nemesisRandom!,
        intervalMs: options.nemesisIntervalMs,
        downMs: options.downMs,
        recoverTimeoutMs: 60_000,
        ...(options.firstFaults !== undefined ? { firstKinds: options.firstFaults } : {}),
        ...(options.faultKinds !== undefined ? { kinds: options.faultKinds } : {}),
        keepDisks: ownerHosts.map((n) => n.name),
        ...(options.firstVictims !== undefined ? { firstVictims: options.firstVictims } : {}),
      },
      log,
    );
    const sampler = new SupplySampler(cluster.nodes, addresses, supply, samplerRandom!);
    bank.start();
    payer?.start();
    nemesis.start();
    sampler.start(250);
    const progress = setInterval(
      () =>
        log(`bank: ${JSON.stringify(bank.stats)}; supply samples ${sampler.consistent}/${sampler.samples}`),
      10_000,
    );
    await new Promise((r) => setTimeout(r, options.durationMs));
    await nemesis.stop();
    await bank.stop();
    await payer?.stop();
    clearInterval(progress);
    await sampler.stop();
    const settle = payer === undefined ? undefined : await settleShared(cluster.nodes, payer, log);
    const agreementMs = await waitForAgreement(cluster.nodes, addresses, options.quietTimeoutMs);
    for (const node of cluster.nodes) await sampler.sample(node);
    const final = await checkFinal(cluster.nodes, addresses, supply, bank.seenApplied, bank.doubleSpends);
    const violations = [...sampler.violations, ...final.violations];
    violations.push(...(await neverResolved(cluster.nodes, bank.unresolved)));
    violations.push(...(await neverApplied(cluster.nodes, bank.overspendIds)));
    let sharedReport: SharedReport | undefined;
    if (payer !== undefined && settle !== undefined) {
      const check = await checkShared(cluster.nodes, payer);
      violations.push(...settle.violations, ...check.violations);
      sharedReport = {
        owners: payer.shared.owners.length,
        stats: payer.stats,
        paid: check.paid,
        proposals: check.proposals,
        settledMs: settle.settledMs,
      };
    }
    if (agreementMs === undefined)
      violations.push(`nodes did not agree within ${options.quietTimeoutMs} ms of the heal`);
    const stuck = nemesis.events.filter((e) => e.catchUpMs === undefined);
    for (const e of stuck)
      violations.push(`${e.nodes.join("+")} did not catch up within 60 s after ${e.kind} at +${e.at} ms`);
    const catchUps = nemesis.events.flatMap((e) => (e.catchUpMs === undefined ? [] : [e.catchUpMs]));
    const logTails: Record<string, string> = {};
    if (violations.length > 0) {
      // The nodes' databases are the evidence (ledgers, histories, commitment logs): kept for a post-mortem.
      keepDir = true;
      log(`violations: the devnet's directory is kept for a post-mortem: ${devnet.dir}`);
      for (const node of cluster.nodes) {
        const text = await readFile(node.log, "utf8").catch(() => "");
        logTails[node.name] = text.trim().split("\n").slice(-40).join("\n");
      }
    }
    return {
      options,
      events: nemesis.events,
      bank: bank.stats,
      seenApplied: bank.seenApplied.length,
      unresolved: bank.unresolved.size,
      supplySamples: { taken: sampler.samples, consistent: sampler.consistent },
      longestCatchUpMs: catchUps.length === 0 ? undefined : Math.max(...catchUps),
      agreementMs,
      resolvedSlots: final.resolvedSlots,
      multiPageHistories: final.multiPageHistories,
      ...(sharedReport === undefined ? {} : { shared: sharedReport }),
      violations,
      logTails,
    };
  } finally {
    cluster.stopRestarted();
    await devnet.stop({ keepDir });
  }
}

/**
 * Once the faults are over: one more intent (through the first owner, again if it got no clear answer) must be
 * taken, and every acknowledged intent paid on every node within SHARED_SETTLE_TIMEOUT_MS.
 */
async function settleShared(
  nodes: readonly DevnetNode[],
  payer: SharedPayer,
  log: (line: string) => void,
): Promise<{ settledMs: number | undefined; violations: string[] }> {
  const violations: string[] = [];
  let last = await payer.propose(0);
  for (let tries = 1; last.outcome !== "acknowledged" && tries < 5; tries++) {
    await sleep(1_000);
    last = await payer.propose(0);
  }
  if (last.outcome !== "acknowledged")
    violations.push(
      `the first owner's node did not take an intent after the faults (${last.refusal ?? last.outcome})`,
    );
  const settledMs = await waitForSharedPayments(nodes, payer, SHARED_SETTLE_TIMEOUT_MS);
  log(
    `shared: ${JSON.stringify(payer.stats)}; every acknowledged intent paid everywhere after ${settledMs ?? "-"} ms`,
  );
  if (settledMs === undefined)
    violations.push(
      `acknowledged intents not all paid within ${SHARED_SETTLE_TIMEOUT_MS} ms of the faults' end`,
    );
  return { settledMs, violations };
}

/** An honest client's acknowledged transfer that no node resolved, even after the quiet period, was lost. */
async function neverResolved(
  nodes: readonly DevnetNode[],
  unresolved: ReadonlyMap<string, { source: string; seq: number }>,
): Promise<string[]> {
  const lost: string[] = [];
  for (const [id, { source, seq }] of unresolved) {
    const statuses = await Promise.all(
      nodes.map((n) =>
        new NodeClient(n.api, { timeoutMs: 5_000 }).transfer(id).then(
          (v) => v.status as string,
          () => "unknown",
        ),
      ),
    );
    if (!statuses.some((s) => s === "applied" || s === "rejected")) {
      lost.push(`${id} (${source} seq ${seq}) was acknowledged but is ${statuses.join("/")} on the nodes`);
    }
  }
  return lost;
}

/** A transfer that spends more than its account holds, applied on some node: the ledger let money appear. */
async function neverApplied(nodes: readonly DevnetNode[], ids: ReadonlySet<string>): Promise<string[]> {
  const applied: string[] = [];
  for (const id of ids) {
    for (const n of nodes) {
      const view = await new NodeClient(n.api, { timeoutMs: 5_000 }).transfer(id).catch(() => undefined);
      if (view?.status === "applied" || view?.status === "delivered")
        applied.push(`overspend ${id} is ${view.status} on ${n.name}`);
    }
  }
  return applied;
}

/** The figures in one line, for the test's diagnostics and docs/reliability.md. */
export function summarize(r: ChaosReport): string {
  const kinds: Record<string, number> = {};
  for (const e of r.events) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
  const partitions = r.events.filter((e) => e.kind === "partition");
  const healed = partitions.filter((e) => e.cutSeen === true && e.catchUpMs !== undefined);
  return [
    `seed ${r.options.seed}, ${r.options.nodes} nodes (${r.options.broadcast}), ${r.options.wallets} wallets, ${r.options.durationMs / 1000} s`,
    `${r.events.length} nemesis events ${JSON.stringify(kinds)}`,
    `${partitions.length} partitions (${healed.length} seen cut, healed and caught up; minorities ${partitions.map((e) => `${e.nodes.join("+")} ${e.behindAtHeal ?? "?"} seqs behind at heal`).join(", ") || "-"})`,
    `${r.bank.applied} transfers seen applied (${r.bank.submitted} submissions, ${r.bank.rejected} rejected, ${r.bank.retries} retries)`,
    ...(r.bank.bursts === 0 ? [] : [summarizeBursts(r.bank)]),
    `${r.bank.doubleSpendAttempts} double-spend attempts (${r.bank.doubleSpendsResolved} resolved, ${r.bank.accountsStuck} accounts stuck, ${r.bank.walletsRetired} wallets retired)`,
    `${r.unresolved} acknowledged but unresolved by their clients`,
    `supply samples ${r.supplySamples.consistent} consistent of ${r.supplySamples.taken}`,
    `longest catch-up ${r.longestCatchUpMs ?? "-"} ms, agreement after heal ${r.agreementMs ?? "-"} ms`,
    `${r.resolvedSlots} (account, seq) slots resolved network-wide (every history page read; ${r.multiPageHistories} histories over one page)`,
    ...(r.shared === undefined ? [] : [summarizeShared(r.shared)]),
    `${r.violations.length} violations`,
  ].join("; ");
}

function summarizeBursts(b: BankStats): string {
  const refusals = Object.entries(b.refusals).map(([code, n]) => `${n} ${code}`);
  const overspends =
    b.overspends === 0
      ? ""
      : `; ${b.overspends} overspends: ${b.overspendsRejected} rejected for the wallet, ${b.overspendsRefused} refused outright, ${b.overspendsReplaced} replaced`;
  return `${b.bursts} pipelined bursts (${b.burstTransfers} transfers, ${b.aheadAcknowledged} acknowledged past an unsent next seq, so held; refusals: ${refusals.join(", ") || "none"}${overspends})`;
}

function summarizeShared(s: SharedReport): string {
  const refusals = Object.entries(s.stats.refusals).map(([code, n]) => `${n} ${code}`);
  return [
    `shared account of ${s.owners} owners: ${s.stats.intents} intents`,
    `(${s.stats.acknowledged} acknowledged, ${s.stats.unanswered} unanswered, ${s.stats.refused} refused${refusals.length > 0 ? `: ${refusals.join(", ")}` : ""})`,
    `${s.paid} paid, each once; proposals ${JSON.stringify(s.proposals)}`,
    `all paid everywhere ${s.settledMs ?? "-"} ms after the faults`,
  ].join(" ");
}
