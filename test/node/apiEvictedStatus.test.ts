import assert from "node:assert/strict";
import { after, before, describe, it, mock } from "node:test";
import { Level } from "level";
import { transferToJson } from "../../src/core/transferJson.ts";
import { newKeystore } from "../../src/wallet/keystore.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import { buildSignedTransfer } from "../../src/wallet/signTransfer.ts";
import { type OneNodeNetwork, startOneNodeNetwork } from "../support/oneNodeNetwork.ts";

const NETWORK = "tally-evicted-status-test";

/** The fields these tests look at in the API's answers. */
interface ApiBody {
  readonly code?: string;
  readonly transfers?: readonly { readonly id: string; readonly status: string }[];
}

/**
 * A node that keeps a single resolved status in memory: every older one is answered from LevelDB. The API must
 * answer exactly as if they were all in memory, and never with a synchronous disk read (any client can ask
 * about any id, and a blocking read stalls the whole event loop).
 */
describe("API answers for statuses that left memory", { timeout: 60_000 }, () => {
  let net: OneNodeNetwork;
  let url: string;
  const owner = newKeystore();
  const stranger = newKeystore();
  const payment = (seq: number, amount: bigint) =>
    buildSignedTransfer(owner, {
      network: NETWORK,
      seq,
      outputs: [{ to: stranger.address, amount }],
      deps: [],
    });
  const first = payment(1, 10n);
  // The stranger spends what `first` paid it: `first` is then referenced, no longer an unreferenced dep.
  const refund = buildSignedTransfer(stranger, {
    network: NETWORK,
    seq: 1,
    outputs: [{ to: owner.address, amount: 5n }],
    deps: [first.id],
  });
  const later = [payment(2, 10n), payment(3, 10n)];

  async function call(method: string, path: string, body?: unknown) {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as ApiBody };
  }

  before(async () => {
    net = await startOneNodeNetwork(NETWORK, [{ address: owner.address, amount: "1000" }], {
      nodeOptions: { recentStatuses: 1 },
    });
    url = net.node.apiUrl;
    const client = new NodeClient(url);
    for (const t of [first, refund, ...later]) {
      assert.equal((await call("POST", "/v1/transfers", transferToJson(t.transfer))).status, 202);
      assert.equal((await client.waitForResolution(t.id, 10_000)).status, "applied");
    }
  });
  after(async () => {
    await net?.stop();
  });

  it("answers lookups, history and submissions of evicted transfers as before, without a blocking read", async () => {
    const blockingReads = mock.method(Level.prototype, "getSync");
    try {
      const view = await call("GET", `/v1/transfers/${first.id}`);
      assert.equal(view.status, 200);
      assert.deepEqual(view.json, {
        id: first.id,
        status: "applied",
        transfer: transferToJson(first.transfer),
      });

      assert.equal((await call("GET", `/v1/transfers/${"00".repeat(32)}`)).status, 404, "unknown id");

      const history = await call("GET", `/v1/accounts/${owner.address}/transfers?limit=10`);
      assert.deepEqual(
        history.json.transfers?.map((t) => [t.id, t.status]),
        [later[1]!, later[0]!, refund, first].map((t) => [t.id, "applied"]),
      );

      const again = await call("POST", "/v1/transfers", transferToJson(first.transfer));
      assert.deepEqual([again.status, again.json], [202, { id: first.id, status: "applied" }]);

      const twin = await call("POST", "/v1/transfers", transferToJson(payment(1, 11n).transfer));
      assert.deepEqual([twin.status, twin.json.code], [409, "STALE_SEQ"]);

      const reused = buildSignedTransfer(stranger, {
        network: NETWORK,
        seq: 2,
        outputs: [{ to: owner.address, amount: 1n }],
        deps: [first.id],
      });
      const spentTwice = await call("POST", "/v1/transfers", transferToJson(reused.transfer));
      assert.deepEqual([spentTwice.status, spentTwice.json.code], [409, "INVALID_DEPENDENCY"]);

      assert.equal(blockingReads.mock.callCount(), 0, "no synchronous LevelDB read on the API's paths");
    } finally {
      blockingReads.mock.restore();
    }
  });
});
