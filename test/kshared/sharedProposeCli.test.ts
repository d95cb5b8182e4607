/**
 * `tally shared propose` against a stand-in node: it proposes through the node's REST route only when the
 * keystore opens and its key is an owner of the account per the node's definition (and says so clearly
 * when not); what it posts is the payment with an intent signed by that key.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { proposeShared } from "../../src/cli/sharedPropose.ts";
import { AddressVersion, decodeAddress } from "../../src/core/address.ts";
import { fromHex, toHex } from "../../src/core/bytes.ts";
import { isTallyError } from "../../src/core/errors.ts";
import { sodiumVerifier } from "../../src/crypto/ed25519Sodium.ts";
import { intentSignatureValid } from "../../src/kshared/proposalIntent.ts";
import { newKeystore, sealKeystore, writeKeystore } from "../../src/wallet/keystore.ts";
import { DEVNET_SCRYPT } from "../../src/wallet/keystoreCrypto.ts";
import { NodeRequestError } from "../../src/wallet/nodeClient.ts";

const ACCOUNT = "tly1q9l5w2qw2yxf549yxlxcv286jw52ca9wkgan8n9n7wrhl8arnchmgq0uxjq";
const TO = "tly1qz7zxtr2n7a47zp9494c20rdwlx0540fvm89n8dzlgvydndf46vfyu2jlqg";

describe("tally shared propose", () => {
  let dir: string;
  let server: Server;
  let node: string;
  let owner: string;
  let stranger: string;
  let ownerKeyHex: string;
  const posted: unknown[] = [];

  async function keystoreFile(name: string): Promise<{ path: string; key: string }> {
    const keystore = await sealKeystore(newKeystore(undefined, "tally-devnet"), "pw", DEVNET_SCRYPT);
    const path = join(dir, `${name}.json`);
    await writeKeystore(path, keystore, { create: true });
    const decoded = decodeAddress(keystore.address);
    assert.equal(decoded.version, AddressVersion.Ed25519);
    return { path, key: toHex(decoded.key) };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "tally-propose-"));
    await writeFile(join(dir, "pass"), "pw", { mode: 0o600 });
    const a = await keystoreFile("owner");
    const b = await keystoreFile("stranger");
    owner = a.path;
    ownerKeyHex = a.key;
    stranger = b.path;
    server = createServer((request, response) => {
      const reply = (status: number, body: unknown) => {
        response.writeHead(status, { "content-type": "application/json" });
        response.end(JSON.stringify(body));
      };
      if (request.method === "GET" && request.url === `/v1/accounts/${ACCOUNT}`)
        return reply(200, { address: ACCOUNT, nextSeq: 1, definition: { owners: [a.key], label: "" } });
      if (request.method === "GET") return reply(200, { address: TO, nextSeq: 1 });
      let text = "";
      request.on("data", (d) => {
        text += d;
      });
      request.on("end", () => {
        posted.push(JSON.parse(text));
        reply(202, { proposal: "ab".repeat(32), status: "pending" });
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    node = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("an owner's proposal is posted and the node's answer returned", async () => {
    const passphraseFile = join(dir, "pass");
    const result = await proposeShared({
      account: ACCOUNT,
      to: TO,
      amount: "7",
      keystore: owner,
      unlock: { passphraseFile },
      node,
      issuedAtMs: 1_700_000_000_000,
    });
    assert.deepEqual(result, { proposal: "ab".repeat(32), status: "pending" });
    assert.equal(posted.length, 1);
    const body = posted[0] as { to: string; amount: string; issuedAtMs: number; signature: string };
    assert.deepEqual(
      { ...body, signature: undefined },
      { to: TO, amount: "7", issuedAtMs: 1_700_000_000_000, signature: undefined },
    );
    const intent = { account: ACCOUNT, to: TO, amount: 7n, issuedAtMs: body.issuedAtMs };
    assert.ok(
      intentSignatureValid(sodiumVerifier, fromHex(ownerKeyHex, 32, "key"), intent, body.signature),
      "the owner's key signed the intent",
    );
  });

  it("the keystore must open: a wrong passphrase signs nothing and posts nothing", async () => {
    await assert.rejects(
      proposeShared({
        account: ACCOUNT,
        to: TO,
        amount: "7",
        keystore: owner,
        unlock: { passphrase: "no" },
        node,
      }),
      (e: unknown) => isTallyError(e) && e.code === "WALLET_WRONG_PASSPHRASE",
    );
    assert.equal(posted.length, 1);
  });

  it("a key that is not an owner is refused before anything is posted", async () => {
    await assert.rejects(
      proposeShared({
        account: ACCOUNT,
        to: TO,
        amount: "7",
        keystore: stranger,
        unlock: { passphrase: "pw" },
        node,
      }),
      (e: unknown) =>
        isTallyError(e) && e.code === "SHARED_NOT_OWNER" && /is not an owner of/.test(e.message),
    );
    assert.equal(posted.length, 1);
  });

  it("a node that hosts no owner of the account says so", async () => {
    await assert.rejects(
      proposeShared({
        account: TO,
        to: ACCOUNT,
        amount: "7",
        keystore: owner,
        unlock: { passphrase: "pw" },
        node,
      }),
      (e: unknown) => e instanceof NodeRequestError && e.code === "SHARED_NOT_HOSTED",
    );
  });

  it("a memo is posted and signed with the payment; one longer than a transfer holds is refused first", async () => {
    const passphraseFile = join(dir, "pass");
    const propose = (memo: string) =>
      proposeShared({
        account: ACCOUNT,
        to: TO,
        amount: "7",
        memo,
        keystore: owner,
        unlock: { passphraseFile },
        node,
      });
    await propose("rent, december");
    const body = posted.at(-1) as { memo: string; issuedAtMs: number; signature: string };
    assert.equal(body.memo, "rent, december");
    const intent = { account: ACCOUNT, to: TO, amount: 7n, issuedAtMs: body.issuedAtMs };
    const key = fromHex(ownerKeyHex, 32, "key");
    assert.ok(
      intentSignatureValid(sodiumVerifier, key, { ...intent, memo: "rent, december" }, body.signature),
    );
    assert.ok(!intentSignatureValid(sodiumVerifier, key, intent, body.signature), "the memo is signed");
    const before = posted.length;
    await assert.rejects(propose("é".repeat(65)), /--memo is at most 128 bytes of UTF-8/);
    assert.equal(posted.length, before, "nothing posted");
  });
});
