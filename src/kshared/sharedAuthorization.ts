/**
 * What authorizes a shared account's transfer in place of a signature: the account's definition (which
 * must hash to the source address), the owner whose request was decided, and the owners' commit certificate
 * for (account, seq, request digest of that owner and the transfer id: requestDigest.ts).
 * This file checks only the shape (bounds, canonical order, one encoding); whether the certificate
 * authorizes the transfer is the ledger's check (src/ledger/sharedAuthorization.ts).
 */

import { ByteReader } from "../core/byteReader.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { SIGNATURE_BYTES } from "../core/limits.ts";
import { DIGEST_BYTES } from "./certificate.ts";
import { decodeCertificate, encodeCertificate } from "./committeeCodec.ts";
import type { Certificate, OwnerIndex } from "./committeeTypes.ts";
import {
  encodeDefinition,
  MAX_DEFINITION_BYTES,
  MIN_DEFINITION_BYTES,
  readDefinition,
  type SharedDefinition,
} from "./definition.ts";
import { MAX_OWNERS } from "./quorum.ts";
import { signerFault } from "./signerShape.ts";

export interface SharedAuthorization {
  readonly definition: SharedDefinition;
  /** The owner (index in the definition) whose request the certificate decided. */
  readonly requester: OwnerIndex;
  /** The owners' commit certificate; its account is the 32-byte shared-account id. */
  readonly certificate: Certificate;
}

/** A shared account's id: the 32 bytes of its address after the version byte. */
export const SHARED_ACCOUNT_ID_BYTES = 32;
/** phase · account length · 32-byte account · seq u64 · round u32 · digest · signer bitmap u32: 82 bytes. */
const CERTIFICATE_FIXED_BYTES = 1 + 1 + SHARED_ACCOUNT_ID_BYTES + 8 + 4 + DIGEST_BYTES + 4;
/** 82 + 32 × 64 = 2,130 bytes: every one of 32 owners signed. */
export const MAX_CERTIFICATE_BYTES = CERTIFICATE_FIXED_BYTES + MAX_OWNERS * SIGNATURE_BYTES;
/** 1,091 + 1 + 2,130 = 3,222 bytes. */
export const MAX_SHARED_AUTHORIZATION_BYTES = MAX_DEFINITION_BYTES + 1 + MAX_CERTIFICATE_BYTES;
/** One owner, empty label, the requester, one signature: 35 + 1 + 146 = 182 bytes. */
export const MIN_SHARED_AUTHORIZATION_BYTES =
  MIN_DEFINITION_BYTES + 1 + CERTIFICATE_FIXED_BYTES + SIGNATURE_BYTES;

function malformed(message: string): TallyError {
  return new TallyError(ErrorCode.MalformedEncoding, `shared authorization: ${message}`);
}

/** The certificate's shape against the definition: a 32-byte account, 1..k signers below k, one signature each. */
function checkCertificateShape(certificate: Certificate, k: number): void {
  if (certificate.account.length !== SHARED_ACCOUNT_ID_BYTES) {
    throw malformed(`certificate account must be a ${SHARED_ACCOUNT_ID_BYTES}-byte shared-account id`);
  }
  if (certificate.digest.length !== DIGEST_BYTES) throw malformed("certificate digest must be 32 bytes");
  const { signers, signatures } = certificate;
  if (signers.length === 0) throw malformed("certificate has no signers");
  const fault = signerFault(signers, k, signatures);
  if (fault === undefined) return;
  switch (fault.kind) {
    case "unpaired":
      throw malformed("one signature per signer");
    case "notOwner":
      throw malformed(`certificate signer ${fault.signer} is not one of the ${k} owners`);
    case "notAscending":
      throw new TallyError(
        ErrorCode.NonCanonical,
        "shared authorization: signers must be strictly ascending",
      );
    case "signatureLength":
      throw malformed("signatures are 64 bytes");
  }
}

/**
 * `definition ‖ requester u8 ‖ certificate`; throws on a shape the decoder would refuse, so only decodable
 * bytes leave.
 */
export function encodeSharedAuthorization(authorization: SharedAuthorization): Uint8Array {
  const definition = encodeDefinition(authorization.definition);
  const k = authorization.definition.owners.length;
  checkRequester(authorization.requester, k);
  checkCertificateShape(authorization.certificate, k);
  const certificate = encodeCertificate(authorization.certificate);
  const out = new Uint8Array(definition.length + 1 + certificate.length);
  out.set(definition);
  out[definition.length] = authorization.requester;
  out.set(certificate, definition.length + 1);
  return out;
}

function checkRequester(requester: number, k: number): void {
  if (!Number.isInteger(requester) || requester < 0 || requester >= k)
    throw malformed(`requester ${requester} is not one of the ${k} owners`);
}

/**
 * Strict decoder for untrusted bytes (the length-delimited field after a shared transfer's body):
 * exactly one definition, the requester, then exactly one certificate, within the bounds above.
 */
export function decodeSharedAuthorization(bytes: Uint8Array): SharedAuthorization {
  if (bytes.length < MIN_SHARED_AUTHORIZATION_BYTES || bytes.length > MAX_SHARED_AUTHORIZATION_BYTES) {
    throw new TallyError(
      ErrorCode.LimitExceeded,
      `shared authorization must be ${MIN_SHARED_AUTHORIZATION_BYTES}..${MAX_SHARED_AUTHORIZATION_BYTES} bytes, got ${bytes.length}`,
    );
  }
  const r = new ByteReader(bytes, malformed);
  const definition = readDefinition(r);
  const requester = r.u8("requester");
  checkRequester(requester, definition.owners.length);
  let certificate: Certificate;
  try {
    certificate = decodeCertificate(r.bytes(r.remaining, "certificate"));
  } catch (e) {
    if (e instanceof TallyError) throw malformed(`certificate: ${e.message}`);
    throw e;
  }
  checkCertificateShape(certificate, definition.owners.length);
  return { definition, requester, certificate };
}
