import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { toHex } from "../../src/core/bytes.ts";
import { transferToJson } from "../../src/core/transferJson.ts";
import { sodiumVerifier } from "../../src/crypto/ed25519Sodium.ts";
import { SignatureAuthorizer } from "../../src/ledger/authorization.ts";
import { PayloadInspector } from "../../src/node/core/payloadInspector.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import { testKey } from "../support/fixtures.ts";
import { type OneNodeNetwork, startOneNodeNetwork } from "../support/oneNodeNetwork.ts";
import { makeSharedTransfer, sharedAccount } from "../support/sharedAccounts.ts";

const NETWORK = "tally-shared-api-test";
const treasury = sharedAccount([1, 2, 3, 4], "treasury");
const payee = testKey(30);

function pay(seq: number, amount: bigint, signers?: number[]) {
  return makeSharedTransfer(treasury, seq, [{ to: payee.address, amount }], [], {
    network: NETWORK,
    ...(signers ? { signers } : {}),
  });
}

describe("a shared account's certified transfer through the broadcast's check", () => {
  it("is judged valid with 3 of 4 owners and refused with 2", () => {
    const inspector = new PayloadInspector(NETWORK, new SignatureAuthorizer(sodiumVerifier));
    const good = pay(1, 5n);
    const info = inspector.inspect(good.bytes);
    assert.deepEqual(info?.instance, { source: treasury.address, seq: 1 });
    assert.equal(info?.digest, good.id);
    assert.equal(inspector.inspect(pay(1, 5n, [0, 1]).bytes), null);
  });
});

/** A real one-node network: POST /v1/transfers, the ledger and the store with a shared account's transfer. */
describe("REST API with a shared account", { timeout: 60_000 }, () => {
  let net: OneNodeNetwork;
  let url: string;

  before(async () => {
    net = await startOneNodeNetwork(NETWORK, [{ address: treasury.address, amount: "1000" }]);
    url = net.node.apiUrl;
  });
  after(async () => {
    await net?.stop();
  });

  async function post(body: unknown) {
    const response = await fetch(`${url}/v1/transfers`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as { id?: string; code?: string } };
  }

  it("accepts a certified transfer, applies it, and shows it with its authorization", async () => {
    const t = pay(1, 250n);
    const res = await post(transferToJson(t.transfer));
    assert.equal(res.status, 202, JSON.stringify(res.json));
    assert.equal(res.json.id, t.id);
    const client = new NodeClient(url);
    const view = await client.waitForResolution(t.id, 10_000);
    assert.equal(view.status, "applied");
    assert.deepEqual(view.transfer, transferToJson(t.transfer));
    const account = await client.account(treasury.address);
    assert.equal(account.balance, "750");
    assert.equal(account.nextSeq, 2);
  });

  it("shows the account's definition once its certified transfer is applied, also after a restart", async () => {
    const expected = { owners: treasury.definition.owners.map(toHex), label: "treasury" };
    const viewed = async () => {
      const response = await fetch(`${net.node.apiUrl}/v1/accounts/${treasury.address}`);
      return ((await response.json()) as { definition?: unknown }).definition;
    };
    assert.deepEqual(await viewed(), expected); // this node hosts no owner: learnt from the transfer
    await net.restart();
    url = net.node.apiUrl;
    assert.deepEqual(await viewed(), expected);
    const single = await fetch(`${net.node.apiUrl}/v1/accounts/${payee.address}`);
    assert.equal(((await single.json()) as { definition?: unknown }).definition, undefined);
  });

  it("refuses a weak certificate, a signature in its place, or both, with 400 and a code", async () => {
    const weak = transferToJson(pay(2, 1n, [0, 1]).transfer);
    const cases: [unknown, string][] = [
      [weak, "SHARED_INVALID_CERTIFICATE"],
      [{ ...weak, signature: "00".repeat(64) }, "INVALID_REQUEST"],
      [{ ...weak, authorization: undefined, signature: "00".repeat(64) }, "INVALID_FIELD"],
      [{ ...weak, authorization: { ...weak.authorization, extra: 1 } }, "INVALID_REQUEST"],
    ];
    for (const [body, code] of cases) {
      const res = await post(body);
      assert.equal(res.status, 400, JSON.stringify(res.json));
      assert.equal(res.json.code, code, JSON.stringify(res.json));
    }
  });
});
