import sodium from "sodium-native";
import { ED25519_SIGNATURE_BYTES, PUBLIC_KEY_BYTES, type SignatureVerifier } from "./signatureVerifier.ts";

/**
 * libsodium's verifier (≈25× faster than pure JS here). Its checks are the strict rules of
 * docs/signatures.md; sodium-native throws on wrong lengths, so those are rejected first.
 */
export const sodiumVerifier: SignatureVerifier = {
  name: "libsodium",
  verify(signature, message, publicKey) {
    if (signature.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return false;
    return sodium.crypto_sign_verify_detached(asBuffer(signature), asBuffer(message), asBuffer(publicKey));
  },
};

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
