import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { AddressVersion, encodeAddress } from "../core/address.ts";
import { fromHex, toHex } from "../core/bytes.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { generateSecretKey, publicKeyOf } from "../crypto/ed25519Noble.ts";

/**
 * A keystore file holds one ed25519 key and what the wallet has signed with it. Remembering the
 * last signed seq is what keeps a wallet from ever signing two different transfers for one seq
 * (a double spend that would burn the seq); only an explicit `--seq` overrides it.
 * Unencrypted for now (mode 0600); encrypted keystores are on the roadmap.
 */
export interface Keystore {
  readonly version: 1;
  readonly address: string;
  readonly secretKey: Uint8Array;
  /** Highest seq this wallet has signed, 0 if none. */
  readonly lastSignedSeq: number;
  /** Id of the transfer signed at lastSignedSeq, so re-signing it identically stays allowed. */
  readonly lastSignedId?: string | undefined;
}

interface KeystoreFile {
  version: 1;
  address: string;
  secretKey: string;
  lastSignedSeq: number;
  lastSignedId?: string;
}

function keystoreError(message: string): TallyError {
  return new TallyError(ErrorCode.InvalidField, message);
}

export function newKeystore(secretKey: Uint8Array = generateSecretKey()): Keystore {
  return {
    version: 1,
    address: encodeAddress(AddressVersion.Ed25519, publicKeyOf(secretKey)),
    secretKey,
    lastSignedSeq: 0,
  };
}

export async function readKeystore(path: string): Promise<Keystore> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw keystoreError(
      `cannot read keystore ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  let json: KeystoreFile;
  try {
    json = JSON.parse(text) as KeystoreFile;
  } catch {
    throw keystoreError(`keystore ${path} is not JSON`);
  }
  if (json?.version !== 1 || typeof json.secretKey !== "string") {
    throw keystoreError(`keystore ${path} is not a version-1 Tally keystore`);
  }
  const secretKey = fromHex(json.secretKey, 32, "keystore secretKey");
  const keystore = newKeystore(secretKey);
  if (keystore.address !== json.address) {
    throw keystoreError(`keystore ${path}: address does not match its key`);
  }
  const lastSignedSeq =
    Number.isSafeInteger(json.lastSignedSeq) && json.lastSignedSeq >= 0 ? json.lastSignedSeq : 0;
  return { ...keystore, lastSignedSeq, lastSignedId: json.lastSignedId };
}

/**
 * Durable, atomic replace: write a private temp file, fsync, rename over the target. A crash
 * leaves either the old or the new keystore, never a torn one.
 */
export async function writeKeystore(
  path: string,
  keystore: Keystore,
  options: { create?: boolean } = {},
): Promise<void> {
  if (options.create) {
    const exists = await stat(path).then(
      () => true,
      () => false,
    );
    if (exists) throw keystoreError(`keystore ${path} already exists; refusing to overwrite a key`);
  }
  await mkdir(dirname(path), { recursive: true });
  const body: KeystoreFile = {
    version: 1,
    address: keystore.address,
    secretKey: toHex(keystore.secretKey),
    lastSignedSeq: keystore.lastSignedSeq,
  };
  if (keystore.lastSignedId !== undefined) body.lastSignedId = keystore.lastSignedId;
  const temp = `${path}.${toHex(randomBytes(4))}.tmp`;
  const file = await open(temp, "wx", 0o600);
  try {
    await file.writeFile(`${JSON.stringify(body, null, 2)}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  await chmod(temp, 0o600);
  await rename(temp, path);
}
