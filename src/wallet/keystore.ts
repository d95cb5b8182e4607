import { AddressVersion, encodeAddress } from "../core/address.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { NETWORK_ID_RE } from "../core/limits.ts";
import { generateSecretKey, publicKeyOf } from "../crypto/ed25519Noble.ts";
import {
  DEFAULT_SCRYPT,
  openSecret,
  type ScryptParams,
  type SealedSecret,
  sealSecret,
} from "./keystoreCrypto.ts";
import { readPassphraseFile } from "./passphrase.ts";
import { readPrivateFile, writePrivateFile } from "./privateFile.ts";

/**
 * A keystore file holds one ed25519 key, encrypted (see keystoreCrypto.ts), the network it signs for, and
 * what the wallet has signed with it. Remembering the last signed seq is what keeps a wallet from ever
 * signing two different transfers for one seq (a double spend that would burn the seq); only an explicit
 * `--seq` overrides it. Format (version 2, docs/wallet.md):
 *
 *   {version: 2, address, network, crypto: SealedSecret, lastSignedSeq, lastSignedId?}
 */
export interface Keystore {
  readonly address: string;
  readonly secretKey: Uint8Array;
  /** The network this key signs for, pinned at creation; the wallet refuses any other whatever a node says. */
  readonly network?: string | undefined;
  /** Highest seq this wallet has signed and not seen definitively refused, 0 if none. */
  readonly lastSignedSeq: number;
  /** Id of the transfer signed at lastSignedSeq, so re-signing it identically stays allowed. */
  readonly lastSignedId?: string | undefined;
  /** The encrypted key as stored; carried so that recording a seq never needs the passphrase again. */
  readonly sealed?: SealedSecret | undefined;
}

/** What opens a keystore: the passphrase itself, or a file holding it (mode 0600). */
export type Unlock = { readonly passphrase: string } | { readonly passphraseFile: string };

/** What can be read without the passphrase: enough for `address`, `balance` and `history`. */
export interface KeystoreInfo {
  readonly version: 1 | 2;
  readonly address: string;
  readonly network?: string | undefined;
  readonly lastSignedSeq: number;
  readonly lastSignedId?: string | undefined;
}

export const KEYSTORE_VERSION = 2;
/** A keystore is a few hundred bytes; anything far larger is not one. */
const MAX_KEYSTORE_BYTES = 64 * 1024;

interface KeystoreFileV2 {
  version: 2;
  address: string;
  network: string;
  crypto: SealedSecret;
  lastSignedSeq: number;
  lastSignedId?: string;
}

function invalid(message: string): TallyError {
  return new TallyError(ErrorCode.WalletKeystoreInvalid, message);
}

export function addressOfSecretKey(secretKey: Uint8Array): string {
  return encodeAddress(AddressVersion.Ed25519, publicKeyOf(secretKey));
}

/** A key in memory (tests, `wallet new` before sealing); `network` pins it once known. */
export function newKeystore(secretKey: Uint8Array = generateSecretKey(), network?: string): Keystore {
  return { address: addressOfSecretKey(secretKey), secretKey, network, lastSignedSeq: 0 };
}

export function checkNetworkId(network: string): string {
  if (!NETWORK_ID_RE.test(network)) throw invalid(`network id "${network}" is not a valid network name`);
  return network;
}

/** Binds the header into GCM's tag: a file whose address or network pin was edited no longer opens. */
function headerAad(address: string, network: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ version: KEYSTORE_VERSION, address, network }));
}

/** Encrypts the key under `passphrase`; the result can be written with `writeKeystore`. */
export async function sealKeystore(
  keystore: Keystore,
  passphrase: string,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<Keystore> {
  if (keystore.network === undefined) throw invalid("a keystore must pin its network before it is written");
  if (passphrase === "") throw invalid("the passphrase must not be empty");
  const sealed = await sealSecret(
    keystore.secretKey,
    passphrase,
    headerAad(keystore.address, keystore.network),
    params,
  );
  return { ...keystore, sealed };
}

async function readKeystoreJson(path: string): Promise<Record<string, unknown>> {
  const text = (await readPrivateFile(path, "keystore", MAX_KEYSTORE_BYTES)).toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid(`keystore ${path} is not JSON`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw invalid(`keystore ${path} is not a Tally keystore`);
  }
  return json as Record<string, unknown>;
}

function seqFields(json: Record<string, unknown>) {
  const seq = json.lastSignedSeq;
  const lastSignedSeq = typeof seq === "number" && Number.isSafeInteger(seq) && seq >= 0 ? seq : 0;
  const lastSignedId = typeof json.lastSignedId === "string" ? json.lastSignedId : undefined;
  return { lastSignedSeq, lastSignedId };
}

/** The public part of a keystore (either version), without the passphrase. */
export async function readKeystoreInfo(path: string): Promise<KeystoreInfo> {
  const json = await readKeystoreJson(path);
  if ((json.version !== 1 && json.version !== 2) || typeof json.address !== "string") {
    throw invalid(`keystore ${path} is not a version-1 or version-2 Tally keystore`);
  }
  const network = typeof json.network === "string" ? json.network : undefined;
  return { version: json.version, address: json.address, network, ...seqFields(json) };
}

/**
 * Reads and decrypts a version-2 keystore. A version-1 (plaintext) keystore is refused with the command
 * that moves its key into an encrypted one: it pins no network, and its key lies on disk in the clear.
 */
export async function readKeystore(path: string, unlock: Unlock): Promise<Keystore> {
  const json = await readKeystoreJson(path);
  if (json.version === 1) {
    throw invalid(
      `keystore ${path} is an unencrypted version-1 keystore; move its key into an encrypted one with: tally wallet import --key-file ${path} --keystore NEW.json`,
    );
  }
  if (
    json.version !== KEYSTORE_VERSION ||
    typeof json.address !== "string" ||
    typeof json.network !== "string"
  ) {
    throw invalid(`keystore ${path} is not a version-2 Tally keystore`);
  }
  const network = checkNetworkId(json.network);
  const sealed = json.crypto as SealedSecret;
  if (typeof sealed !== "object" || sealed === null) throw invalid(`keystore ${path} has no crypto section`);
  const passphrase =
    "passphrase" in unlock ? unlock.passphrase : await readPassphraseFile(unlock.passphraseFile);
  const secretKey = await openSecret(sealed, passphrase, headerAad(json.address, network));
  if (addressOfSecretKey(secretKey) !== json.address) {
    throw invalid(`keystore ${path}: address does not match its key`);
  }
  return { address: json.address, secretKey, network, sealed, ...seqFields(json) };
}

/** Writes a sealed keystore (0600, atomic); with `create`, never over an existing file. */
export async function writeKeystore(
  path: string,
  keystore: Keystore,
  options: { create?: boolean } = {},
): Promise<void> {
  if (keystore.sealed === undefined || keystore.network === undefined) {
    throw invalid("only an encrypted keystore with a pinned network is written (seal it first)");
  }
  const body: KeystoreFileV2 = {
    version: KEYSTORE_VERSION,
    address: keystore.address,
    network: keystore.network,
    crypto: keystore.sealed,
    lastSignedSeq: keystore.lastSignedSeq,
  };
  if (keystore.lastSignedId !== undefined) body.lastSignedId = keystore.lastSignedId;
  await writePrivateFile(path, `${JSON.stringify(body, null, 2)}\n`, "keystore", options);
}
