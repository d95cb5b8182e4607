import { createCipheriv, createDecipheriv, randomBytes, scrypt } from "node:crypto";
import { fromHex, toHex } from "../core/bytes.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";

/**
 * The encrypted secret key of a keystore: scrypt turns the passphrase into a 256-bit key, AES-256-GCM
 * encrypts the 32-byte ed25519 seed with it. GCM authenticates `aad` too (the keystore's version, address,
 * network and KDF parameters), so a file whose network pin or parameters were edited does not open.
 */
export interface SealedSecret {
  readonly kdf: "scrypt";
  readonly kdfParams: ScryptParams & { readonly salt: string };
  readonly cipher: "aes-256-gcm";
  readonly nonce: string;
  readonly ciphertext: string;
  readonly tag: string;
}

export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** 2^17 · 8 · 128 B = 128 MiB and ≈ 0.25 s per unlock on a laptop core: the cost a guessed passphrase pays. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };
/**
 * Devnet keystores lie next to their passphrase file, so a slow KDF protects nothing there; 2^14 (16 MiB,
 * ≈ 30 ms) keeps `devnet up` and every scripted `wallet send` fast. Also the lowest cost a keystore may claim.
 */
export const DEVNET_SCRYPT: ScryptParams = { N: 2 ** 14, r: 8, p: 1 };

/** Bounds on what a keystore file may ask for: a hostile file must not make unlocking take gigabytes. */
const MIN_LOG2_N = 14;
const MAX_LOG2_N = 20;
const MAX_R = 16;
const MAX_P = 4;
const SALT_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

function invalid(message: string): TallyError {
  return new TallyError(ErrorCode.WalletKeystoreInvalid, message);
}

export function checkScryptParams(params: ScryptParams): void {
  const { N, r, p } = params;
  const log2N = Math.log2(N);
  if (!Number.isInteger(log2N) || log2N < MIN_LOG2_N || log2N > MAX_LOG2_N) {
    throw invalid(`scrypt N must be a power of two between 2^${MIN_LOG2_N} and 2^${MAX_LOG2_N}`);
  }
  if (!Number.isInteger(r) || r < 1 || r > MAX_R) throw invalid(`scrypt r must be 1..${MAX_R}`);
  if (!Number.isInteger(p) || p < 1 || p > MAX_P) throw invalid(`scrypt p must be 1..${MAX_P}`);
}

function deriveKey(passphrase: string, salt: Uint8Array, params: ScryptParams): Promise<Buffer> {
  checkScryptParams(params);
  const maxmem = 128 * params.N * params.r * params.p + 64 * 1024 * 1024;
  return new Promise((resolve, reject) =>
    scrypt(passphrase.normalize("NFC"), salt, KEY_BYTES, { ...params, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

export async function sealSecret(
  secretKey: Uint8Array,
  passphrase: string,
  aad: Uint8Array,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<SealedSecret> {
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const key = await deriveKey(passphrase, salt, params);
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(secretKey), cipher.final()]);
  return {
    kdf: "scrypt",
    kdfParams: { N: params.N, r: params.r, p: params.p, salt: toHex(salt) },
    cipher: "aes-256-gcm",
    nonce: toHex(nonce),
    ciphertext: toHex(ciphertext),
    tag: toHex(cipher.getAuthTag()),
  };
}

/** The secret key, or WALLET_WRONG_PASSPHRASE when GCM's tag does not verify. */
export async function openSecret(
  sealed: SealedSecret,
  passphrase: string,
  aad: Uint8Array,
): Promise<Uint8Array> {
  if (sealed.kdf !== "scrypt" || sealed.cipher !== "aes-256-gcm") {
    throw invalid(`unsupported keystore crypto ${String(sealed.kdf)}/${String(sealed.cipher)}`);
  }
  const { N, r, p, salt } = sealed.kdfParams ?? {};
  const params = { N: Number(N), r: Number(r), p: Number(p) };
  const key = await deriveKey(passphrase, fromHexField(salt, SALT_BYTES, "salt"), params);
  const decipher = createDecipheriv("aes-256-gcm", key, fromHexField(sealed.nonce, NONCE_BYTES, "nonce"), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(aad);
  decipher.setAuthTag(fromHexField(sealed.tag, TAG_BYTES, "tag"));
  try {
    return new Uint8Array(
      Buffer.concat([
        decipher.update(fromHexField(sealed.ciphertext, KEY_BYTES, "ciphertext")),
        decipher.final(),
      ]),
    );
  } catch {
    throw new TallyError(
      ErrorCode.WalletWrongPassphrase,
      "wrong passphrase (or the keystore file was modified)",
    );
  }
}

function fromHexField(value: unknown, bytes: number, name: string): Uint8Array {
  if (typeof value !== "string") throw invalid(`keystore ${name} must be a hex string`);
  try {
    return fromHex(value, bytes, name);
  } catch {
    throw invalid(`keystore ${name} must be ${bytes} bytes of hex`);
  }
}
