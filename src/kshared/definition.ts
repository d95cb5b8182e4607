/**
 * A shared account's definition: its owners' keys and a label. The account's address is the hash of the
 * definition's one canonical encoding, so whoever holds the definition can check it names the address,
 * and nobody can find a second owner set for an address already funded.
 */

import * as ed from "@noble/ed25519";
import { sha256 } from "@noble/hashes/sha2.js";
import { AddressVersion, encodeAddress } from "../core/address.ts";
import { ByteReader } from "../core/byteReader.ts";
import { compareBytes, toHex } from "../core/bytes.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { hasSmallOrderEncoding } from "../crypto/ed25519Noble.ts";
import { PUBLIC_KEY_BYTES } from "../crypto/signatureVerifier.ts";
import { MAX_OWNERS } from "./quorum.ts";

export interface SharedDefinition {
  /** 32-byte ed25519 public keys, strictly ascending (byte order), 1..32: index i is owner i. */
  readonly owners: readonly Uint8Array[];
  /** Free text for people, ≤ 64 bytes of UTF-8; part of the hash, so part of the address. */
  readonly label: string;
}

export const DEFINITION_VERSION = 1;
export const MAX_LABEL_BYTES = 64;
/** version · k · 32 keys · label length · 64-byte label. */
export const MAX_DEFINITION_BYTES = 1 + 1 + MAX_OWNERS * PUBLIC_KEY_BYTES + 1 + MAX_LABEL_BYTES;
/** One owner, empty label. */
export const MIN_DEFINITION_BYTES = 1 + 1 + PUBLIC_KEY_BYTES + 1;

const ID_TAG = new TextEncoder().encode("tally/shared-account/v1");
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function malformed(message: string): TallyError {
  return new TallyError(ErrorCode.MalformedEncoding, `shared definition: ${message}`);
}

function checkOwners(owners: readonly Uint8Array[], fail: (message: string) => TallyError): void {
  if (!Array.isArray(owners) || owners.length < 1 || owners.length > MAX_OWNERS) {
    throw new TallyError(ErrorCode.LimitExceeded, `shared definition: 1 to ${MAX_OWNERS} owners`);
  }
  for (let i = 0; i < owners.length; i++) {
    const key = owners[i]!;
    if (!(key instanceof Uint8Array) || key.length !== PUBLIC_KEY_BYTES) {
      throw fail(`owner ${i} must be a ${PUBLIC_KEY_BYTES}-byte key`);
    }
    if (i > 0 && compareBytes(owners[i - 1]!, key) >= 0) {
      throw new TallyError(
        ErrorCode.NonCanonical,
        "shared definition: owners must be strictly ascending (sorted, no duplicates)",
      );
    }
  }
}

function labelBytes(label: string): Uint8Array {
  if (typeof label !== "string") throw malformed("label must be a string");
  const bytes = textEncoder.encode(label);
  if (bytes.length > MAX_LABEL_BYTES) {
    throw new TallyError(
      ErrorCode.LimitExceeded,
      `shared definition: label is at most ${MAX_LABEL_BYTES} UTF-8 bytes`,
    );
  }
  return bytes;
}

/** `u8 version (1) · u8 k · k × 32-byte key · u8 label length · label`. Throws on an invalid definition. */
export function encodeDefinition(definition: SharedDefinition): Uint8Array {
  checkOwners(definition.owners, malformed);
  const label = labelBytes(definition.label);
  const k = definition.owners.length;
  const out = new Uint8Array(2 + k * PUBLIC_KEY_BYTES + 1 + label.length);
  out[0] = DEFINITION_VERSION;
  out[1] = k;
  definition.owners.forEach((key, i) => {
    out.set(key, 2 + i * PUBLIC_KEY_BYTES);
  });
  out[2 + k * PUBLIC_KEY_BYTES] = label.length;
  out.set(label, 3 + k * PUBLIC_KEY_BYTES);
  return out;
}

/** Reads one definition from `r` (strict: a known version, 1..32 ascending owners, a UTF-8 label ≤ 64 bytes). */
export function readDefinition(r: ByteReader): SharedDefinition {
  const version = r.u8("definition version");
  if (version !== DEFINITION_VERSION) {
    throw new TallyError(ErrorCode.UnsupportedVersion, `unsupported shared definition version ${version}`);
  }
  const k = r.u8("owner count");
  if (k < 1 || k > MAX_OWNERS) {
    throw new TallyError(ErrorCode.LimitExceeded, `shared definition: 1 to ${MAX_OWNERS} owners, got ${k}`);
  }
  const owners: Uint8Array[] = [];
  for (let i = 0; i < k; i++) owners.push(Uint8Array.from(r.bytes(PUBLIC_KEY_BYTES, "owner key")));
  checkOwners(owners, malformed);
  const labelLength = r.u8("label length");
  if (labelLength > MAX_LABEL_BYTES) {
    throw new TallyError(
      ErrorCode.LimitExceeded,
      `shared definition: label is at most ${MAX_LABEL_BYTES} bytes`,
    );
  }
  const raw = r.bytes(labelLength, "label");
  let label: string;
  try {
    label = textDecoder.decode(raw);
  } catch {
    throw malformed("label is not valid UTF-8");
  }
  return { owners, label };
}

/** Strict decoder for untrusted bytes: exactly one definition, no trailing bytes. */
export function decodeDefinition(bytes: Uint8Array): SharedDefinition {
  if (!(bytes instanceof Uint8Array)) throw malformed("expected bytes");
  const r = new ByteReader(bytes, malformed);
  const definition = readDefinition(r);
  r.end();
  return definition;
}

/** sha256("tally/shared-account/v1" ‖ canonical encoding): the 32 bytes inside the account's address. */
export function sharedAccountId(definition: SharedDefinition): Uint8Array {
  return sharedAccountIdOfEncoding(encodeDefinition(definition));
}

export function sharedAccountIdOfEncoding(encoded: Uint8Array): Uint8Array {
  const input = new Uint8Array(ID_TAG.length + encoded.length);
  input.set(ID_TAG);
  input.set(encoded, ID_TAG.length);
  return sha256(input);
}

/** The account's `tly1…` address (address version 1, a shared account). */
export function sharedAddress(definition: SharedDefinition): string {
  return encodeAddress(AddressVersion.SharedAccount, sharedAccountId(definition));
}

/**
 * "hex,hex,…" (any order) into the canonical owner list: sorted by key bytes. Refuses bad hex, wrong
 * lengths, keys that no signature can verify against, duplicates and more than 32 keys, naming the
 * offending entry.
 */
export function parseOwners(text: string): Uint8Array[] {
  if (typeof text !== "string" || text.trim() === "") {
    throw new TallyError(ErrorCode.InvalidField, "owners: a comma-separated list of 64-hex-character keys");
  }
  const parts = text.split(",").map((p) => p.trim());
  if (parts.length > MAX_OWNERS) {
    throw new TallyError(ErrorCode.LimitExceeded, `owners: at most ${MAX_OWNERS} keys, got ${parts.length}`);
  }
  const keys = parts.map((part, i) => {
    if (!/^[0-9a-fA-F]{64}$/.test(part)) {
      throw new TallyError(
        ErrorCode.InvalidField,
        `owners: entry ${i + 1} ("${part.slice(0, 70)}") is not a 32-byte key in hex (64 characters)`,
      );
    }
    const key = new Uint8Array(Buffer.from(part.toLowerCase(), "hex"));
    if (!isUsableOwnerKey(key)) {
      throw new TallyError(
        ErrorCode.InvalidField,
        `owners: entry ${i + 1} (${part.toLowerCase()}) is not an ed25519 public key that can sign`,
      );
    }
    return key;
  });
  keys.sort(compareBytes);
  for (let i = 1; i < keys.length; i++) {
    if (compareBytes(keys[i - 1]!, keys[i]!) === 0) {
      throw new TallyError(ErrorCode.InvalidField, `owners: key ${toHex(keys[i]!)} is listed twice`);
    }
  }
  return keys;
}

/** A key strict ed25519 can verify against: a curve point, not of small order (else that owner is dead weight). */
function isUsableOwnerKey(key: Uint8Array): boolean {
  if (hasSmallOrderEncoding(key)) return false;
  try {
    ed.Point.fromBytes(key);
    return true;
  } catch {
    return false;
  }
}
