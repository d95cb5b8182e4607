import { bech32m } from "@scure/base";
import { BoundedCache } from "./boundedCache.ts";
import { ErrorCode, TallyError } from "./errors.ts";
import { internString } from "./internString.ts";

/**
 * Addresses are bech32m strings with the `tly` prefix over a version byte and 32 bytes.
 * Version 0 is an ed25519 public key; version 1 is the hash of a shared-account definition.
 */
export const ADDRESS_PREFIX = "tly";
export const AddressVersion = { Ed25519: 0, SharedAccount: 1 } as const;
export type AddressVersion = (typeof AddressVersion)[keyof typeof AddressVersion];

export const ADDRESS_KEY_BYTES = 32;
/** Version byte plus key: the form addresses take inside the binary transfer encoding. */
export const ADDRESS_BYTES = 1 + ADDRESS_KEY_BYTES;
/** bech32 allows 90 characters; ours are always 63 (3 prefix + 1 separator + 53 data + 6 checksum). */
const ADDRESS_CHARS = 63;

export interface DecodedAddress {
  readonly version: AddressVersion;
  /** The 32-byte public key (version 0) or shared-account id (version 1). */
  readonly key: Uint8Array;
  /** Version byte followed by the key. */
  readonly bytes: Uint8Array;
}

function isKnownVersion(v: number): v is AddressVersion {
  return v === AddressVersion.Ed25519 || v === AddressVersion.SharedAccount;
}

/**
 * Entries of the encoding cache: 33-byte forms already spelled, so an account seen again (every transfer's
 * source and recipients pass through here when decoded) costs no bech32 checksum. 65,536 entries of a
 * 33-character key and a 63-character address: ≈ 12 MiB at most. Oldest first out; encoding is a pure
 * function, so what a peer sends can only evict entries, never change an answer.
 */
export const ADDRESS_CACHE_ENTRIES = 65_536;
/** Keyed by a 32-bit FNV-1a hash of the 33 bytes (no string built per lookup); a hit is checked byte for byte. */
const spelled = new BoundedCache<number, { readonly bytes: Uint8Array; readonly address: string }>(
  ADDRESS_CACHE_ENTRIES,
);

/** 32-bit FNV-1a of the 33 address bytes at `offset`: a table key that needs no string (here and for instances). */
export function hashAddressBytes(bytes: Uint8Array, offset: number): number {
  let h = 0x811c9dc5;
  for (let i = offset; i < offset + ADDRESS_BYTES; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/** Whether the 33-byte address form `a` equals the 33 bytes at `offset` of `b`. */
export function sameAddressBytes(a: Uint8Array, b: Uint8Array, offset: number): boolean {
  for (let i = 0; i < ADDRESS_BYTES; i++) if (a[i] !== b[offset + i]) return false;
  return true;
}
/**
 * The decoding direction, same bound: strings already checked, so the broadcast codec (which writes every
 * vote's source account as bytes) and the ledger do not recompute a checksum per message. Only strings that
 * decoded are cached; their byte arrays are shared, so callers must treat a `DecodedAddress` as read-only.
 */
const decodedCache = new BoundedCache<string, DecodedAddress>(ADDRESS_CACHE_ENTRIES);

function rememberDecoded(address: string, decoded: DecodedAddress): void {
  decodedCache.set(address, decoded);
}

/** Encodes the 33-byte binary form (version byte + key) as an address string. */
export function addressFromBytes(bytes: Uint8Array): string {
  if (bytes.length !== ADDRESS_BYTES) {
    throw new TallyError(
      ErrorCode.InvalidAddress,
      `address must be ${ADDRESS_BYTES} bytes, got ${bytes.length}`,
    );
  }
  return addressAt(bytes, 0);
}

/**
 * The address whose 33-byte form starts at `offset` of `bytes` (which must hold it): decoders of messages
 * that carry many addresses read them in place, without a view per address.
 */
export function addressAt(bytes: Uint8Array, offset: number): string {
  if (offset < 0 || offset + ADDRESS_BYTES > bytes.length) {
    throw new TallyError(ErrorCode.InvalidAddress, `address must be ${ADDRESS_BYTES} bytes`);
  }
  if (!isKnownVersion(bytes[offset]!)) {
    throw new TallyError(ErrorCode.InvalidAddress, `unknown address version ${bytes[offset]}`);
  }
  const hash = hashAddressBytes(bytes, offset);
  const known = spelled.get(hash);
  if (known !== undefined && sameAddressBytes(known.bytes, bytes, offset)) return known.address;
  // A miss or a hash collision (another address in this slot): spell it and take the slot.
  const copy = bytes.slice(offset, offset + ADDRESS_BYTES);
  // Interned: bech32's encoder builds the text piece by piece, and equal addresses are compared often.
  const address = internString(bech32m.encode(ADDRESS_PREFIX, bech32m.toWords(copy)));
  // The colliding entry is deleted, not overwritten in place: the slot's new owner counts as newest.
  if (known !== undefined) spelled.delete(hash);
  spelled.set(hash, { bytes: copy, address });
  rememberDecoded(address, { version: copy[0] as AddressVersion, key: copy.subarray(1), bytes: copy });
  return address;
}

export function encodeAddress(version: AddressVersion, key: Uint8Array): string {
  if (key.length !== ADDRESS_KEY_BYTES) {
    throw new TallyError(
      ErrorCode.InvalidAddress,
      `address key must be ${ADDRESS_KEY_BYTES} bytes, got ${key.length}`,
    );
  }
  const bytes = new Uint8Array(ADDRESS_BYTES);
  bytes[0] = version;
  bytes.set(key, 1);
  return addressFromBytes(bytes);
}

/**
 * The 33-byte form of a well-formed address (the cache's shared copy: read-only), or undefined for any other
 * string: for callers that hold a string which may not be an address at all (a test's instance source).
 */
export function addressBytesOf(address: string): Uint8Array | undefined {
  const cached = decodedCache.get(address);
  if (cached !== undefined) return cached.bytes;
  if (address.length !== ADDRESS_CHARS) return undefined;
  try {
    return decodeAddress(address).bytes;
  } catch {
    return undefined;
  }
}

/**
 * Strict decoding: lowercase only (one spelling per address, so strings can be map keys),
 * bech32m checksum (not bech32), `tly` prefix, a known version and exactly 32 key bytes.
 */
export function decodeAddress(address: unknown): DecodedAddress {
  if (typeof address !== "string") {
    throw new TallyError(ErrorCode.InvalidAddress, "address must be a string");
  }
  const cached = decodedCache.get(address);
  if (cached !== undefined) return cached;
  if (address.length !== ADDRESS_CHARS) {
    throw new TallyError(
      ErrorCode.InvalidAddress,
      `address must be ${ADDRESS_CHARS} characters, got ${address.length}`,
    );
  }
  if (address !== address.toLowerCase()) {
    throw new TallyError(ErrorCode.InvalidAddress, "address must be lowercase");
  }
  let decoded: { prefix: string; words: number[] };
  try {
    decoded = bech32m.decode(address as `${string}1${string}`);
  } catch (e) {
    throw new TallyError(ErrorCode.InvalidAddress, `not a bech32m string: ${(e as Error).message}`);
  }
  if (decoded.prefix !== ADDRESS_PREFIX) {
    throw new TallyError(
      ErrorCode.InvalidAddress,
      `address prefix must be "${ADDRESS_PREFIX}", got "${decoded.prefix}"`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = bech32m.fromWords(decoded.words);
  } catch (e) {
    throw new TallyError(ErrorCode.InvalidAddress, `bad address padding: ${(e as Error).message}`);
  }
  if (bytes.length !== ADDRESS_BYTES) {
    throw new TallyError(
      ErrorCode.InvalidAddress,
      `address payload must be ${ADDRESS_BYTES} bytes, got ${bytes.length}`,
    );
  }
  const version = bytes[0]!;
  if (!isKnownVersion(version)) {
    throw new TallyError(ErrorCode.InvalidAddress, `unknown address version ${version}`);
  }
  const result: DecodedAddress = { version, key: bytes.subarray(1), bytes };
  rememberDecoded(address, result);
  return result;
}

export function isValidAddress(address: unknown): boolean {
  try {
    decodeAddress(address);
    return true;
  } catch {
    return false;
  }
}
