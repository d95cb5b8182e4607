/**
 * How soon a shared account's committee pays again after a fault on one owner's node: a 4-node devnet hosting
 * a 3-owner account (k = 3 needs every owner), owner 0's node paused, cut off or killed for `DOWN_MS`, an intent
 * posted to owner 1's node during it, and the time from the fault's end until that intent is paid on every
 * node. A fresh devnet per fault.
 *
 *   node_modules/.bin/node bench/sharedRecovery.bench.ts          (≈ 1.5 min; one JSON line per fault)
 */

import type { DevnetNode } from "../src/devnet/devnet.ts";
import { Cluster, isHealthy, sleep } from "../test/chaos/cluster.ts";
import { startDevnet } from "../test/support/devnetProcess.ts";
import { outgoing } from "../test/support/sharedLedger.ts";
import { postProposalBody, signedProposal } from "../test/support/signedProposals.ts";

const DOWN_MS = Number(process.env.TALLY_BENCH_DOWN_MS ?? 3_000);
const PAID_WITHIN_MS = 60_000;
const FAULTS = ["pause", "partition", "kill"] as const;

async function paidEverywhere(nodes: readonly DevnetNode[], account: string, memo: string): Promise<boolean> {
  const paid = await Promise.all(
    nodes.map(async (node) =>
      (await outgoing(node.api, account).catch(() => [])).some(
        (t) => t.memo === memo && t.status === "applied",
      ),
    ),
  );
  return paid.every(Boolean);
}

for (const fault of FAULTS) {
  const devnet = await startDevnet(["--nodes", "4", "--wallets", "2", "--shared", "3", "--testing-faults"]);
  const cluster = new Cluster(devnet.file.nodes);
  try {
    const shared = devnet.file.shared![0]!;
    const payee = devnet.file.wallets[0]!.address;
    const [owner0, owner1] = shared.owners;
    const victim = devnet.file.nodes.find((n) => n.api === owner0!.node)!;
    let memos = 0;
    const pay = async (owner: typeof owner0) => {
      const memo = `recovery ${memos++}`;
      const body = await signedProposal(owner!, shared.address, payee, "1", { memo });
      const answer = await postProposalBody(owner!.node, shared.address, body);
      if (answer.status !== 202) throw new Error(`intent refused: ${answer.status} ${answer.body.code}`);
      return memo;
    };
    const waitPaid = async (memo: string, from: number) => {
      while (!(await paidEverywhere(devnet.file.nodes, shared.address, memo))) {
        if (Date.now() - from > PAID_WITHIN_MS) throw new Error(`${memo} not paid in ${PAID_WITHIN_MS} ms`);
        await sleep(50);
      }
      return Date.now() - from;
    };
    const warmStart = Date.now();
    const warmMs = await waitPaid(await pay(owner1), warmStart);

    if (fault === "pause") cluster.pause(victim);
    else if (fault === "partition") await cluster.partition([victim]);
    else cluster.kill(victim);
    const during = await pay(owner1);
    await sleep(DOWN_MS);
    if (fault === "pause") cluster.resume(victim);
    else if (fault === "partition") await cluster.heal();
    else await cluster.restart(victim);
    const ended = Date.now();
    while (!(await isHealthy(victim))) await sleep(50);
    const healthyMs = Date.now() - ended;
    const paidMs = await waitPaid(during, ended);
    console.log(
      JSON.stringify({
        fault,
        downMs: DOWN_MS,
        warmPaidMs: warmMs,
        victimHealthyMs: healthyMs,
        paidAfterFaultMs: paidMs,
      }),
    );
  } finally {
    cluster.stopRestarted();
    await devnet.stop();
  }
}
