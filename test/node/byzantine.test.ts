import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { transferToJson } from "../../src/core/transferJson.ts";
import { type Keystore, newKeystore, readKeystore } from "../../src/wallet/keystore.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import { prepareNextTransfer } from "../../src/wallet/prepareTransfer.ts";
import { buildSignedTransfer } from "../../src/wallet/signTransfer.ts";
import { startDevnet } from "../support/devnetProcess.ts";

const MODE = process.env.TALLY_BYZANTINE_TEST_MODE ?? "contagion";
const NODES = 8;
const TRANSFERS = 24;

/** Polls until every correct node reports the same account views, or the deadline passes. */
async function converged(
  apis: readonly string[],
  addresses: readonly string[],
  timeoutMs = 20_000,
): Promise<string[][]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const views = await Promise.all(
      apis.map((api) =>
        Promise.all(addresses.map(async (a) => JSON.stringify(await new NodeClient(api).account(a)))),
      ),
    );
    if (views.every((v) => JSON.stringify(v) === JSON.stringify(views[0])) || Date.now() > deadline)
      return views;
    await new Promise((r) => setTimeout(r, 200));
  }
}

for (const strategy of ["silent", "forge", "equivocate"] as const) {
  describe(`an ${NODES}-node ${MODE} devnet with one ${strategy} node`, { timeout: 180_000 }, () => {
    it("its correct nodes converge on identical balances and never apply both twins of a double spend", async () => {
      const devnet = await startDevnet([
        "--nodes",
        String(NODES),
        "--wallets",
        "3",
        "--broadcast",
        MODE,
        "--byzantine",
        "1",
        "--strategy",
        strategy,
      ]);
      try {
        const correct = devnet.file.nodes.filter((n) => n.byzantine === undefined);
        const byzantine = devnet.file.nodes.find((n) => n.byzantine === strategy)!;
        assert.equal(correct.length, NODES - 1);
        const [payer1, payer2, twinSigner] = await Promise.all(
          devnet.file.wallets.map(async (w) => ({
            keystore: await readKeystore(w.keystore, { passphraseFile: w.passphraseFile }),
          })),
        );
        const recipients = [newKeystore().address, newKeystore().address];
        const everyone = [payer1!, payer2!, twinSigner!].map((w) => w.keystore.address).concat(recipients);

        // The twins: two different transfers for one seq, both handed to the byzantine node.
        const twinKey: Keystore = twinSigner!.keystore;
        const byzClient = new NodeClient(byzantine.api);
        const twinA = buildSignedTransfer(twinKey, {
          network: devnet.file.network,
          seq: 1,
          outputs: [{ to: recipients[0]!, amount: 5n }],
        });
        const twinB = buildSignedTransfer(twinKey, {
          network: devnet.file.network,
          seq: 1,
          outputs: [{ to: recipients[1]!, amount: 6n }],
        });
        await Promise.allSettled([
          byzClient.submit(transferToJson(twinA.transfer)),
          byzClient.submit(transferToJson(twinB.transfer)),
        ]);

        await Promise.all(
          [payer1!, payer2!].map(async (wallet, w) => {
            for (let i = 0; i < TRANSFERS / 2; i++) {
              const client = new NodeClient(correct[(w + i) % correct.length]!.api);
              const { signed, keystore } = await prepareNextTransfer(client, wallet.keystore, {
                outputs: [{ to: recipients[i % 2]!, amount: BigInt(1 + i) }],
              });
              wallet.keystore = keystore;
              const { id } = await client.submit(transferToJson(signed.transfer));
              const view = await client.waitForResolution(id, 30_000);
              assert.equal(view.status, "applied");
            }
          }),
        );

        const views = await converged(
          correct.map((n) => n.api),
          everyone,
        );
        for (const view of views.slice(1)) assert.deepEqual(view, views[0]);
        const balances = views[0]!.map((v) => BigInt(JSON.parse(v).balance as string));
        assert.equal(
          balances.reduce((a, b) => a + b, 0n),
          3n * 1_000_000_000_000n,
          "supply conserved",
        );
        const twinStatuses = await Promise.all(
          correct.map(async (n) => {
            const c = new NodeClient(n.api);
            const st = async (id: string) =>
              (await c.transfer(id).catch(() => undefined))?.status ?? "unknown";
            return `${await st(twinA.id)}/${await st(twinB.id)}`;
          }),
        );
        assert.ok(!twinStatuses.includes("applied/applied"), `both twins applied: ${twinStatuses}`);
        assert.equal(
          new Set(twinStatuses.map((s) => (s.includes("applied") ? s : "none"))).size,
          1,
          `twins disagree: ${twinStatuses}`,
        );
      } finally {
        await devnet.stop();
      }
    });
  });
}
