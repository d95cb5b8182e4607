/**
 * Applied transfers per second on a 4-node devnet, with no fault and under each fault we defend against — the
 * shape of the Aardvark paper's table. Every scenario is a fresh devnet; honest wallets pay each other through
 * the correct nodes for `SECONDS` seconds (one transfer in flight per wallet, as a wallet does), and the figure
 * is what the clients saw applied per second.
 *
 *   node_modules/.bin/node bench/faults.bench.ts            (≈ 4 min; prints a markdown table)
 *   TALLY_BENCH_SECONDS=30 node_modules/.bin/node bench/faults.bench.ts
 */

import { transferToJson } from "../src/core/transferJson.ts";
import type { DevnetNode } from "../src/devnet/devnet.ts";
import { seededRandom } from "../src/sim/prng.ts";
import { readKeystore } from "../src/wallet/keystore.ts";
import { BankWorkload } from "../test/chaos/bankWorkload.ts";
import { Cluster, sleep } from "../test/chaos/cluster.ts";
import { startDevnet } from "../test/support/devnetProcess.ts";
import { makeTransfer, testKey } from "../test/support/fixtures.ts";

const SECONDS = Number(process.env.TALLY_BENCH_SECONDS ?? 20);
const WALLETS = 8;

interface Scenario {
  readonly name: string;
  readonly devnetArgs?: readonly string[];
  /** Wallets that equivocate on every turn (two transfers for one seq, to two nodes). */
  readonly equivocators?: number;
  /** Invalid transfers per second, as a multiple of the no-fault applied rate. */
  readonly floodFactor?: number;
  /** Kill node 3 every this many ms and restart it a second later. */
  readonly crashLoopMs?: number;
}

const SCENARIOS: readonly Scenario[] = [
  { name: "no fault" },
  { name: "an equivocating client (1 of 8 wallets double-spends on every turn)", equivocators: 1 },
  { name: "a client flooding invalid transfers at 10× the honest rate", floodFactor: 10 },
  { name: "one byzantine node: silent", devnetArgs: ["--byzantine", "1", "--strategy", "silent"] },
  { name: "one byzantine node: forge", devnetArgs: ["--byzantine", "1", "--strategy", "forge"] },
  { name: "one byzantine node: equivocate", devnetArgs: ["--byzantine", "1", "--strategy", "equivocate"] },
  { name: "a crash-looping node (kill -9 every 3 s, back 1 s later)", crashLoopMs: 3_000 },
];

/** Transfers with a broken signature (one byte flipped), posted round-robin at `perSecond`. */
async function floodInvalid(nodes: readonly DevnetNode[], network: string, perSecond: number, until: number) {
  let sent = 0;
  const started = Date.now();
  const workers = Array.from({ length: 8 }, async (_, w) => {
    for (let i = w; Date.now() < until; i += 8) {
      const t = makeTransfer(testKey(3_000_000 + i), 1, [{ to: testKey(0).address, amount: 1n }], [], {
        network,
      });
      const json = transferToJson(t.transfer);
      const sig = json.signature!;
      json.signature = (sig[0] === "0" ? "1" : "0") + sig.slice(1);
      await fetch(`${nodes[i % nodes.length]!.api}/v1/transfers`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(json),
      }).catch(() => {});
      sent++;
      const due = started + (sent / perSecond) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
    }
  });
  await Promise.all(workers);
  return sent;
}

async function run(scenario: Scenario, honestRate: number): Promise<{ rate: number; note: string }> {
  const devnet = await startDevnet([
    "--nodes",
    "4",
    "--wallets",
    String(WALLETS),
    // Every scenario on the same (static) membership, so the rows compare faults, not membership modes: the
    // byzantine modes need a member list, and on 4 nodes a sampled design's thresholds need all three other
    // nodes, so a crash-looping node would stall an open devnet until its record expires.
    "--membership",
    "static",
    ...(scenario.devnetArgs ?? []),
  ]);
  const cluster = new Cluster(devnet.file.nodes);
  try {
    const nodes = devnet.file.nodes;
    // Node 3 is the byzantine or crash-looping one: honest wallets use the correct nodes.
    const faulty = scenario.devnetArgs !== undefined || scenario.crashLoopMs !== undefined;
    const entry = faulty ? nodes.slice(0, 3) : nodes;
    const keystores = await Promise.all(
      devnet.file.wallets.map((w) => readKeystore(w.keystore, { passphraseFile: w.passphraseFile })),
    );
    const bank = new BankWorkload(entry, keystores, {
      random: seededRandom(1),
      doubleSpendRate: scenario.equivocators !== undefined ? 1 : 0,
      equivocators: scenario.equivocators ?? 0,
      resolveTimeoutMs: 10_000,
      doubleSpendTimeoutMs: 5_000,
    });
    const started = Date.now();
    const until = started + SECONDS * 1000;
    bank.start();
    const side: Promise<string>[] = [];
    if (scenario.floodFactor !== undefined) {
      const perSecond = Math.max(1, Math.round(honestRate * scenario.floodFactor));
      side.push(
        floodInvalid(nodes, devnet.file.network, perSecond, until).then(
          (n) => `${n} invalid sent (${perSecond}/s)`,
        ),
      );
    }
    if (scenario.crashLoopMs !== undefined) {
      side.push(
        (async () => {
          let crashes = 0;
          while (Date.now() + scenario.crashLoopMs! < until) {
            await sleep(scenario.crashLoopMs! - 1_000);
            cluster.kill(nodes[3]!);
            crashes++;
            await sleep(1_000);
            await cluster.restart(nodes[3]!);
          }
          return `${crashes} crashes`;
        })(),
      );
    }
    await sleep(until - Date.now());
    await bank.stop();
    const notes = await Promise.all(side);
    const elapsed = (Date.now() - started) / 1000;
    const equivocations =
      scenario.equivocators !== undefined ? [`${bank.stats.doubleSpendAttempts} double-spend attempts`] : [];
    return { rate: bank.stats.applied / elapsed, note: [...notes, ...equivocations].join("; ") };
  } finally {
    cluster.stopRestarted();
    await devnet.stop();
  }
}

const rows: string[] = [];
let baseline = 0;
for (const scenario of SCENARIOS) {
  const { rate, note } = await run(scenario, baseline);
  if (baseline === 0) baseline = rate;
  const ratio = rate / baseline;
  rows.push(`| ${scenario.name} | ${rate.toFixed(1)} | ${ratio.toFixed(2)} | ${note} |`);
  process.stderr.write(`${rows.at(-1)}\n`);
}
console.log(`4-node contagion devnet, ${WALLETS} wallets, ${SECONDS} s per scenario\n`);
console.log("| scenario | applied transfers/s | vs no fault | notes |\n|---|---|---|---|");
for (const row of rows) console.log(row);
process.exit(0);
