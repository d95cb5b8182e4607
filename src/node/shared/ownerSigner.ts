import sodium from "sodium-native";

/** An owner's ed25519 key held for signing (libsodium: the committee signs every vote it casts). */
export interface OwnerSigner {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** From a keystore's 32-byte secret (the ed25519 seed). */
export function ownerSigner(seed: Uint8Array): OwnerSigner {
  const publicKey = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES);
  const secretKey = sodium.sodium_malloc(sodium.crypto_sign_SECRETKEYBYTES);
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, Buffer.from(seed));
  return {
    publicKey: new Uint8Array(publicKey),
    sign(message) {
      const signature = Buffer.alloc(sodium.crypto_sign_BYTES);
      sodium.crypto_sign_detached(signature, Buffer.from(message), secretKey);
      return new Uint8Array(signature);
    },
  };
}
