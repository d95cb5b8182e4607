/**
 * A node whose write does not reach the disk stops itself, and says so: `failed` settles with the error
 * once it has stopped, so `tally node start` exits non-zero and a supervisor restarts it from what is on
 * disk. In-process, on a real one-node network: its database is closed under it, as a lost disk would.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { NodeDatabase } from "../../src/storage/database.ts";
import { makeTransfer, TEST_NETWORK, testKey } from "../support/fixtures.ts";
import { startOneNodeNetwork } from "../support/oneNodeNetwork.ts";

describe("a node whose write fails", () => {
  it("stops, and its `failed` settles with the write's error", async () => {
    const payer = testKey(1);
    const payee = testKey(2);
    const net = await startOneNodeNetwork(TEST_NETWORK, [{ address: payer.address, amount: "100" }]);
    try {
      let settled: Error | undefined;
      void net.node.failed.then((e) => {
        settled = e;
      });
      // The node's LevelDB, closed as a lost disk would leave it: the next step's write throws.
      await (net.node as unknown as { db: NodeDatabase }).db.close();
      // Not awaited: a step whose write failed answers none of its submitters.
      void net.node
        .submit(makeTransfer(payer, 1, [{ to: payee.address, amount: 5n }]))
        .catch(() => undefined);
      const error = await Promise.race([
        net.node.failed,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000).unref()),
      ]);
      assert.ok(error instanceof Error, "failed settled within 10 s");
      assert.equal(settled, error);
      assert.equal(net.node.health().status, "starting", "the node is stopped, not ready");
    } finally {
      await net.stop().catch(() => undefined);
    }
  });

  it("an ordinary stop never settles `failed`", async () => {
    const net = await startOneNodeNetwork(TEST_NETWORK, []);
    let settled = false;
    void net.node.failed.then(() => {
      settled = true;
    });
    await net.stop();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(settled, false);
  });
});
