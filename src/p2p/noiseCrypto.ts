import type { ICryptoInterface } from "@chainsafe/libp2p-noise";
import { defaultCrypto } from "@chainsafe/libp2p-noise/crypto";
import sodium from "sodium-native";
import type { Uint8ArrayList } from "uint8arraylist";

// The IETF ChaCha20-Poly1305 (96-bit nonce, Noise's cipher) is in sodium-native but not in its typings.
declare module "sodium-native" {
  const crypto_aead_chacha20poly1305_ietf_ABYTES: number;
  function crypto_aead_chacha20poly1305_ietf_encrypt(
    c: Uint8Array,
    m: Uint8Array,
    ad: Uint8Array | null,
    nsec: null,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
  function crypto_aead_chacha20poly1305_ietf_decrypt(
    m: Uint8Array,
    nsec: null,
    c: Uint8Array,
    ad: Uint8Array | null,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
}

const TAG_BYTES = sodium.crypto_aead_chacha20poly1305_ietf_ABYTES;

/**
 * Noise's crypto with ChaCha20-Poly1305 from libsodium: one native call per frame. The package's default
 * builds a node:crypto Cipheriv object (key import, stream state, a concat of three buffers) for every frame
 * of 1,200 bytes or more and runs WebAssembly below that; a loaded node encrypts and decrypts hundreds of
 * frames a second. Key exchange and hashing stay the package's own.
 */
export const sodiumNoiseCrypto: ICryptoInterface = {
  ...defaultCrypto,

  chaCha20Poly1305Encrypt(plaintext, nonce, ad, k) {
    const m = contiguous(plaintext);
    const c = Buffer.allocUnsafe(m.byteLength + TAG_BYTES);
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(c, m, ad, null, nonce, k);
    return c;
  },

  chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst) {
    const c = contiguous(ciphertext);
    if (c.byteLength < TAG_BYTES) throw new Error("Invalid chacha20poly1305 decryption");
    const length = c.byteLength - TAG_BYTES;
    // Noise hands the ciphertext's own bytes as `dst` (decrypting in place); libsodium allows m == c.
    const m = dst !== undefined && dst.byteLength === length ? dst : Buffer.allocUnsafe(length);
    try {
      sodium.crypto_aead_chacha20poly1305_ietf_decrypt(m, null, c, ad, nonce, k);
    } catch {
      throw new Error("Invalid chacha20poly1305 decryption");
    }
    return m;
  },
};

function contiguous(data: Uint8Array | Uint8ArrayList): Uint8Array {
  return data instanceof Uint8Array ? data : data.subarray();
}
