import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { transferToJson } from "../../src/core/transferJson.ts";
import { newKeystore } from "../../src/wallet/keystore.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import { buildSignedTransfer } from "../../src/wallet/signTransfer.ts";
import { type OneNodeNetwork, startOneNodeNetwork } from "../support/oneNodeNetwork.ts";

const NETWORK = "tally-api-paging-test";

async function call(url: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: body !== undefined ? { "content-type": "application/json" } : {},
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text.startsWith("{") ? JSON.parse(text) : text };
}

describe("account history paging", { timeout: 60_000 }, () => {
  let net: OneNodeNetwork;
  let url: string;
  const owner = newKeystore();
  const payee = newKeystore();
  /** Ids of the owner's applied transfers, oldest first. */
  const applied: string[] = [];

  async function pay(seq: number): Promise<string> {
    const t = buildSignedTransfer(owner, {
      network: NETWORK,
      seq,
      outputs: [{ to: payee.address, amount: 1n }],
      deps: [],
    });
    const client = new NodeClient(url);
    await client.submit(transferToJson(t.transfer));
    assert.equal((await client.waitForResolution(t.id, 10_000)).status, "applied");
    return t.id;
  }

  before(async () => {
    net = await startOneNodeNetwork(NETWORK, [{ address: owner.address, amount: "1000" }]);
    url = net.node.apiUrl;
    for (let seq = 1; seq <= 25; seq++) applied.push(await pay(seq));
  });
  after(async () => {
    await net?.stop();
  });

  it("walks 25 transfers in pages of 10, newest first, with no gap, no repeat and no cursor after the last", async () => {
    const client = new NodeClient(url);
    const pages = [];
    let cursor: string | undefined;
    do {
      const page = await client.accountTransfers(owner.address, 10, cursor);
      pages.push(page);
      cursor = page.next;
    } while (cursor !== undefined);
    assert.deepEqual(
      pages.map((p) => p.transfers.length),
      [10, 10, 5],
    );
    const ids = pages.flatMap((p) => p.transfers.map((t) => t.id));
    assert.deepEqual(ids, [...applied].reverse());
    assert.ok(pages.flatMap((p) => p.transfers).every((t) => t.direction === "out"));
    // The payee's side of the same history, read by the client's all-pages walk.
    const incoming = await client.allAccountTransfers(payee.address, 7);
    assert.deepEqual(
      incoming.map((t) => t.id),
      [...applied].reverse(),
    );
  });

  it("has no next on a page that ends exactly at the oldest entry", async () => {
    const first = await call(url, "GET", `/v1/accounts/${owner.address}/transfers?limit=5`);
    const rest = await call(
      url,
      "GET",
      `/v1/accounts/${owner.address}/transfers?limit=1000&before=${first.json.next}`,
    );
    assert.equal(rest.status, 200);
    assert.equal(rest.json.transfers.length, applied.length - 5);
    assert.equal(rest.json.next, undefined);
    const whole = await call(url, "GET", `/v1/accounts/${owner.address}/transfers?limit=1000`);
    assert.equal("next" in whole.json, false);
  });

  it("keeps a cursor's pages stable while new transfers are appended", async () => {
    const client = new NodeClient(url);
    const first = await client.accountTransfers(owner.address, 10);
    const expected = await client.accountTransfers(owner.address, 10, first.next);
    applied.push(await pay(applied.length + 1));
    applied.push(await pay(applied.length + 1));
    const again = await client.accountTransfers(owner.address, 10, first.next);
    assert.deepEqual(
      again.transfers.map((t) => t.id),
      expected.transfers.map((t) => t.id),
    );
    assert.equal(again.next, expected.next);
    // The new ones are on top of a fresh first page.
    const fresh = await client.accountTransfers(owner.address, 2);
    assert.deepEqual(
      fresh.transfers.map((t) => t.id),
      applied.slice(-2).reverse(),
    );
  });

  it("refuses a cursor it never handed out with 400 INVALID_CURSOR", async () => {
    const garbage = [
      "abc",
      "0",
      "007",
      "-5",
      "1e3",
      "1.5",
      "",
      " 12",
      "99999999999999999",
      "9007199254740993",
    ];
    for (const cursor of garbage) {
      const res = await call(
        url,
        "GET",
        `/v1/accounts/${owner.address}/transfers?before=${encodeURIComponent(cursor)}`,
      );
      assert.equal(res.status, 400, `before=${JSON.stringify(cursor)} → ${JSON.stringify(res.json)}`);
      assert.equal(res.json.code, "INVALID_CURSOR", `before=${JSON.stringify(cursor)}`);
    }
    const twice = await call(url, "GET", `/v1/accounts/${owner.address}/transfers?before=5&before=6`);
    assert.equal(twice.status, 400);
    const unknown = await call(url, "GET", `/v1/accounts/${owner.address}/transfers?cursor=5`);
    assert.equal(unknown.status, 400);
  });
});

describe("account history pages bounded in bytes", { timeout: 60_000 }, () => {
  /** Small enough that a page of the test's transfers (each ≈ 1.2 KiB of JSON with 8 outputs) ends early. */
  const PAGE_BYTES = 4_000;
  let net: OneNodeNetwork;
  let url: string;
  const owner = newKeystore();
  const payees = Array.from({ length: 8 }, () => newKeystore());
  const applied: string[] = [];

  before(async () => {
    net = await startOneNodeNetwork(NETWORK, [{ address: owner.address, amount: "1000" }], {
      nodeOptions: { maxHistoryPageBytes: PAGE_BYTES },
    });
    url = net.node.apiUrl;
    const client = new NodeClient(url);
    for (let seq = 1; seq <= 12; seq++) {
      const t = buildSignedTransfer(owner, {
        network: NETWORK,
        seq,
        outputs: payees.map((p) => ({ to: p.address, amount: 1n })),
        deps: [],
      });
      await client.submit(transferToJson(t.transfer));
      assert.equal((await client.waitForResolution(t.id, 10_000)).status, "applied");
      applied.push(t.id);
    }
  });
  after(async () => {
    await net?.stop();
  });

  it("ends a page once its transfers pass the byte bound, and the cursor walk still sees each once", async () => {
    const client = new NodeClient(url);
    const pages = [];
    let cursor: string | undefined;
    do {
      const page = await client.accountTransfers(owner.address, 1000, cursor);
      pages.push(page);
      cursor = page.next;
    } while (cursor !== undefined);
    const sizes = pages.map((p) => p.transfers.length);
    assert.ok(pages.length > 1, `one page of ${sizes[0]} despite the ${PAGE_BYTES}-byte bound`);
    for (const page of pages.slice(0, -1)) {
      const bytes = page.transfers.map((t) => JSON.stringify(t.transfer).length);
      const total = bytes.reduce((a, b) => a + b, 0);
      assert.ok(total >= PAGE_BYTES, `a page ended at ${total} bytes, before the bound`);
      assert.ok(total - bytes.at(-1)! < PAGE_BYTES, `a page went on past the bound (${total} bytes)`);
    }
    assert.deepEqual(
      pages.flatMap((p) => p.transfers.map((t) => t.id)),
      [...applied].reverse(),
      "every transfer once, newest first",
    );
  });
});

describe("testing-only partition control", { timeout: 60_000 }, () => {
  let plain: OneNodeNetwork;
  let testing: OneNodeNetwork;
  let peers: string[];

  before(async () => {
    plain = await startOneNodeNetwork(NETWORK, []);
    testing = await startOneNodeNetwork(NETWORK, [], { testingFaults: true });
    peers = await Promise.all(
      [1, 2, 3].map(async () => peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString()),
    );
  });
  after(async () => {
    await plain?.stop();
    await testing?.stop();
  });

  it("does not exist without --testing-faults", async () => {
    const url = plain.node.apiUrl;
    assert.equal((await call(url, "PUT", "/v1/testing/partition", { blocked: peers })).status, 404);
    assert.equal((await call(url, "DELETE", "/v1/testing/partition")).status, 404);
  });

  it("blocks and heals with --testing-faults, and counts refusals in the p2p metrics", async () => {
    const url = testing.node.apiUrl;
    assert.equal((await call(url, "PUT", "/v1/testing/partition", { blocked: peers })).status, 204);
    assert.equal((await call(url, "PUT", "/v1/testing/partition", { blocked: [] })).status, 204);
    assert.equal((await call(url, "DELETE", "/v1/testing/partition")).status, 204);
    const metrics = await call(url, "GET", "/metrics");
    assert.match(metrics.json, /tally_p2p\{counter="partitionRefusals"\} 0/);
  });

  it("refuses a malformed body whole with 400 TESTING_INVALID_PARTITION", async () => {
    const url = testing.node.apiUrl;
    const tooMany = Array.from(
      { length: 1001 },
      (_, i) => `${peers[0]!.slice(0, -4)}${String(i).padStart(4, "1")}`,
    );
    const bodies: unknown[] = [
      [],
      "null",
      { blocked: "x" },
      { blocked: [42] },
      { blocked: ["not a peer id"] },
      { blocked: [peers[0], peers[0]] },
      { blocked: peers, extra: true },
      {},
      { blocked: tooMany },
    ];
    for (const body of bodies) {
      const res = await call(url, "PUT", "/v1/testing/partition", body);
      assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 80)} → ${JSON.stringify(res.json)}`);
      assert.equal(res.json.code, "TESTING_INVALID_PARTITION", JSON.stringify(body).slice(0, 80));
    }
    // Shaped like a peer id but not one: libp2p cannot parse it, nothing changes.
    const fake = await call(url, "PUT", "/v1/testing/partition", { blocked: ["1".repeat(52)] });
    assert.equal(fake.status, 400);
  });
});
