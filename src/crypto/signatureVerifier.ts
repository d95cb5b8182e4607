/**
 * One interface, two implementations (portable noble for wallets and browsers, libsodium for the
 * node's hot path). Both implement the same strict rule set, documented in docs/signatures.md;
 * a divergence between them would let nodes disagree on a transfer, so tests pin them together.
 */
export interface SignatureVerifier {
  readonly name: string;
  /** True iff `signature` is a valid strict-ed25519 signature of `message` by `publicKey`. Never throws. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

export const PUBLIC_KEY_BYTES = 32;
export const SECRET_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
