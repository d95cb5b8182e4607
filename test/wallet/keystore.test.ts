import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { toHex } from "../../src/core/bytes.ts";
import { isTallyError } from "../../src/core/errors.ts";
import {
  newKeystore,
  readKeystore,
  readKeystoreInfo,
  sealKeystore,
  writeKeystore,
} from "../../src/wallet/keystore.ts";
import { DEVNET_SCRYPT } from "../../src/wallet/keystoreCrypto.ts";
import { readPassphraseFile } from "../../src/wallet/passphrase.ts";
import { parseSecretKeyText } from "../../src/wallet/secretKeyText.ts";

const NETWORK = "tally-wallet-test";

interface KeystoreJson {
  network: string;
  crypto: { ciphertext: string; tag: string; nonce: string; kdfParams: { salt: string; N: number } };
}
const PASSPHRASE = "correct horse battery staple";

describe("encrypted keystore", () => {
  let dir: string;
  let n = 0;
  const fresh = () => join(dir, `ks-${n++}.json`);
  async function created(passphrase = PASSPHRASE) {
    const path = fresh();
    const keystore = await sealKeystore(newKeystore(undefined, NETWORK), passphrase, DEVNET_SCRYPT);
    await writeKeystore(path, keystore, { create: true });
    return { path, keystore };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "tally-keystore-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("round-trips the key, the network pin and the seq record, written 0600 with no key in the clear", async () => {
    const { path, keystore } = await created();
    await writeKeystore(path, { ...keystore, lastSignedSeq: 7, lastSignedId: "ab".repeat(32) });
    const read = await readKeystore(path, { passphrase: PASSPHRASE });
    assert.equal(read.address, keystore.address);
    assert.equal(read.network, NETWORK);
    assert.deepEqual(read.secretKey, keystore.secretKey);
    assert.equal(read.lastSignedSeq, 7);
    assert.equal(read.lastSignedId, "ab".repeat(32));
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const text = await readFile(path, "utf8");
    assert.ok(!text.includes(toHex(keystore.secretKey)), "the secret key is on disk in the clear");
    const json = JSON.parse(text);
    assert.equal(json.version, 2);
    assert.equal(json.crypto.kdf, "scrypt");
    assert.equal(json.crypto.cipher, "aes-256-gcm");
    assert.deepEqual(await readKeystoreInfo(path), {
      version: 2,
      address: keystore.address,
      network: NETWORK,
      lastSignedSeq: 7,
      lastSignedId: "ab".repeat(32),
    });
  });

  it("refuses a wrong passphrase with a clear error", async () => {
    const { path } = await created();
    await assert.rejects(readKeystore(path, { passphrase: "wrong" }), (e) => {
      assert.ok(isTallyError(e, "WALLET_WRONG_PASSPHRASE"));
      assert.match((e as Error).message, /wrong passphrase/);
      return true;
    });
  });

  for (const [what, edit] of [
    ["ciphertext", (j: KeystoreJson) => flipHex(j.crypto, "ciphertext")],
    ["tag", (j: KeystoreJson) => flipHex(j.crypto, "tag")],
    ["nonce", (j: KeystoreJson) => flipHex(j.crypto, "nonce")],
    ["salt", (j: KeystoreJson) => flipHex(j.crypto.kdfParams, "salt")],
    ["network pin", (j: KeystoreJson) => (j.network = "other-net")],
  ] as const) {
    it(`does not open when its ${what} was tampered with`, async () => {
      const { path } = await created();
      const json = JSON.parse(await readFile(path, "utf8"));
      edit(json);
      await writeFile(path, JSON.stringify(json), { mode: 0o600 });
      await assert.rejects(readKeystore(path, { passphrase: PASSPHRASE }), (e) =>
        isTallyError(e, "WALLET_WRONG_PASSPHRASE"),
      );
    });
  }

  it("refuses KDF parameters that would make unlocking cost gigabytes", async () => {
    const { path } = await created();
    const json = JSON.parse(await readFile(path, "utf8"));
    json.crypto.kdfParams.N = 2 ** 24;
    await writeFile(path, JSON.stringify(json), { mode: 0o600 });
    await assert.rejects(readKeystore(path, { passphrase: PASSPHRASE }), (e) =>
      isTallyError(e, "WALLET_KEYSTORE_INVALID"),
    );
  });

  it("refuses a keystore or passphrase file that group or others can read", async () => {
    const { path } = await created();
    await chmod(path, 0o644);
    await assert.rejects(readKeystore(path, { passphrase: PASSPHRASE }), (e) => {
      assert.ok(isTallyError(e, "WALLET_KEYSTORE_INSECURE"));
      assert.match((e as Error).message, /chmod 600/);
      return true;
    });
    const passFile = join(dir, "pass-open");
    await writeFile(passFile, `${PASSPHRASE}\n`, { mode: 0o640 });
    await chmod(passFile, 0o640);
    await assert.rejects(readPassphraseFile(passFile), (e) => isTallyError(e, "WALLET_KEYSTORE_INSECURE"));
  });

  it("opens with a passphrase file (one trailing newline is not part of the passphrase)", async () => {
    const { path, keystore } = await created();
    const passFile = join(dir, "pass-ok");
    await writeFile(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    const read = await readKeystore(path, { passphraseFile: passFile });
    assert.equal(read.address, keystore.address);
  });

  it("never overwrites an existing keystore on create", async () => {
    const { path, keystore } = await created();
    const other = await sealKeystore(newKeystore(undefined, NETWORK), PASSPHRASE, DEVNET_SCRYPT);
    await assert.rejects(writeKeystore(path, other, { create: true }), /already exists/);
    assert.equal((await readKeystore(path, { passphrase: PASSPHRASE })).address, keystore.address);
  });

  it("refuses to use a version-1 plaintext keystore, naming the import command; import reads it", async () => {
    const v1 = newKeystore();
    const path = fresh();
    const legacy = {
      version: 1,
      address: v1.address,
      secretKey: toHex(v1.secretKey),
      lastSignedSeq: 3,
      lastSignedId: "cd".repeat(32),
    };
    await writeFile(path, JSON.stringify(legacy), { mode: 0o600 });
    await assert.rejects(readKeystore(path, { passphrase: PASSPHRASE }), /tally wallet import --key-file/);
    assert.equal((await readKeystoreInfo(path)).address, v1.address);
    const imported = parseSecretKeyText(JSON.stringify(legacy));
    assert.deepEqual(imported.secretKey, v1.secretKey);
    assert.equal(imported.lastSignedSeq, 3);
    assert.deepEqual(parseSecretKeyText(`${toHex(v1.secretKey)}\n`).secretKey, v1.secretKey);
    assert.throws(() => parseSecretKeyText("not a key"), /64 hex/);
  });
});

function flipHex<K extends string>(obj: Record<K, string | number>, field: K): void {
  const hex = String(obj[field]);
  const last = Number.parseInt(hex.at(-1)!, 16) ^ 1;
  obj[field] = hex.slice(0, -1) + last.toString(16);
}
