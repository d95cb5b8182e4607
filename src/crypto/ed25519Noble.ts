import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import {
  ED25519_SIGNATURE_BYTES,
  PUBLIC_KEY_BYTES,
  SECRET_KEY_BYTES,
  type SignatureVerifier,
} from "./signatureVerifier.ts";

// noble's synchronous API needs a SHA-512; @noble/hashes keeps it portable (browser and Node).
ed.hashes.sha512 = sha512;

/** Group order ℓ = 2^252 + 27742317777372353535851937790883648493. */
const L = 0x1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3edn;
const P = 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffedn;

/**
 * Encodings (sign bit ignored) of points of small order, as libsodium lists them: 0 (order 4),
 * 1 (order 1), the two order-8 y-coordinates, p−1 (order 2), and the non-canonical p and p+1.
 */
const SMALL_ORDER_ENCODINGS: readonly Uint8Array[] = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
].map((hex) => Uint8Array.from(Buffer.from(hex, "hex")));

export function hasSmallOrderEncoding(encoding: Uint8Array): boolean {
  return SMALL_ORDER_ENCODINGS.some((bad) => {
    for (let i = 0; i < 31; i++) if (encoding[i] !== bad[i]) return false;
    return (encoding[31]! & 0x7f) === bad[31];
  });
}

function littleEndianToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/** y < p, ignoring the sign bit: the one encoding of each field element. */
function isCanonicalPointEncoding(encoding: Uint8Array): boolean {
  const copy = Uint8Array.from(encoding);
  copy[31]! &= 0x7f;
  return littleEndianToBigInt(copy) < P;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Strict ed25519 verification in portable JavaScript, rule for rule the same as libsodium's
 * `crypto_sign_verify_detached`:
 *  1. S < ℓ;
 *  2. A is a canonical encoding of a curve point that is not of small order;
 *  3. R is not the encoding of a small-order point;
 *  4. accept iff encode([S]B − [k]A) equals R byte for byte, with k = SHA-512(R ‖ A ‖ M) mod ℓ
 *     (the cofactorless equation; a non-canonical or off-curve R can never match).
 */
export const nobleVerifier: SignatureVerifier = {
  name: "noble-strict",
  verify(signature, message, publicKey) {
    if (signature.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return false;
    const r = signature.subarray(0, 32);
    const s = littleEndianToBigInt(signature.subarray(32, 64));
    if (s >= L) return false;
    if (!isCanonicalPointEncoding(publicKey) || hasSmallOrderEncoding(publicKey)) return false;
    if (hasSmallOrderEncoding(r)) return false;
    let A: ed.Point;
    try {
      A = ed.Point.fromBytes(publicKey, false);
    } catch {
      return false;
    }
    const k = littleEndianToBigInt(sha512(ed.etc.concatBytes(r, publicKey, message))) % L;
    const expectedR = ed.Point.BASE.multiply(s, false).subtract(A.multiply(k, false));
    return bytesEqual(expectedR.toBytes(), r);
  },
};

export function generateSecretKey(): Uint8Array {
  return ed.utils.randomSecretKey();
}

export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== SECRET_KEY_BYTES)
    throw new RangeError(`secret key must be ${SECRET_KEY_BYTES} bytes`);
  return ed.getPublicKey(secretKey);
}

/** RFC 8032 deterministic signing; the output passes both verifiers. */
export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed.sign(message, secretKey);
}
