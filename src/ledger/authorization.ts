import { AddressVersion } from "../core/address.ts";
import { BoundedCache } from "../core/boundedCache.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { type EncodedTransfer, sourceBytesOf } from "../core/transfer.ts";
import type { SignatureVerifier } from "../crypto/signatureVerifier.ts";
import { checkSharedAuthorizationShape, verifySharedSignatures } from "./sharedAuthorization.ts";

/**
 * The ledger's one pluggable "may the source spend?" step: a single ed25519 key's signature, or a
 * shared account's commit certificate signed by a quorum of its owners.
 */
export interface Authorizer {
  /**
   * Throws a TallyError (BAD_SIGNATURE, SHARED_DEFINITION_MISMATCH, SHARED_INVALID_CERTIFICATE) unless
   * the source authorized the transfer.
   */
  authorize(encoded: EncodedTransfer): void;
}

export interface SignatureAuthorizerOptions {
  /**
   * Verified (id, signature) pairs (and (id, shared authorization) pairs) remembered so a transfer seen by the API, the broadcast and the
   * ledger is verified once (docs/architecture.md, "Decisions"). 64k entries ≈ 10 MiB.
   */
  cacheEntries?: number;
}

export class SignatureAuthorizer implements Authorizer {
  private readonly verifier: SignatureVerifier;
  private readonly cacheEntries: number;
  // Keyed by id AND signature: the id hashes only the body, and a valid signature must not vouch
  // for a forged one over the same body.
  private readonly verified: BoundedCache<string, true>;

  constructor(verifier: SignatureVerifier, options: SignatureAuthorizerOptions = {}) {
    this.verifier = verifier;
    this.cacheEntries = options.cacheEntries ?? 65_536;
    this.verified = new BoundedCache(this.cacheEntries);
  }

  authorize(encoded: EncodedTransfer): void {
    const source = sourceBytesOf(encoded);
    const version = source[0];
    const sourceKey = source.subarray(1);
    if (version === AddressVersion.SharedAccount) {
      const key = checkSharedAuthorizationShape(encoded, sourceKey);
      if (this.verified.has(key)) return;
      verifySharedSignatures(encoded, sourceKey, this.verifier);
      this.remember(key);
      return;
    }
    if (version !== AddressVersion.Ed25519) {
      throw new TallyError(ErrorCode.UnsupportedAuthorization, `unknown source address version ${version}`);
    }
    // The signature's bytes as latin1 characters: one per byte, half the length of hex (the shared form's key,
    // `id:shared:` and 64 hex, is longer, so the two never collide).
    const key = `${encoded.id}:${latin1(encoded.transfer.signature)}`;
    if (this.verified.has(key)) return;
    if (!this.verifier.verify(encoded.transfer.signature, encoded.body, sourceKey)) {
      throw new TallyError(ErrorCode.BadSignature, "signature does not verify against the source key", {
        id: encoded.id,
      });
    }
    this.remember(key);
  }

  private remember(key: string): void {
    this.verified.set(key, true);
  }
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}
