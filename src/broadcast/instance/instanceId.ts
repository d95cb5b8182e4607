import {
  ADDRESS_BYTES,
  addressAt,
  addressBytesOf,
  hashAddressBytes,
  sameAddressBytes,
} from "../../core/address.ts";
import { MAX_SEQ } from "../../core/limits.ts";
import type { Digest, InstanceRef } from "../types.ts";

/** Addresses are ~63 characters of bech32m; the slack admits a future address version, the cap bounds a vote's memory. */
export const MAX_SOURCE_CHARS = 128;
/** A SHA-256 digest is 64 hex characters; room for an algorithm prefix, nothing more. */
export const MAX_DIGEST_CHARS = 128;

/**
 * References handed out recently, per generation and per table (by source and seq; by wire bytes). When a
 * generation of a table holds this many it becomes the previous one and the one before is dropped, so each
 * table holds at most twice this many: ≈ 1.8 MiB with both full (≈ 220 bytes a reference, its key string and
 * both tables' entries included). A generation is ≈ 1.4 s of transfers at 3,000/s, longer than an instance
 * takes to deliver at saturation. 16,384 until session 38 (see `ID_STRING_CACHE_ENTRIES`).
 */
export const INSTANCE_REF_CACHE_ENTRIES = 4_096;

/**
 * The one reference object of a recent instance, with its map key and, when its source is an address, the
 * address's 33-byte form (the address cache's own copy, shared).
 *
 * Every vote and payload names its instance again, and the node looks the instance up in several maps (live
 * instances, commitments, the delivered log). A reference read from a vote is found by one lookup keyed by a
 * hash of its 41 wire bytes (`instanceRefAt`), where spelling the source, building a reference object and
 * finding the key cost three (the address cache, then source and seq); its key is then a field, and writing
 * it into a vote again copies bytes instead of looking the address up. Frozen: shared by every reader.
 *
 * Keys are built by `join`, which makes a flat string, not by a template literal, which makes a *cons* string
 * (a tree of its pieces): V8 compares two equal flat strings in its fast path, but sends a cons string to the
 * C++ runtime (`Runtime_StringEqual`) every time — as happens when a key made again after its generation left
 * meets the old one in a map. Interning them (`internString`) made those comparisons identity checks, but
 * cost ≈ 1.5–4 µs per new key in V8's string table, ≈ 2 % of a node's CPU at saturation
 * (docs/performance-log.md, "Session 25"); a flat string costs ≈ 0.15 µs and compares in ≈ 20 ns. Which
 * object a caller gets never changes a map's answer, only its speed.
 */
interface CanonicalInstance extends InstanceRef {
  /** `source:seq`: unambiguous because seq, the part after the last colon, is an integer. */
  readonly [KEY]: string;
  readonly [SOURCE_BYTES]: Uint8Array | undefined;
}

/**
 * The key and the bytes are properties under this module's own symbols, and not enumerable: a reference reads,
 * compares, spreads and serialises as the plain `{ source, seq }` it stands for, and no other object can be
 * taken for one.
 */
const KEY = Symbol("instance key");
const SOURCE_BYTES = Symbol("instance source bytes");

function makeRef(
  source: string,
  seq: number,
  key: string,
  sourceBytes: Uint8Array | undefined,
): CanonicalInstance {
  const ref = { source, seq };
  Object.defineProperty(ref, KEY, { value: key });
  Object.defineProperty(ref, SOURCE_BYTES, { value: sourceBytes });
  return Object.freeze(ref) as CanonicalInstance;
}

function isCanonical(instance: InstanceRef): instance is CanonicalInstance {
  return (instance as Partial<CanonicalInstance>)[KEY] !== undefined;
}

/** Source account → seq → reference. Source strings come from the address cache: the lookups hash nothing. */
let currentRefs = new Map<string, Map<number, CanonicalInstance>>();
let previousRefs = new Map<string, Map<number, CanonicalInstance>>();
let currentRefCount = 0;

/**
 * The recent reference object for (source, seq): the same object while it is recent, a new one (with the
 * previous generation's key string if it had one) after.
 */
export function instanceRef(source: string, seq: number): InstanceRef {
  return canonical(source, seq);
}

function canonical(source: string, seq: number): CanonicalInstance {
  let bySeq = currentRefs.get(source);
  const recent = bySeq?.get(seq);
  if (recent !== undefined) return recent;
  // The source's bytes are the address cache's shared copy: nothing is copied per reference.
  const ref =
    previousRefs.get(source)?.get(seq) ??
    makeRef(source, seq, [source, seq].join(":"), addressBytesOf(source));
  if (currentRefCount >= INSTANCE_REF_CACHE_ENTRIES) {
    previousRefs = currentRefs;
    currentRefs = new Map();
    currentRefCount = 0;
    bySeq = undefined;
  }
  if (bySeq === undefined) {
    bySeq = new Map();
    currentRefs.set(source, bySeq);
  }
  bySeq.set(seq, ref);
  currentRefCount++;
  return ref;
}

/** Map key of an instance: a field of a recent reference, else that of the reference `instanceRef` gives. */
export function instanceKey(instance: InstanceRef): string {
  return isCanonical(instance) ? instance[KEY] : canonical(instance.source, instance.seq)[KEY];
}

/** The source's 33-byte form if the reference carries it (a recent one whose source is an address). */
export function sourceBytesOf(instance: InstanceRef): Uint8Array | undefined {
  return isCanonical(instance) ? instance[SOURCE_BYTES] : undefined;
}

/** Wire references by a 30-bit hash of their 41 bytes (source, seq); a hit is checked byte for byte. */
let currentWire = new Map<number, CanonicalInstance>();
let previousWire = new Map<number, CanonicalInstance>();
let currentWireCount = 0;

/**
 * The instance named by the 41 bytes at `offset` (a 33-byte address, then seq as a big-endian u64), as its
 * recent reference object. Strict: an unknown address version, or a seq outside 1..MAX_SEQ, is refused with
 * `malformed(reason)`. A hash collision, by chance or made up by a peer, only costs a lookup: the bytes of a
 * hit are compared, and a miss reads the instance as if it were new.
 */
export function instanceRefAt(
  bytes: Uint8Array,
  offset: number,
  malformed: (reason: string) => Error,
): InstanceRef {
  if (offset < 0 || offset + ADDRESS_BYTES + 8 > bytes.length) throw malformed("instance cut short");
  const at = offset + ADDRESS_BYTES;
  const high = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
  const low =
    ((bytes[at + 4]! << 24) | (bytes[at + 5]! << 16) | (bytes[at + 6]! << 8) | bytes[at + 7]!) >>> 0;
  const seq = high * 2 ** 32 + low;
  // high ≥ 2^21 means seq ≥ 2^53: beyond MAX_SEQ, and no longer exact as a double.
  if (high >= 2 ** 21 || seq < 1 || seq > MAX_SEQ) throw malformed("seq out of range");
  const key = wireKey(bytes, offset, high, low);
  const recent = currentWire.get(key);
  if (recent !== undefined && holds(recent, seq, bytes, offset)) return recent;
  const old = previousWire.get(key);
  let ref: CanonicalInstance;
  if (old !== undefined && holds(old, seq, bytes, offset)) {
    ref = old;
  } else {
    let source: string;
    try {
      source = addressAt(bytes, offset);
    } catch (e) {
      throw malformed(`bad source: ${(e as Error).message}`);
    }
    ref = canonical(source, seq);
  }
  if (currentWireCount >= INSTANCE_REF_CACHE_ENTRIES) {
    previousWire = currentWire;
    currentWire = new Map();
    currentWireCount = 0;
  }
  if (currentWire.get(key) !== ref) {
    currentWire.set(key, ref);
    currentWireCount++;
  }
  return ref;
}

/**
 * The wire table's key: the address cache's FNV-1a of the address bytes, continued over the two halves of
 * seq, its top 30 bits (a small integer, hashed and compared without a string). Exported for tests that make
 * collisions.
 */
export function wireKey(bytes: Uint8Array, offset: number, seqHigh: number, seqLow: number): number {
  let h = hashAddressBytes(bytes, offset);
  h = Math.imul(h ^ seqHigh, 0x01000193);
  h = Math.imul(h ^ seqLow, 0x01000193);
  return h >>> 2;
}

function holds(ref: CanonicalInstance, seq: number, bytes: Uint8Array, offset: number): boolean {
  const own = ref[SOURCE_BYTES];
  return ref.seq === seq && own !== undefined && sameAddressBytes(own, bytes, offset);
}

/** ECHO/READY/REQUEST come from peers: check the shape before a single byte of state is spent on them. */
export function isWellFormedInstance(value: unknown): value is InstanceRef {
  if (typeof value !== "object" || value === null) return false;
  const { source, seq } = value as { source?: unknown; seq?: unknown };
  return (
    typeof source === "string" &&
    source.length > 0 &&
    source.length <= MAX_SOURCE_CHARS &&
    typeof seq === "number" &&
    Number.isSafeInteger(seq) &&
    seq >= 1 &&
    seq <= MAX_SEQ
  );
}

export function isWellFormedDigest(value: unknown): value is Digest {
  return typeof value === "string" && value.length > 0 && value.length <= MAX_DIGEST_CHARS;
}

/**
 * A reference safe to keep: a recent reference object is frozen and shared as it is; any other object (a
 * test's, or one that may carry extra fields or be mutated later) is replaced by the recent one for its
 * source and seq, which holds only those.
 */
export function copyRef(instance: InstanceRef): InstanceRef {
  return isCanonical(instance) ? instance : canonical(instance.source, instance.seq);
}
