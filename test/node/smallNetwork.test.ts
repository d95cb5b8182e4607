/**
 * A static 4-node contagion devnet (`tally devnet up --membership static`) with one faulty member — killed with SIGKILL,
 * silent, or forging votes — keeps applying transfers on every correct node within a few seconds: its
 * full-membership quorums tolerate ⌊(4−1)/3⌋ = 1 faulty member (docs/broadcast.md, "Small networks").
 * An open devnet of this size runs a sampled design instead, whose thresholds need all three other nodes: a
 * killed node holds it up until its record expires (docs/membership.md).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { transferToJson } from "../../src/core/transferJson.ts";
import type { DevnetNode } from "../../src/devnet/devnet.ts";
import { newKeystore, readKeystore } from "../../src/wallet/keystore.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import { prepareNextTransfer } from "../../src/wallet/prepareTransfer.ts";
import { startDevnet } from "../support/devnetProcess.ts";

const TRANSFERS = 5;
const PER_TRANSFER_MS = 5_000;

/** Polls every node until each reports the transfer applied; returns the ms it took, or fails past the limit. */
async function appliedEverywhere(
  nodes: readonly DevnetNode[],
  id: string,
  startedAt: number,
): Promise<number> {
  const pending = new Set(nodes.map((n) => n.api));
  for (;;) {
    for (const api of [...pending]) {
      const view = await new NodeClient(api).transfer(id).catch(() => undefined);
      if (view?.status === "applied") pending.delete(api);
      else assert.notEqual(view?.status, "rejected", `${api} rejected ${id}`);
    }
    const elapsed = Date.now() - startedAt;
    if (pending.size === 0) return elapsed;
    assert.ok(
      elapsed <= PER_TRANSFER_MS,
      `${id} not applied on ${[...pending].join(", ")} after ${elapsed} ms`,
    );
    await new Promise((r) => setTimeout(r, 25));
  }
}

const faults: { name: string; args: string[]; kill?: boolean }[] = [
  { name: "one node killed with SIGKILL", args: [], kill: true },
  { name: "one silent byzantine node", args: ["--byzantine", "1", "--strategy", "silent"] },
  { name: "one forging byzantine node", args: ["--byzantine", "1", "--strategy", "forge"] },
];

for (const fault of faults) {
  describe(`the static 4-node contagion devnet with ${fault.name}`, { timeout: 180_000 }, () => {
    it(`applies each transfer on every correct node within ${PER_TRANSFER_MS / 1000} s`, async (t) => {
      const devnet = await startDevnet([
        "--nodes",
        "4",
        "--broadcast",
        "contagion",
        "--wallets",
        "1",
        "--membership",
        "static",
        ...fault.args,
      ]);
      try {
        const nodes = devnet.file.nodes;
        const faulty = fault.kill ? nodes[3]! : nodes.find((n) => n.byzantine !== undefined)!;
        assert.ok(faulty, "one faulty node");
        const correct = nodes.filter((n) => n !== faulty);
        assert.equal(correct.length, 3);
        if (fault.kill) process.kill(faulty.pid, "SIGKILL");

        let keystore = await readKeystore(devnet.file.wallets[0]!.keystore, {
          passphraseFile: devnet.file.wallets[0]!.passphraseFile,
        });
        const recipient = newKeystore().address;
        const times: number[] = [];
        for (let i = 0; i < TRANSFERS; i++) {
          const client = new NodeClient(correct[i % correct.length]!.api);
          const prepared = await prepareNextTransfer(client, keystore, {
            outputs: [{ to: recipient, amount: BigInt(1 + i) }],
          });
          keystore = prepared.keystore;
          const startedAt = Date.now();
          const { id } = await client.submit(transferToJson(prepared.signed.transfer));
          times.push(await appliedEverywhere(correct, id, startedAt));
        }
        t.diagnostic(`ms until applied on every correct node: ${times.join(", ")}`);
        for (const node of correct) {
          const account = await new NodeClient(node.api).account(recipient);
          assert.equal(BigInt(account.balance), BigInt((TRANSFERS * (TRANSFERS + 1)) / 2), node.name);
        }
      } finally {
        await devnet.stop();
      }
    });
  });
}
