import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { transferToJson } from "../../src/core/transferJson.ts";
import type { DevnetNode } from "../../src/devnet/devnet.ts";
import { readKeystore } from "../../src/wallet/keystore.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import { prepareNextTransfer } from "../../src/wallet/prepareTransfer.ts";
import { Cluster, isHealthy, sleep } from "../chaos/cluster.ts";
import { startDevnet } from "../support/devnetProcess.ts";
import { isAlive } from "../support/nodeProbes.ts";

/**
 * A node cut off from its peers for longer than the broadcast's stall timeout and the record TTL: the
 * broadcast evicts its own submission's instance, payload and all, while the node's client has been told
 * "pending", and the transport drops what it had queued for peers whose records expired. After the cut heals
 * the node must introduce the transfer again. Until session 53 only a restart did: its commitments were
 * re-sent, but no peer could echo a payload it never got, and the transfer stayed pending on node-0 and
 * unknown elsewhere (checked: 45 s after the heal). Real processes, an open 4-node contagion devnet (records
 * valid 10 s); node-0 runs with a 6-second stall timeout (`--testing-stall-timeout-ms`), so its sweep runs
 * every 0.6 s. On a static devnet a cut this long loses nothing: members' messages wait in the transport's
 * queues.
 */

const STALL_TIMEOUT_MS = 6_000;
/** Past the stall timeout several times over, and past the records' expiry across the cut (within 30 s). */
const CUT_MS = 40_000;
const APPLY_WITHIN_MS = 45_000;

/** `tally_submissions{state="reoffered"}` of `node` now. */
async function reoffered(node: DevnetNode): Promise<number> {
  const text = await fetch(`${node.api}/metrics`, { signal: AbortSignal.timeout(2_000) }).then((r) =>
    r.text(),
  );
  const value = /^tally_submissions\{state="reoffered"\} (\S+)$/m.exec(text)?.[1];
  assert.ok(value !== undefined, `${node.name} exports no tally_submissions{state="reoffered"}`);
  return Number(value);
}

async function statusOn(node: DevnetNode, id: string): Promise<string> {
  const view = await new NodeClient(node.api, { timeoutMs: 2_000 }).transfer(id).catch(() => undefined);
  return view?.status ?? "unknown";
}

describe("a submission on a node cut off past the broadcast's stall timeout", { timeout: 180_000 }, () => {
  it("is introduced again and applied on every node once the cut heals", async (t) => {
    const devnet = await startDevnet(["--nodes", "4", "--wallets", "2", "--testing-faults"]);
    try {
      const nodes = devnet.file.nodes;
      const [cutOff, ...others] = nodes as [DevnetNode, ...DevnetNode[]];
      // node-0 again, with the short stall timeout.
      process.kill(cutOff.pid, "SIGKILL");
      while (isAlive(cutOff.pid)) await sleep(20);
      devnet.spawnExtra([...cutOff.argv, "--testing-stall-timeout-ms", String(STALL_TIMEOUT_MS)]);
      const healthyBy = Date.now() + 60_000;
      while (!(await Promise.all(nodes.map(isHealthy))).every(Boolean)) {
        assert.ok(Date.now() < healthyBy, "every node healthy within 60 s");
        await sleep(200);
      }

      const cluster = new Cluster(nodes);
      await cluster.partition([cutOff]);
      const [payer, payee] = await Promise.all(
        devnet.file.wallets.map((w) => readKeystore(w.keystore, { passphraseFile: w.passphraseFile })),
      );
      const client = new NodeClient(cutOff.api);
      const paidBefore = BigInt((await client.account(payee!.address)).balance);
      const { signed } = await prepareNextTransfer(client, payer!, {
        outputs: [{ to: payee!.address, amount: 7n }],
      });
      const answer = await client.submit(transferToJson(signed.transfer));
      assert.equal(answer.status, "pending");
      await sleep(CUT_MS);
      const inCut = await reoffered(cutOff);
      t.diagnostic(`offered again ${inCut} times inside the ${CUT_MS}-ms cut`);
      assert.ok(inCut >= 1, "the stall eviction dropped it, and the sweep offered it again, inside the cut");
      for (const n of others)
        assert.equal(await statusOn(n, signed.id), "unknown", `${n.name} across the cut`);
      assert.equal(await statusOn(cutOff, signed.id), "pending");

      await cluster.heal();
      const healedAt = Date.now();
      let statuses: string[] = [];
      for (;;) {
        statuses = await Promise.all(nodes.map((n) => statusOn(n, signed.id)));
        if (statuses.every((s) => s === "applied")) break;
        assert.ok(
          Date.now() - healedAt < APPLY_WITHIN_MS,
          `not applied everywhere ${APPLY_WITHIN_MS} ms after the heal: ${JSON.stringify(statuses)}`,
        );
        await sleep(250);
      }
      t.diagnostic(`applied on every node ${Date.now() - healedAt} ms after the heal`);
      for (const n of nodes) {
        const account = await new NodeClient(n.api).account(payee!.address);
        assert.equal(BigInt(account.balance), paidBefore + 7n, `${n.name}: the payee got the 7, once`);
      }
    } finally {
      await devnet.stop();
    }
  });
});
