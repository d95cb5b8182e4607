import { SIGNATURE_BYTES } from "../core/limits.ts";
import type { OwnerIndex } from "./committeeTypes.ts";

/** The first thing wrong with a certificate's signer list, for the caller to word as its own error. */
export type SignerFault =
  | { readonly kind: "unpaired" }
  | { readonly kind: "notOwner"; readonly signer: number }
  | { readonly kind: "notAscending" }
  | { readonly kind: "signatureLength" };

/**
 * The shape every signer list must have: owner indices below `k`, strictly ascending (so each owner counts
 * once and there is one spelling per set); given `signatures`, exactly one per signer, each SIGNATURE_BYTES.
 * Checks run signer by signer in that order, so every caller refuses the same list for the same reason.
 * Whether there are enough signers, and whether they verify, is the caller's to check.
 */
export function signerFault(
  signers: readonly OwnerIndex[],
  k: number,
  signatures?: readonly Uint8Array[],
): SignerFault | undefined {
  if (signatures !== undefined && signers.length !== signatures.length) return { kind: "unpaired" };
  for (let i = 0; i < signers.length; i++) {
    const signer = signers[i]!;
    if (!Number.isInteger(signer) || signer < 0 || signer >= k) return { kind: "notOwner", signer };
    if (i > 0 && signer <= signers[i - 1]!) return { kind: "notAscending" };
    if (signatures !== undefined && signatures[i]!.length !== SIGNATURE_BYTES)
      return { kind: "signatureLength" };
  }
  return undefined;
}
