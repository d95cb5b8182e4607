/**
 * How fast a shared account's committee pays a backlog: a 4-node devnet hosting a 3-owner account
 * (`tally devnet up --shared 3`), each owner posting `INTENTS` / 3 signed intents to its node as fast as the
 * node answers, then the time until every one is paid on every node. The chaos suite's shared runs drain
 * what piled up during faults this way; this measures the drain without faults.
 *
 *   node_modules/.bin/node bench/sharedBacklog.bench.ts           (≈ 1 min)
 *   TALLY_BENCH_INTENTS=150 node_modules/.bin/node bench/sharedBacklog.bench.ts
 */

import type { DevnetNode } from "../src/devnet/devnet.ts";
import { sleep } from "../test/chaos/cluster.ts";
import { startDevnet } from "../test/support/devnetProcess.ts";
import { outgoing } from "../test/support/sharedLedger.ts";
import { type DevnetOwner, postProposalBody, signedProposal } from "../test/support/signedProposals.ts";

const INTENTS = Number(process.env.TALLY_BENCH_INTENTS ?? 90);
const PAID_WITHIN_MS = 180_000;

async function paidOn(node: DevnetNode, address: string, memos: ReadonlySet<string>): Promise<number> {
  let paid = 0;
  for (const t of await outgoing(node.api, address))
    if (t.status === "applied" && t.memo !== undefined && memos.has(t.memo)) paid++;
  return paid;
}

const devnet = await startDevnet(["--nodes", "4", "--wallets", "4", "--shared", "3"]);
try {
  const shared = devnet.file.shared![0]!;
  const owners: readonly DevnetOwner[] = shared.owners;
  const payees = devnet.file.wallets.map((w) => w.address);
  const memos = new Set<string>();
  const bodies = await Promise.all(
    Array.from({ length: INTENTS }, (_, i) => {
      const memo = `backlog ${i}`;
      memos.add(memo);
      return signedProposal(owners[i % owners.length]!, shared.address, payees[i % payees.length]!, "1", {
        memo,
      });
    }),
  );
  const started = performance.now();
  const refused: string[] = [];
  await Promise.all(
    owners.map(async (owner, o) => {
      for (let i = o; i < INTENTS; i += owners.length) {
        const answer = await postProposalBody(owner.node, shared.address, bodies[i]);
        if (answer.status !== 202) refused.push(`${answer.status} ${answer.body.code}`);
      }
    }),
  );
  const postedMs = performance.now() - started;
  const expected = INTENTS - refused.length;
  let lastReport = 0;
  for (;;) {
    const paid = await Promise.all(devnet.file.nodes.map((n) => paidOn(n, shared.address, memos)));
    const elapsed = performance.now() - started;
    if (paid.every((p) => p >= expected)) break;
    if (elapsed > PAID_WITHIN_MS)
      throw new Error(`paid ${paid.join("/")} of ${expected} after ${elapsed} ms`);
    if (elapsed - lastReport > 5_000) {
      lastReport = elapsed;
      console.error(`${(elapsed / 1000).toFixed(0)} s: paid ${paid.join("/")} of ${expected}`);
    }
    await sleep(250);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({
      intents: INTENTS,
      refused: refused.length,
      postedSec: Number((postedMs / 1000).toFixed(2)),
      paidEverywhereSec: Number(seconds.toFixed(2)),
      paidPerSec: Number((expected / seconds).toFixed(1)),
    }),
  );
} finally {
  await devnet.stop();
}
