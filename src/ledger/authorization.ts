import { AddressVersion } from "../core/address.ts";
import { BoundedCache } from "../core/boundedCache.ts";
import { latin1Of, sameLatin1Bytes } from "../core/bytes.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { type EncodedTransfer, sourceBytesOf } from "../core/transfer.ts";
import type { SignatureVerifier } from "../crypto/signatureVerifier.ts";
import { checkSharedAuthorizationShape, verifySharedSignatures } from "./sharedAuthorization.ts";

/** `SignatureAuthorizerOptions.cacheEntries` unless given (why this many: there). */
const VERIFIED_CACHE_ENTRIES = 16_384;

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
   * Verified (id, signature) pairs (and (id, shared authorization) pairs) remembered so a transfer seen by the
   * API, the broadcast and the ledger is verified once (docs/architecture.md, "Decisions"), all within its few
   * seconds in flight. 16,384 entries (≈ 5 s at 3,000 transfers/s, more than the payload inspector's 10,000)
   * ≈ 1.7 MiB.
   */
  cacheEntries?: number;
}

export class SignatureAuthorizer implements Authorizer {
  private readonly verifier: SignatureVerifier;
  private readonly cacheEntries: number;
  // Id → the signature verified for it (a copy, one character per byte: one small object per entry where a
  // `Uint8Array` copy made three, all kept until evicted). The id hashes only the body, so a hit needs the same
  // signature too: a valid signature must not vouch for a forged one over the same body. Keyed by the id
  // alone, a hit costs no key string (the node asks about a transfer three or four times).
  private readonly verified: BoundedCache<string, string>;
  /** Shared accounts' certificates, by `checkSharedAuthorizationShape`'s key. */
  private readonly verifiedShared: BoundedCache<string, true>;
  private checkCount = 0;

  constructor(verifier: SignatureVerifier, options: SignatureAuthorizerOptions = {}) {
    // Every check goes through here, a shared account's quorum one per owner's signature.
    this.verifier = {
      name: verifier.name,
      verify: (signature, message, publicKey) => {
        this.checkCount++;
        return verifier.verify(signature, message, publicKey);
      },
    };
    this.cacheEntries = options.cacheEntries ?? VERIFIED_CACHE_ENTRIES;
    this.verified = new BoundedCache(this.cacheEntries);
    this.verifiedShared = new BoundedCache(this.cacheEntries);
  }

  /**
   * Signatures checked so far (answers from the table of verified ones not counted): one per transfer a node
   * takes in when all goes well, so what a flood of payloads costs the node shows here.
   */
  get checks(): number {
    return this.checkCount;
  }

  authorize(encoded: EncodedTransfer): void {
    // Verified before: the same id is the same body (source included), and the same signature bytes. Checked
    // first because finding the source key (and checking it against the decoded source) is most of a hit's cost.
    const signature = encoded.transfer.signature;
    const known = this.verified.get(encoded.id);
    if (known !== undefined && sameLatin1Bytes(known, signature)) return;
    const source = sourceBytesOf(encoded);
    const version = source[0];
    const sourceKey = source.subarray(1);
    if (version === AddressVersion.SharedAccount) {
      const key = checkSharedAuthorizationShape(encoded, sourceKey);
      if (this.verifiedShared.has(key)) return;
      verifySharedSignatures(encoded, sourceKey, this.verifier);
      this.verifiedShared.set(key, true);
      return;
    }
    if (version !== AddressVersion.Ed25519) {
      throw new TallyError(ErrorCode.UnsupportedAuthorization, `unknown source address version ${version}`);
    }
    if (!this.verifier.verify(signature, encoded.body, sourceKey)) {
      throw new TallyError(ErrorCode.BadSignature, "signature does not verify against the source key", {
        id: encoded.id,
      });
    }
    // A copy: the signature may be a view into a peer's whole frame.
    this.verified.set(encoded.id, latin1Of(signature));
  }
}
