import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { transferToJson } from "../../src/core/transferJson.ts";
import type { DevnetNode } from "../../src/devnet/devnet.ts";
import { type Keystore, newKeystore, readKeystore } from "../../src/wallet/keystore.ts";
import { NodeClient, NodeRequestError } from "../../src/wallet/nodeClient.ts";
import { prepareNextTransfer } from "../../src/wallet/prepareTransfer.ts";
import { buildSignedTransfer } from "../../src/wallet/signTransfer.ts";
import { MAIN_TS, type RunningDevnet, startDevnet, waitForHealth } from "../support/devnetProcess.ts";

const run = promisify(execFile);
const TRANSFERS = Number(process.env.TALLY_DEVNET_TRANSFERS ?? 200);
const MODES = (process.env.TALLY_DEVNET_MODES ?? "contagion,bracha").split(",");

/**
 * Pays like `tally wallet send`: the same preparation code (next seq, pending deps, waiting for a
 * lagging node to apply the wallet's previous transfer), then waits until applied.
 */
async function pay(
  client: NodeClient,
  wallet: { keystore: Keystore },
  to: string,
  amount: bigint,
): Promise<string> {
  const { signed, keystore } = await prepareNextTransfer(client, wallet.keystore, {
    outputs: [{ to, amount }],
  });
  wallet.keystore = keystore;
  const { id } = await client.submit(transferToJson(signed.transfer));
  const view = await client.waitForResolution(id, 30_000);
  assert.equal(view.status, "applied", `transfer ${id}: ${JSON.stringify(view.reason)}`);
  return id;
}

async function snapshot(node: DevnetNode, addresses: readonly string[]): Promise<string[]> {
  const client = new NodeClient(node.api);
  return Promise.all(addresses.map(async (a) => JSON.stringify(await client.account(a))));
}

for (const MODE of MODES) {
  describe(`a 4-node devnet of real processes (${MODE})`, { timeout: 300_000 }, () => {
    let devnet: RunningDevnet;
    let wallets: { keystore: Keystore }[];
    let everyone: string[];
    const network = "tally-devnet";

    before(async () => {
      devnet = await startDevnet(["--nodes", "4", "--wallets", "4", "--broadcast", MODE]);
      wallets = await Promise.all(
        devnet.file.wallets.map(async (w) => ({
          keystore: await readKeystore(w.keystore, { passphraseFile: w.passphraseFile }),
        })),
      );
      const strangers = Array.from({ length: 4 }, () => newKeystore().address);
      everyone = [...wallets.map((w) => w.keystore.address), ...strangers];
    });
    after(async () => {
      await devnet?.stop();
    });

    it(`applies ${TRANSFERS} transfers submitted to random nodes and every node reports the same balances`, async () => {
      const nodes = devnet.file.nodes;
      const perWallet = Math.ceil(TRANSFERS / wallets.length);
      let sent = 0;
      const started = performance.now();
      await Promise.all(
        wallets.map(async (wallet, w) => {
          for (let i = 0; i < perWallet && sent < TRANSFERS; i++) {
            sent++;
            const node = nodes[(w * 7 + i * 3) % nodes.length]!;
            const to = everyone[(w + 1 + i) % everyone.length]!;
            const recipient = to === wallet.keystore.address ? everyone.at(-1)! : to;
            await pay(new NodeClient(node.api), wallet, recipient, BigInt(1 + (i % 17)));
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `# ${MODE}: ${TRANSFERS} transfers, 4 wallets in parallel, ${seconds.toFixed(1)} s: ${(TRANSFERS / seconds).toFixed(0)} transfers/s, ${((seconds * 1000 * wallets.length) / TRANSFERS).toFixed(0)} ms per transfer end to end`,
      );

      const views = await Promise.all(nodes.map((n) => snapshot(n, everyone)));
      for (const view of views.slice(1)) assert.deepEqual(view, views[0]);
      const supply = (
        await Promise.all(everyone.map((a) => new NodeClient(nodes[0]!.api).account(a)))
      ).reduce((sum, a) => sum + BigInt(a.balance), 0n);
      assert.equal(supply, 4n * 1_000_000_000_000n, "supply conserved");
    });

    it("rejects a bad signature with 400 and never applies a second transfer for a used seq", async () => {
      const [n0, n1, n2] = devnet.file.nodes;
      const wallet = wallets[0]!.keystore;
      const client = new NodeClient(n0!.api);
      const account = await client.account(wallet.address);
      const good = buildSignedTransfer(wallet, {
        network,
        seq: account.nextSeq,
        outputs: [{ to: everyone[5]!, amount: 5n }],
        deps: account.pendingDeps,
      });
      const forged = transferToJson(good.transfer);
      forged.signature = `${forged.signature.slice(0, -2)}${forged.signature.endsWith("00") ? "01" : "00"}`;
      await assert.rejects(
        client.submit(forged),
        (e: unknown) => e instanceof NodeRequestError && e.status === 400 && e.code === "BAD_SIGNATURE",
      );

      const firstId = await pay(client, wallets[0]!, everyone[5]!, 5n);
      const usedSeq = account.nextSeq;
      const twin = buildSignedTransfer(wallet, {
        network,
        seq: usedSeq,
        outputs: [{ to: everyone[6]!, amount: 7n }],
        deps: [],
      });
      await assert.rejects(
        new NodeClient(n1!.api).submit(transferToJson(twin.transfer)),
        (e: unknown) => e instanceof NodeRequestError && e.status === 409,
      );

      // Two different transfers for one fresh seq, raced to two nodes by another wallet. Secure broadcast
      // lets at most one be delivered, the same everywhere; with an even split it may deliver neither, which
      // freezes only the double-spender's account.
      const racer = wallets[3]!.keystore;
      const { nextSeq, pendingDeps } = await client.account(racer.address);
      const a = buildSignedTransfer(racer, {
        network,
        seq: nextSeq,
        outputs: [{ to: everyone[5]!, amount: 3n }],
        deps: pendingDeps,
      });
      const b = buildSignedTransfer(racer, {
        network,
        seq: nextSeq,
        outputs: [{ to: everyone[6]!, amount: 4n }],
        deps: pendingDeps,
      });
      await Promise.allSettled([
        new NodeClient(n1!.api).submit(transferToJson(a.transfer)),
        new NodeClient(n2!.api).submit(transferToJson(b.transfer)),
      ]);
      const applied = (s: string[]) => `${s[0] === "applied" ? "a" : ""}${s[1] === "applied" ? "b" : ""}`;
      const deadline = Date.now() + 5_000;
      let statuses: string[][] = [];
      for (;;) {
        statuses = await Promise.all(
          devnet.file.nodes.map(async (n) => {
            const c = new NodeClient(n.api);
            const st = async (id: string) =>
              (await c.transfer(id).catch(() => undefined))?.status ?? "unknown";
            return [await st(a.id), await st(b.id), await st(twin.id), await st(firstId)];
          }),
        );
        const settled = statuses.every((s) => applied(s) !== "") || Date.now() > deadline;
        if (settled) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const s of statuses) {
        assert.notEqual(s[2], "applied", "the twin of an applied transfer is never applied");
        assert.equal(s[3], "applied");
        assert.notEqual(applied(s), "ab", `both twins applied: ${JSON.stringify(statuses)}`);
      }
      assert.equal(new Set(statuses.map(applied)).size, 1, `nodes disagree: ${JSON.stringify(statuses)}`);
    });

    it("the wallet CLI sends, and a node killed with SIGKILL comes back with the same state", async () => {
      const nodes = devnet.file.nodes;
      const dev = devnet.file.wallets[0]!;
      const { stdout } = await run(process.execPath, [
        MAIN_TS,
        "wallet",
        "send",
        everyone[7]!,
        "11",
        "--keystore",
        dev.keystore,
        "--passphrase-file",
        dev.passphraseFile,
        "--node",
        nodes[3]!.api,
        "--json",
      ]);
      assert.equal(JSON.parse(stdout).status, "applied");

      const victim = nodes[1]!;
      const before = await snapshot(victim, everyone);
      process.kill(victim.pid, "SIGKILL");
      await new Promise((r) => setTimeout(r, 300));
      devnet.restart(victim);
      await waitForHealth(victim.api);
      assert.deepEqual(await snapshot(victim, everyone), before);
      const history = await new NodeClient(victim.api).accountTransfers(everyone[7]!);
      assert.ok(history.transfers.some((t) => t.direction === "in" && t.status === "applied"));
    });
  });
}
