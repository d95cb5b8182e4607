import { TRANSFER_ID_BYTES } from "./limits.ts";

/**
 * Ids recently spelled, per generation (see `idAt`): when the current generation has taken this many slots it
 * becomes the previous one and the one before is dropped, so at most twice this many are held (their hex
 * strings, ≈ 90 bytes each, and 32 bytes each in one fixed slab: ≈ 2 MiB at most). The newest generation
 * alone covers ≈ 1.4 s of transfers at 3,000/s (an id and a dep each), the span in which a transfer's votes
 * arrive. 32,768 until session 38, when the node's per-transfer tables were sized in seconds of traffic
 * (docs/architecture.md, "Memory").
 */
export const ID_STRING_CACHE_ENTRIES = 8_192;

/**
 * The bytes of every id held, 32 per slot: slots [0, ENTRIES) and [ENTRIES, 2 × ENTRIES) are the two
 * generations' halves, which swap roles when the current one is full. One allocation for the node's life:
 * until session 27 each id held a 32-byte `Uint8Array` of its own and a record pairing it with its string,
 * three long-lived objects per id for the scavenger to copy and the marker to trace.
 */
const slab = Buffer.alloc(2 * ID_STRING_CACHE_ENTRIES * TRANSFER_ID_BYTES);
/** The hex of the id in each slot (`""` for a slot never used). */
const spellings: string[] = new Array<string>(2 * ID_STRING_CACHE_ENTRIES).fill("");

/** Key (30 bits of the id) → slot, per generation. */
let current = new Map<number, number>();
let previous = new Map<number, number>();
/** The first slot of the current generation's half, and how many of its slots are taken. */
let currentBase = 0;
let taken = 0;

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
  if (recent !== undefined && holds(recent, bytes, offset)) return spellings[recent]!;
  // Read before a slot is taken: taking one may turn the generations over and reuse the previous half.
  const old = previous.get(key);
  const oldHex = old !== undefined && holds(old, bytes, offset) ? spellings[old]! : undefined;
  // A copy of its own in the slab (the caller's bytes may be a view of pooled memory that changes later).
  const slot = takeSlot(key);
  const start = slot * TRANSFER_ID_BYTES;
  for (let i = 0; i < TRANSFER_ID_BYTES; i++) slab[start + i] = bytes[offset + i]!;
  const hex = oldHex ?? slab.toString("hex", start, start + TRANSFER_ID_BYTES);
  spellings[slot] = hex;
  return hex;
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
  if (recent !== undefined && spellings[recent] === hex) return spellings[recent]!;
  // Read before a slot is taken, as in `idAt`.
  const old = previous.get(key);
  const oldHex = old !== undefined && spellings[old] === hex ? spellings[old]! : undefined;
  // Upper-case or stray characters would decode short or spell differently: leave them uncached. (A string
  // found in the previous generation was checked when it entered.)
  if (oldHex === undefined)
    for (let i = 8; i < hex.length; i++) if (hexDigit(hex.charCodeAt(i)) < 0) return hex;
  const slot = takeSlot(key);
  slab.write(hex, slot * TRANSFER_ID_BYTES, TRANSFER_ID_BYTES, "hex"); // 64 hex digits, checked
  const spelled = oldHex ?? hex;
  spellings[slot] = spelled;
  return spelled;
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

/** A slot of the current generation for `key`, turning the generations over when its half is full. */
function takeSlot(key: number): number {
  if (taken >= ID_STRING_CACHE_ENTRIES) {
    // The previous generation's half is reused: its map goes with it, so no key still points there.
    previous = current;
    current = new Map();
    currentBase = ID_STRING_CACHE_ENTRIES - currentBase;
    taken = 0;
  }
  const slot = currentBase + taken++;
  current.set(key, slot);
  return slot;
}

/** Whether `slot` holds the id at `offset` of `bytes`. */
function holds(slot: number, bytes: Uint8Array, offset: number): boolean {
  const start = slot * TRANSFER_ID_BYTES;
  for (let i = 0; i < TRANSFER_ID_BYTES; i++) if (slab[start + i] !== bytes[offset + i]) return false;
  return true;
}
