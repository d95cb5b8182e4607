import { TRANSFER_ID_BYTES } from "./limits.ts";

/**
 * Ids recently spelled, per generation (see `idAt`): when the current generation holds this many it becomes
 * the previous one and the one before is dropped, so at most twice this many are held (≈ 200 bytes each with
 * their bytes and map entry: ≈ 13 MiB at most).
 */
export const ID_STRING_CACHE_ENTRIES = 32_768;

interface Spelled {
  readonly bytes: Uint8Array;
  readonly hex: string;
}

let current = new Map<number, Spelled>();
let previous = new Map<number, Spelled>();

/**
 * The lowercase hex of the 32-byte id (a transfer id, a digest, a dep) at `offset` of `bytes`, as the same
 * string object each time the same id is spelled while it is recent.
 *
 * A node meets each id many times — in the payload, in every ECHO and READY naming it, as a later transfer's
 * dep — and looks each one up in several large maps (signatures checked, statuses, unreferenced payments). A
 * hex string built afresh has no hash yet and must be compared character by character with the stored key,
 * whose characters are usually out of the CPU cache: measured ≈ 1 µs per lookup in a 65,536-entry map,
 * against ≈ 0.16 µs for the string object the map stores. The table is keyed by 30 bits of the id (a hash
 * output, so the bits are uniform) and a hit is checked byte for byte: a collision, by chance or made up in
 * a vote, spells the id afresh and never returns another id's string. Which object a caller gets never changes
 * an answer, only the speed of the lookups made with it.
 */
export function idAt(bytes: Uint8Array, offset: number): string {
  if (!(offset >= 0 && offset + TRANSFER_ID_BYTES <= bytes.length)) {
    throw new RangeError(`no ${TRANSFER_ID_BYTES}-byte id at offset ${offset} of ${bytes.length} bytes`);
  }
  const key =
    ((bytes[offset]! << 22) ^ (bytes[offset + 1]! << 14) ^ (bytes[offset + 2]! << 6) ^ bytes[offset + 3]!) &
    0x3fff_ffff;
  const recent = current.get(key);
  if (recent !== undefined && sameId(recent.bytes, bytes, offset)) return recent.hex;
  const old = previous.get(key);
  let spelled: Spelled;
  if (old !== undefined && sameId(old.bytes, bytes, offset)) {
    spelled = old;
  } else {
    // A copy of its own (a Buffer's `slice` would be a view of the caller's, possibly pooled, memory).
    const copy = new Uint8Array(TRANSFER_ID_BYTES);
    copy.set(bytes.subarray(offset, offset + TRANSFER_ID_BYTES));
    spelled = { bytes: copy, hex: Buffer.from(copy.buffer, 0, TRANSFER_ID_BYTES).toString("hex") };
  }
  remember(key, spelled);
  return spelled.hex;
}

/**
 * `idAt` for an id already spelled as 64 lowercase hex characters (a hash computed as hex, which node's
 * one-shot SHA-256 returns several times faster than a buffer): the recent string object for it, or `hex`
 * itself, now recent. Anything but 64 lowercase hex characters is returned as it is, never cached.
 */
export function internId(hex: string): string {
  if (hex.length !== 2 * TRANSFER_ID_BYTES) return hex;
  const b0 = hexByte(hex, 0);
  const b1 = hexByte(hex, 2);
  const b2 = hexByte(hex, 4);
  const b3 = hexByte(hex, 6);
  if ((b0 | b1 | b2 | b3) < 0) return hex;
  const key = ((b0 << 22) ^ (b1 << 14) ^ (b2 << 6) ^ b3) & 0x3fff_ffff;
  const recent = current.get(key);
  if (recent !== undefined && recent.hex === hex) return recent.hex;
  const old = previous.get(key);
  let spelled: Spelled;
  if (old !== undefined && old.hex === hex) spelled = old;
  else {
    // Upper-case or stray characters would decode short or spell differently: leave them uncached.
    for (let i = 8; i < hex.length; i++) if (hexDigit(hex.charCodeAt(i)) < 0) return hex;
    // Bytes of their own: a small Buffer.from is a slice of a shared 8 KiB pool, which a cached id would pin.
    const bytes = new Uint8Array(TRANSFER_ID_BYTES);
    bytes.set(Buffer.from(hex, "hex"));
    spelled = { bytes, hex };
  }
  remember(key, spelled);
  return spelled.hex;
}

/** The byte spelled by two lowercase hex characters at `at`, or −1. */
function hexByte(hex: string, at: number): number {
  const high = hexDigit(hex.charCodeAt(at));
  const low = hexDigit(hex.charCodeAt(at + 1));
  return high < 0 || low < 0 ? -1 : (high << 4) | low;
}

function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

function remember(key: number, spelled: Spelled): void {
  if (current.size >= ID_STRING_CACHE_ENTRIES) {
    previous = current;
    current = new Map();
  }
  current.set(key, spelled);
}

function sameId(stored: Uint8Array, bytes: Uint8Array, offset: number): boolean {
  for (let i = 0; i < TRANSFER_ID_BYTES; i++) if (stored[i] !== bytes[offset + i]) return false;
  return true;
}
