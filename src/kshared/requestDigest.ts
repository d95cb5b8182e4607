/**
 * What a committee orders is a request, named by its digest, and the digest binds the requesting owner:
 * sha256(tag ‖ owner u8 ‖ sha256(proposal)). Two owners asking for identical bytes (the same payment at the
 * same seq) therefore make two requests, and whoever decides one knows whose it was from the decided digest
 * itself, which every certificate signs. Before, the digest was the proposal's hash alone: owners named the
 * requester from the proposal they happened to receive, and a leader handing two owners' identical requests
 * to different owners could make them disagree, losing one payment or making one twice.
 *
 * For a shared account the inner hash is the transfer id, so the ledger checks a certificate against
 * (requester, transfer id) without hashing the body again.
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { TRANSFER_ID_BYTES } from "../core/limits.ts";
import type { OwnerIndex } from "./committeeTypes.ts";

const TAG = new TextEncoder().encode("tally/kshared/request-digest/v1\0");

/** The digest of `owner`'s request for `proposal`. */
export function requestDigest(owner: OwnerIndex, proposal: Uint8Array): Uint8Array {
  return requestDigestOfHash(owner, sha256(proposal));
}

/** The same from the proposal's SHA-256 (a shared transfer's id bytes). */
export function requestDigestOfHash(owner: OwnerIndex, proposalHash: Uint8Array): Uint8Array {
  if (!Number.isInteger(owner) || owner < 0 || owner > 0xff) throw new RangeError(`owner index ${owner}`);
  if (proposalHash.length !== TRANSFER_ID_BYTES) throw new RangeError("a 32-byte proposal hash");
  const input = new Uint8Array(TAG.length + 1 + TRANSFER_ID_BYTES);
  input.set(TAG);
  input[TAG.length] = owner;
  input.set(proposalHash, TAG.length + 1);
  return sha256(input);
}
