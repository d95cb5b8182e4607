import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MAX_BATCH_TRANSFERS } from "../../src/api/batchRoute.ts";
import { encodeTransferBatch } from "../../src/core/transferBatch.ts";
import { transferToJson } from "../../src/core/transferJson.ts";
import { newKeystore } from "../../src/wallet/keystore.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import { buildSignedTransfer } from "../../src/wallet/signTransfer.ts";
import { type OneNodeNetwork, startOneNodeNetwork } from "../support/oneNodeNetwork.ts";

const NETWORK = "tally-batch-test";

/** `POST /v1/transfers:batch` on a real one-node network: each transfer judged as a single POST would be. */
describe("REST API: batch submission", { timeout: 60_000 }, () => {
  let net: OneNodeNetwork;
  let url: string;
  const payers = Array.from({ length: 3 }, () => newKeystore());
  const payee = newKeystore();

  before(async () => {
    net = await startOneNodeNetwork(
      NETWORK,
      payers.map((p) => ({ address: p.address, amount: "1000" })),
    );
    url = net.node.apiUrl;
  });
  after(async () => {
    await net?.stop();
  });

  const post = async (body: unknown) => {
    const response = await fetch(`${url}/v1/transfers:batch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  const pay = (i: number, seq: number, amount: bigint) =>
    buildSignedTransfer(payers[i]!, {
      network: NETWORK,
      seq,
      outputs: [{ to: payee.address, amount }],
      deps: [],
    });

  it("accepts a batch, answers each transfer in order, refuses the bad ones alone, and applies the good ones", async () => {
    const good = [pay(0, 1, 5n), pay(1, 1, 6n), pay(2, 1, 7n)];
    const overdraft = pay(0, 2, 10_000n);
    const forged = { ...transferToJson(pay(1, 2, 1n).transfer), signature: "00".repeat(64) };
    const res = await post({
      transfers: [...good.map((t) => transferToJson(t.transfer)), transferToJson(overdraft.transfer), forged],
    });
    assert.equal(res.status, 200);
    const results = res.json.results as Record<string, string>[];
    assert.equal(results.length, 5);
    for (const [i, t] of good.entries()) assert.equal(results[i]!.id, t.id);
    assert.equal(results[3]!.code, "INSUFFICIENT_FUNDS");
    assert.equal(results[4]!.code, "BAD_SIGNATURE");
    const client = new NodeClient(url);
    for (const t of good) assert.equal((await client.waitForResolution(t.id, 10_000)).status, "applied");
    assert.equal((await client.account(payee.address)).balance, "18");
  });

  it("refuses a body that breaks the schema whole: empty, too many, or a malformed item", async () => {
    assert.equal((await post({ transfers: [] })).status, 400);
    const many = Array.from({ length: MAX_BATCH_TRANSFERS + 1 }, () =>
      transferToJson(pay(0, 3, 1n).transfer),
    );
    const tooMany = await post({ transfers: many });
    assert.equal(tooMany.status, 400);
    assert.equal(tooMany.json.code, "INVALID_REQUEST");
    assert.equal((await post({ transfers: [{ nonsense: true }] })).status, 400);
    assert.equal((await post({ transfers: [], extra: 1 })).status, 400);
  });

  const postBinary = async (body: Uint8Array, path = "/v1/transfers:batch") => {
    const response = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body,
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  it("takes a binary batch: each item judged alone, the good ones applied, a bad framing refused whole", async () => {
    // Each payer's next seq, whatever the tests above left.
    const next = async (i: number) => Number((await new NodeClient(url).account(payers[i]!.address)).nextSeq);
    const good = pay(1, await next(1), 3n);
    const overdraft = pay(2, await next(2), 10_000n);
    const forged = pay(2, await next(2), 2n).bytes.slice();
    forged[forged.length - 1]! ^= 1; // the signature's last byte
    const garbage = new Uint8Array([1, 2, 3]);
    const res = await postBinary(encodeTransferBatch([good.bytes, overdraft.bytes, forged, garbage]));
    assert.equal(res.status, 200);
    const results = res.json.results as Record<string, string>[];
    assert.equal(results.length, 4);
    assert.equal(results[0]!.id, good.id);
    assert.equal(results[1]!.code, "INSUFFICIENT_FUNDS");
    assert.equal(results[2]!.code, "BAD_SIGNATURE");
    assert.equal(results[3]!.code, "MALFORMED_ENCODING");
    assert.equal((await new NodeClient(url).waitForResolution(good.id, 10_000)).status, "applied");

    const truncated = encodeTransferBatch([good.bytes]).subarray(0, 10);
    const refused = await postBinary(truncated);
    assert.equal(refused.status, 400);
    assert.equal(refused.json.code, "INVALID_REQUEST");
    assert.equal((await postBinary(new Uint8Array(0))).status, 400);
    const many = Array.from({ length: MAX_BATCH_TRANSFERS + 1 }, () => good.bytes);
    assert.equal((await postBinary(encodeTransferBatch(many))).json.code, "INVALID_REQUEST");
    // Only the batch route takes binary bodies, and it takes no body type it has no schema for.
    assert.equal((await postBinary(encodeTransferBatch([good.bytes]), "/v1/transfers")).status, 415);
    const asText = await fetch(`${url}/v1/transfers:batch`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ transfers: [transferToJson(good.transfer)] }),
    });
    assert.equal(asText.status, 415);
  });
});
