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
    // sodium-native checks only ArrayBuffer.isView and reads the view's offset and length: its typings ask for
    // Buffer, but wrapping each argument would cost three allocations per verification.
    return sodium.crypto_sign_verify_detached(signature as Buffer, message as Buffer, publicKey as Buffer);
  },
};
