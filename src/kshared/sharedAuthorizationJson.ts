/**
 * The JSON view of a shared source's authorization. The certificate shows only what the transfer and the
 * requester do not already say: its account and seq must be the transfer's source id and seq, its digest the
 * request digest of the requester and the transfer id, and its phase commit, so the reader fills them in
 * (and a certificate for anything else cannot even be written here).
 */

import { fromHex, toHex } from "../core/bytes.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { SIGNATURE_BYTES } from "../core/limits.ts";
import { PUBLIC_KEY_BYTES } from "../crypto/signatureVerifier.ts";
import { MAX_ROUND } from "./certificate.ts";
import { MAX_OWNERS } from "./quorum.ts";
import { requestDigestOfHash } from "./requestDigest.ts";
import type { SharedAuthorization } from "./sharedAuthorization.ts";

export interface SharedAuthorizationJson {
  definition: { owners: string[]; label: string };
  requester: number;
  certificate: { round: number; signers: number[]; signatures: string[] };
}

/** What the certificate certifies, taken from the transfer itself. */
export interface CertifiedStatement {
  /** The source's 32-byte shared-account id. */
  readonly account: Uint8Array;
  readonly seq: number;
  /** The transfer id's 32 bytes. */
  readonly transferId: Uint8Array;
}

export function sharedAuthorizationToJson(a: SharedAuthorization): SharedAuthorizationJson {
  return {
    definition: { owners: a.definition.owners.map(toHex), label: a.definition.label },
    requester: a.requester,
    certificate: {
      round: a.certificate.round,
      signers: [...a.certificate.signers],
      signatures: a.certificate.signatures.map(toHex),
    },
  };
}

function invalid(message: string): TallyError {
  return new TallyError(ErrorCode.InvalidField, `authorization.${message}`);
}

function record(value: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(`${field}: an object {${keys.join(", ")}}`);
  }
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    if (!keys.includes(key)) throw invalid(`${field}: unknown field "${key}"`);
  }
  for (const key of keys) if (!(key in object)) throw invalid(`${field}.${key}: required`);
  return object;
}

function boundedArray(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value) || value.length > MAX_OWNERS) {
    throw invalid(`${field}: an array of at most ${MAX_OWNERS} entries`);
  }
  return value;
}

/**
 * Strict: unknown fields, uppercase hex and wrong types are errors. Order and quorum rules are the
 * binary encoder's and the ledger's checks, so JSON and bytes refuse the same things.
 */
export function sharedAuthorizationFromJson(
  json: unknown,
  statement: CertifiedStatement,
): SharedAuthorization {
  const top = record(json, "", ["definition", "requester", "certificate"]);
  const definition = record(top.definition, "definition", ["owners", "label"]);
  const certificate = record(top.certificate, "certificate", ["round", "signers", "signatures"]);
  const owners = boundedArray(definition.owners, "definition.owners").map((hex, i) =>
    fromHex(hex as string, PUBLIC_KEY_BYTES, `authorization.definition.owners[${i}]`),
  );
  if (typeof definition.label !== "string") throw invalid("definition.label: a string");
  const { requester } = top;
  if (
    typeof requester !== "number" ||
    !Number.isInteger(requester) ||
    requester < 0 ||
    requester >= owners.length
  ) {
    throw invalid(`requester: an owner index from 0 to ${owners.length - 1}`);
  }
  const { round } = certificate;
  if (typeof round !== "number" || !Number.isInteger(round) || round < 0 || round > MAX_ROUND) {
    throw invalid(`certificate.round: an integer from 0 to ${MAX_ROUND}`);
  }
  const signers = boundedArray(certificate.signers, "certificate.signers").map((signer, i) => {
    if (typeof signer !== "number" || !Number.isInteger(signer) || signer < 0 || signer >= MAX_OWNERS) {
      throw invalid(`certificate.signers[${i}]: an owner index from 0 to ${MAX_OWNERS - 1}`);
    }
    return signer;
  });
  const signatures = boundedArray(certificate.signatures, "certificate.signatures").map((hex, i) =>
    fromHex(hex as string, SIGNATURE_BYTES, `authorization.certificate.signatures[${i}]`),
  );
  if (signatures.length !== signers.length) {
    throw invalid("certificate: one signature per signer, in the signers' order");
  }
  return {
    definition: { owners, label: definition.label },
    requester,
    certificate: {
      phase: "commit",
      account: statement.account,
      seq: statement.seq,
      round,
      digest: requestDigestOfHash(requester, statement.transferId),
      signers,
      signatures,
    },
  };
}
