import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { toHex } from "../../src/core/bytes.ts";
import type { TallyNode } from "../../src/node/tallyNode.ts";
import { newKeystore } from "../../src/wallet/keystore.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import { MAIN_TS } from "../support/devnetProcess.ts";
import { type OneNodeNetwork, startOneNodeNetwork } from "../support/oneNodeNetwork.ts";

const NETWORK = "tally-wallet-cli";
const exec = promisify(execFile);

/** Runs `tally ARGS --json`; resolves with the exit code and the parsed stdout or stderr line. */
async function tally(
  ...args: string[]
): Promise<{ code: number; out: Record<string, unknown>; err: string }> {
  try {
    const { stdout } = await exec(process.execPath, [MAIN_TS, ...args, "--json"], { timeout: 60_000 });
    return { code: 0, out: JSON.parse(stdout) as Record<string, unknown>, err: "" };
  } catch (e) {
    const { code, stderr } = e as { code: number; stderr: string };
    return { code, out: {}, err: stderr };
  }
}

/** The wallet CLI against a real one-node network (N = 1) on loopback. */
describe("tally wallet against a running node", { timeout: 180_000 }, () => {
  let net: OneNodeNetwork;
  let dir: string;
  let node: TallyNode;
  let url: string;
  let keystore: string;
  let pass: string;
  const key = newKeystore();
  const payee = newKeystore().address;

  before(async () => {
    net = await startOneNodeNetwork(NETWORK, [{ address: key.address, amount: "1000" }]);
    node = net.node;
    dir = net.dir;
    url = node.apiUrl;
    keystore = join(dir, "wallet.json");
    pass = join(dir, "wallet.passphrase");
    await writeFile(pass, "a passphrase for scripts\n", { mode: 0o600 });
  });
  after(async () => {
    await net?.stop();
  });

  /** `tally wallet send PAYEE 1` through the node, from the test's keystore unless told otherwise. */
  const sendOne = (from: { keystore?: string; passphraseFile?: string }, ...extra: string[]) =>
    tally(
      ...["wallet", "send", payee, "1", "--keystore", from.keystore ?? keystore],
      ...["--passphrase-file", from.passphraseFile ?? pass, "--node", url, ...extra],
    );

  it("imports a secret key into an encrypted keystore pinned to the node's network", async () => {
    const keyFile = join(dir, "key.hex");
    await writeFile(keyFile, `${toHex(key.secretKey)}\n`, { mode: 0o600 });
    const r = await tally(
      "wallet",
      "import",
      "--key-file",
      keyFile,
      "--keystore",
      keystore,
      "--passphrase-file",
      pass,
      "--node",
      url,
    );
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out, { address: key.address, network: NETWORK, keystore, lastSignedSeq: 0 });
    const balance = await tally("wallet", "balance", "--keystore", keystore, "--node", url);
    assert.equal(balance.out.balance, "1000");
  });

  it("a send over the balance is refused before signing, and the next send goes through at once", async () => {
    const over = await tally(
      "wallet",
      "send",
      payee,
      "5000",
      "--keystore",
      keystore,
      "--passphrase-file",
      pass,
      "--node",
      url,
    );
    assert.equal(over.code, 1);
    assert.equal(JSON.parse(over.err).code, "INSUFFICIENT_FUNDS");
    assert.equal(over.err.trim().split("\n").length, 1, "the error is one line");
    const started = Date.now();
    const ok = await tally(
      "wallet",
      "send",
      payee,
      "10",
      "--keystore",
      keystore,
      "--passphrase-file",
      pass,
      "--node",
      url,
    );
    assert.equal(ok.code, 0, ok.err);
    assert.equal(ok.out.status, "applied");
    assert.ok(Date.now() - started < 20_000);
    assert.equal((await new NodeClient(url).account(payee)).balance, "10");
  });

  it("--confirm-node asks every confirming node first: one that cannot answer stops the send unsigned", async () => {
    const seqOf = async () =>
      (JSON.parse(await readFile(keystore, "utf8")) as { lastSignedSeq: number }).lastSignedSeq;
    const before = await seqOf();
    const send = (...extra: string[]) => sendOne({}, ...extra);
    const unreachable = await send("--confirm-node", "http://127.0.0.1:9");
    assert.equal(unreachable.code, 1);
    assert.match(JSON.parse(unreachable.err).message, /127\.0\.0\.1:9/);
    assert.equal(await seqOf(), before, "nothing was signed");
    const confirmed = await send("--confirm-node", url);
    assert.equal(confirmed.code, 0, confirmed.err);
    assert.equal(confirmed.out.status, "applied");
    assert.equal(await seqOf(), before + 1);
  });

  it("a wrong passphrase is a clear one-line error", async () => {
    const wrong = join(dir, "wrong.passphrase");
    await writeFile(wrong, "not it\n", { mode: 0o600 });
    const r = await sendOne({ passphraseFile: wrong });
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.err).code, "WALLET_WRONG_PASSPHRASE");
  });

  it("exports the secret key only with --show-secret", async () => {
    const refused = await tally("wallet", "export", "--keystore", keystore, "--passphrase-file", pass);
    assert.equal(refused.code, 2);
    assert.match(JSON.parse(refused.err).message, /--show-secret/);
    const shown = await tally(
      "wallet",
      "export",
      "--keystore",
      keystore,
      "--passphrase-file",
      pass,
      "--show-secret",
    );
    assert.equal(shown.code, 0, shown.err);
    assert.equal(shown.out.secretKey, toHex(key.secretKey));
  });

  it("a wallet pinned to another network refuses to sign through this node", async () => {
    const other = join(dir, "other.json");
    const created = await tally(
      "wallet",
      "new",
      "--keystore",
      other,
      "--network",
      "other-net",
      "--passphrase-file",
      pass,
    );
    assert.equal(created.code, 0, created.err);
    const r = await sendOne({ keystore: other });
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.err).code, "WALLET_NETWORK_MISMATCH");
  });
});
