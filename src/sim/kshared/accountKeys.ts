import { sha256 } from "@noble/hashes/sha2.js";
import sodium from "sodium-native";
import { compareBytes } from "../../core/bytes.ts";
import type { RandomSource } from "../../core/random.ts";

/** One simulated owner's ed25519 key pair (libsodium), so every signature in the run is real. */
export interface SimOwnerKey {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** k key pairs from `random`, in canonical order (ascending public key), and the account id they name. */
export function simAccountKeys(
  k: number,
  random: RandomSource,
): { readonly id: Uint8Array; readonly keys: SimOwnerKey[] } {
  const keys = Array.from({ length: k }, () => {
    const seed = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) seed[i] = Math.floor(random() * 256);
    const publicKey = Buffer.alloc(32);
    const secretKey = Buffer.alloc(64);
    sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed);
    return {
      publicKey: new Uint8Array(publicKey),
      sign(message: Uint8Array): Uint8Array {
        const signature = Buffer.alloc(64);
        sodium.crypto_sign_detached(signature, Buffer.from(message), secretKey);
        return new Uint8Array(signature);
      },
    };
  }).sort((a, b) => compareBytes(a.publicKey, b.publicKey));
  // A stand-in for the definition's id: 32 bytes bound to the owners, as the real one is.
  const id = sha256(Buffer.concat(keys.map((key) => key.publicKey)));
  return { id, keys };
}
