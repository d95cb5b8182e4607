/**
 * May a shared account spend? Only if its transfer carries the account's definition (which must hash to
 * the source address) and a commit certificate in which at least q of its owners decided exactly this
 * transfer, as the request of the owner it names, at exactly this seq (the certified digest is that owner's
 * request digest of the transfer id). The certificate is the committee's own (src/kshared/), checked with the
 * committee's own `verifyCertificate`, so ledger and owners agree on what a decision is.
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesEqual, fromHex, toHex } from "../core/bytes.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { SIGNATURE_BYTES, TRANSFER_ID_BYTES } from "../core/limits.ts";
import type { EncodedTransfer } from "../core/transfer.ts";
import type { SignatureVerifier } from "../crypto/signatureVerifier.ts";
import { verifyCertificate } from "../kshared/certificate.ts";
import { encodeCertificate } from "../kshared/committeeCodec.ts";
import type { Certificate } from "../kshared/committeeTypes.ts";
import { encodeDefinition, sharedAccountIdOfEncoding } from "../kshared/definition.ts";
import { committeeQuorum } from "../kshared/quorum.ts";
import { requestDigestOfHash } from "../kshared/requestDigest.ts";
import { type SignerFault, signerFault } from "../kshared/signerShape.ts";

function invalidCertificate(message: string, id: string): TallyError {
  return new TallyError(ErrorCode.SharedInvalidCertificate, message, { id });
}

/** Signers strictly ascending below k, one 64-byte signature each, at least q of them. */
function checkSigners(certificate: Certificate, k: number, id: string): void {
  const { signers, signatures } = certificate;
  const fault = signerFault(signers, k, signatures);
  if (fault !== undefined) throw invalidCertificate(signerFaultText(fault, k), id);
  const { q } = committeeQuorum(k);
  if (signers.length < q) {
    throw invalidCertificate(
      `the certificate has ${signers.length} owner signatures; an account of ${k} owners needs ${q}`,
      id,
    );
  }
}

/** The ledger's wording of each signer-list fault (the refusal a wallet sees). */
function signerFaultText(fault: SignerFault, k: number): string {
  switch (fault.kind) {
    case "unpaired":
      return "the certificate needs exactly one signature per signer";
    case "notOwner":
      return `certificate signer ${fault.signer} is not one of the account's ${k} owners`;
    case "notAscending":
      return "certificate signers must be distinct owners in ascending order";
    case "signatureLength":
      return `certificate signatures are ${SIGNATURE_BYTES} bytes`;
  }
}

/**
 * Checks everything but the signatures (cheap, and refusals name the rule broken), and returns a key
 * that names exactly what the signatures would vouch for: the same key means the same verification.
 */
export function checkSharedAuthorizationShape(encoded: EncodedTransfer, accountId: Uint8Array): string {
  const { id } = encoded;
  const authorization = encoded.transfer.sharedAuthorization;
  if (authorization === undefined) {
    throw invalidCertificate("a shared account's transfer needs its owners' commit certificate", id);
  }
  const definitionBytes = encodeDefinition(authorization.definition);
  if (!bytesEqual(sharedAccountIdOfEncoding(definitionBytes), accountId)) {
    throw new TallyError(
      ErrorCode.SharedDefinitionMismatch,
      "the shared-account definition does not hash to the source address",
      { id },
    );
  }
  const { certificate } = authorization;
  if (certificate.phase !== "commit") {
    throw invalidCertificate("a prepare certificate is not a decision: a commit certificate is needed", id);
  }
  if (!bytesEqual(certificate.account, accountId)) {
    throw invalidCertificate("the certificate is for another account", id);
  }
  if (certificate.seq !== encoded.transfer.seq) {
    throw invalidCertificate(
      `the certificate decides seq ${certificate.seq}, the transfer is seq ${encoded.transfer.seq}`,
      id,
    );
  }
  const { requester } = authorization;
  if (!bytesEqual(certificate.digest, requestDigestOfHash(requester, fromHex(id, TRANSFER_ID_BYTES, "id")))) {
    throw invalidCertificate(
      `the certificate decides another request (its digest is not owner ${requester}'s request for this transfer)`,
      id,
    );
  }
  checkSigners(certificate, authorization.definition.owners.length, id);
  // With signers ascending and one signature each, the certificate's encoding is one-to-one.
  const certificateBytes = encodeCertificate(certificate);
  const material = new Uint8Array(definitionBytes.length + certificateBytes.length);
  material.set(definitionBytes);
  material.set(certificateBytes, definitionBytes.length);
  return `${id}:shared:${toHex(sha256(material))}`;
}

/** The owners' signatures over the certificate's Commit statement: BAD_SIGNATURE unless every one verifies. */
export function verifySharedSignatures(
  encoded: EncodedTransfer,
  accountId: Uint8Array,
  verifier: SignatureVerifier,
): void {
  const { definition, certificate } = encoded.transfer.sharedAuthorization!;
  const keys = { account: accountId, owners: definition.owners, verifier };
  if (!verifyCertificate(certificate, keys, committeeQuorum(definition.owners.length))) {
    throw new TallyError(
      ErrorCode.BadSignature,
      "an owner's signature in the commit certificate does not verify",
      { id: encoded.id },
    );
  }
}
