import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { transferToJson } from "../../src/core/transferJson.ts";
import type { DevnetNode } from "../../src/devnet/devnet.ts";
import { type Keystore, readKeystore } from "../../src/wallet/keystore.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import { prepareNextTransfer } from "../../src/wallet/prepareTransfer.ts";
import { type RunningDevnet, startDevnet } from "../support/devnetProcess.ts";
import { sleep, stopProcess } from "../support/nodeProbes.ts";

const TRANSFERS = Number(process.env.TALLY_CATCH_UP_TRANSFERS ?? 200);
const MATCH_WITHIN_MS = 30_000;
/** The live nodes deliver each transfer at nearly the same time; a transfer in flight settles well within this. */
const LIVE_NODES_AGREE_WITHIN_MS = 5_000;

async function pay(client: NodeClient, wallet: { keystore: Keystore }, to: string): Promise<void> {
  const { signed, keystore } = await prepareNextTransfer(client, wallet.keystore, {
    outputs: [{ to, amount: 1n }],
  });
  wallet.keystore = keystore;
  const { id } = await client.submit(transferToJson(signed.transfer));
  const view = await client.waitForResolution(id, 30_000);
  assert.equal(view.status, "applied");
}

async function balances(node: DevnetNode, addresses: readonly string[]): Promise<string> {
  const client = new NodeClient(node.api);
  const accounts = await Promise.all(addresses.map((a) => client.account(a)));
  return JSON.stringify(accounts.map((a) => [a.address, a.balance, a.nextSeq]));
}

describe("catch-up on a 4-node devnet (bracha)", { timeout: 240_000 }, () => {
  let devnet: RunningDevnet;
  before(async () => {
    devnet = await startDevnet(["--nodes", "4", "--wallets", "4", "--broadcast", "bracha"]);
  });
  after(async () => {
    await devnet?.stop();
  });

  it(`a node restarted with an empty database and only its peer key matches the others within 30 s after ${TRANSFERS} transfers`, async () => {
    const nodes = devnet.file.nodes;
    const wallets = await Promise.all(
      devnet.file.wallets.map(async (w) => ({
        keystore: await readKeystore(w.keystore, { passphraseFile: w.passphraseFile }),
      })),
    );
    const addresses = wallets.map((w) => w.keystore.address);
    const lost = nodes[3]!;
    await stopProcess(lost.pid);
    assert.equal(await balances(lost, addresses).catch(() => "down"), "down", "node 3 is down");

    const perWallet = Math.ceil(TRANSFERS / wallets.length);
    await Promise.all(
      wallets.map(async (wallet, w) => {
        for (let i = 0; i < perWallet; i++) {
          const via = nodes[(w + i) % 3]!;
          await pay(new NodeClient(via.api), wallet, addresses[(w + 1) % addresses.length]!);
        }
      }),
    );
    // A payment returns once the node it went through applied it; the other two apply it moments later, so
    // the three live nodes are read until they agree (each payment was applied by one of them, so agreeing
    // means all have applied every payment).
    const live = nodes.slice(0, 3);
    const since = Date.now();
    let agreed = await Promise.all(live.map((n) => balances(n, addresses)));
    while (new Set(agreed).size > 1 && Date.now() - since < LIVE_NODES_AGREE_WITHIN_MS) {
      await sleep(20);
      agreed = await Promise.all(live.map((n) => balances(n, addresses)));
    }
    assert.equal(new Set(agreed).size, 1, `the live nodes agree: ${agreed.join(" / ")}`);
    const expected = agreed[0]!;

    // The disk is lost: only the peer key survives.
    await rm(join(lost.dataDir, "db"), { recursive: true, force: true });
    const restartedAt = Date.now();
    devnet.restart(lost);
    let seen = "";
    while (Date.now() - restartedAt < MATCH_WITHIN_MS) {
      seen = await balances(lost, addresses).catch(() => "");
      if (seen === expected) break;
      await sleep(250);
    }
    assert.equal(seen, expected, "the rebuilt node's balances match the others'");
    const took = Date.now() - restartedAt;
    const info = (await (await fetch(`${lost.api}/v1/node`)).json()) as {
      sync: { state: string; fetched: number };
    };
    console.log(
      `# catch-up: ${perWallet * wallets.length} transfers rebuilt in ${took} ms; sync ${JSON.stringify(info.sync)}`,
    );
    // Not asserted: the other nodes' outbound queues still hold the broadcast messages for node 3 (the
    // transport reopens streams with backoff), so it may rebuild by broadcast before catch-up fetches anything.
    assert.equal(info.sync.state, "synced");
  });
});
