import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TransferView } from "../../src/api/nodeApi.ts";
import { transferToJson } from "../../src/core/transferJson.ts";
import type { DevnetNode } from "../../src/devnet/devnet.ts";
import { readKeystore } from "../../src/wallet/keystore.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import { prepareNextTransfer } from "../../src/wallet/prepareTransfer.ts";
import { Cluster, isHealthy, knownMembers, sleep } from "../chaos/cluster.ts";
import { startDevnet } from "../support/devnetProcess.ts";

/**
 * A double spend across a cut that outlasts the record TTL, on a 7-node open devnet (real processes, records
 * valid 10 s): three nodes are cut off from four until each side's records of the other have expired, then a
 * wallet signs two transfers for one seq and hands one to each side. The four are a majority of the peers
 * every node of theirs samples, so they replace the three in their samples and apply their half; the three
 * are not, so they keep their samples and wait. After the heal every node applies the majority's half and
 * nobody the other. Until session 49 the three redrew their samples from each other once the records
 * expired, applied their own half, and the network forked.
 */

const MINORITY = 3;
/** Longest wait for every record across the cut to expire on both sides (TTL 10 s, refreshes every 2 s). */
const EXPIRY_WITHIN_MS = 30_000;
/** How long the majority may take to apply its half, and how long the minority is then watched. */
const APPLY_WITHIN_MS = 20_000;
const WATCH_MINORITY_MS = 4_000;

async function statusOn(node: DevnetNode, id: string): Promise<TransferView["status"] | "unknown"> {
  const view = await new NodeClient(node.api, { timeoutMs: 2_000 }).transfer(id).catch(() => undefined);
  return view?.status ?? "unknown";
}

/** `tally_broadcast_departed_share` of `node` now. */
async function departedShare(node: DevnetNode): Promise<number> {
  const text = await fetch(`${node.api}/metrics`, { signal: AbortSignal.timeout(2_000) }).then((r) =>
    r.text(),
  );
  const value = /^tally_broadcast_departed_share (\S+)$/m.exec(text)?.[1];
  assert.ok(value !== undefined, `${node.name} exports no tally_broadcast_departed_share`);
  return Number(value);
}

async function until(what: string, withinMs: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    assert.ok(Date.now() - start < withinMs, `${what}: not within ${withinMs} ms`);
    await sleep(200);
  }
  return Date.now() - start;
}

describe("a double spend across a partition longer than the record TTL (7 open nodes)", {
  timeout: 240_000,
}, () => {
  it("the 3-node minority waits, the 4-node majority applies its half, and after the heal only that half exists", async (t) => {
    const devnet = await startDevnet(["--nodes", "7", "--wallets", "2", "--testing-faults"]);
    const cluster = new Cluster(devnet.file.nodes);
    try {
      const nodes = devnet.file.nodes;
      const [minority, majority] = [nodes.slice(0, MINORITY), nodes.slice(MINORITY)];
      await until("every node healthy", 60_000, async () =>
        (await Promise.all(nodes.map(isHealthy))).every(Boolean),
      );
      await cluster.partition(minority);
      const forgets = async (node: DevnetNode, others: readonly DevnetNode[]) => {
        const members = await knownMembers(node);
        return members !== undefined && others.every((o) => !members.includes(o.peerId));
      };
      const expiredMs = await until("records expired across the cut", EXPIRY_WITHIN_MS, async () => {
        const views = await Promise.all([
          ...minority.map((n) => forgets(n, majority)),
          ...majority.map((n) => forgets(n, minority)),
        ]);
        return views.every(Boolean);
      });
      t.diagnostic(`every record across the cut expired ${expiredMs} ms after it`);

      const [payer, payee] = await Promise.all(
        devnet.file.wallets.map((w) => readKeystore(w.keystore, { passphraseFile: w.passphraseFile })),
      );
      const viaMajority = new NodeClient(majority[0]!.api);
      const viaMinority = new NodeClient(minority[0]!.api);
      const mine = await prepareNextTransfer(viaMajority, payer!, {
        outputs: [{ to: payee!.address, amount: 11n }],
      });
      const theirs = await prepareNextTransfer(viaMajority, payer!, {
        outputs: [{ to: payee!.address, amount: 7n }],
        explicitSeq: mine.signed.transfer.seq,
      });
      const [majorityHalf, minorityHalf] = [mine.signed.id, theirs.signed.id];
      const [toMinority, toMajority] = await Promise.all([
        viaMinority.submit(transferToJson(theirs.signed.transfer)),
        viaMajority.submit(transferToJson(mine.signed.transfer)),
      ]);
      // The race is set up: each side holds its own half.
      assert.equal(toMinority.id, minorityHalf);
      assert.equal(toMajority.id, majorityHalf);

      const appliedMs = await until("the majority applies its half", APPLY_WITHIN_MS, async () =>
        (await Promise.all(majority.map((n) => statusOn(n, majorityHalf)))).every((s) => s === "applied"),
      );
      t.diagnostic(`the 4 applied their half ${appliedMs} ms after it was submitted`);
      const watchUntil = Date.now() + WATCH_MINORITY_MS;
      while (Date.now() < watchUntil) {
        for (const node of minority) {
          const status = await statusOn(node, minorityHalf);
          assert.notEqual(status, "applied", `${node.name} applied the minority's half while cut off`);
          assert.notEqual(await statusOn(node, majorityHalf), "applied", `${node.name} heard across the cut`);
        }
        await sleep(250);
      }
      assert.notEqual(await statusOn(minority[0]!, minorityHalf), "unknown", "the minority holds its half");
      // What their operators see: the minority holds its samples, the majority replaced what it lost.
      const shares = await Promise.all(nodes.map(departedShare));
      t.diagnostic(`departed share per node while cut: ${shares.map((s) => s.toFixed(2)).join(" ")}`);
      for (const [i, share] of shares.entries()) {
        if (i < MINORITY) assert.ok(share > 0.5, `${nodes[i]!.name} (minority): departed share ${share}`);
        else assert.ok(share <= 0.125, `${nodes[i]!.name} (majority): departed share ${share}`);
      }

      await cluster.heal();
      const healedMs = await until("every node applies the majority's half", 60_000, async () =>
        (await Promise.all(nodes.map((n) => statusOn(n, majorityHalf)))).every((s) => s === "applied"),
      );
      t.diagnostic(`after the heal, all 7 applied the majority's half within ${healedMs} ms`);
      for (const node of nodes) {
        assert.notEqual(await statusOn(node, minorityHalf), "applied", `${node.name} applied both halves`);
      }
    } finally {
      await devnet.stop();
    }
  });
});
