import { MAX_SEQ } from "../../core/limits.ts";
import type { Digest, InstanceRef } from "../types.ts";

/** Addresses are ~63 characters of bech32m; the slack admits a future address version, the cap bounds a vote's memory. */
export const MAX_SOURCE_CHARS = 128;
/** A SHA-256 digest is 64 hex characters; room for an algorithm prefix, nothing more. */
export const MAX_DIGEST_CHARS = 128;

/**
 * Keys handed out recently, per generation: source account → seq → key. When the current generation holds
 * this many keys it becomes the previous one and the one before is dropped, so at most twice this many are
 * held (≈ 100 bytes each).
 */
export const INSTANCE_KEY_CACHE_ENTRIES = 16_384;
let currentKeys = new Map<string, Map<number, string>>();
let previousKeys = new Map<string, Map<number, string>>();
let currentCount = 0;

/**
 * Map key of an instance. Unambiguous because seq, the part after the last colon, is an integer.
 *
 * The same instance gets the same string object while it is recent: every vote and payload names its instance
 * again, and the node looks it up in several maps (live instances, commitments, the delivered log). A key
 * built afresh each time is a new string whose hash must be computed and whose characters must be compared
 * with the stored key's (a cache miss in a large map): ≈ 1 µs per lookup against ≈ 0.1 µs for the stored
 * object. Source strings come from the address cache, so the two-level lookup here hashes nothing.
 *
 * Keys are built by `join`, which makes a flat string, not by a template literal, which makes a *cons* string
 * (a tree of its pieces): V8 compares two equal flat strings in its fast path, but sends a cons string to the
 * C++ runtime (`Runtime_StringEqual`) every time — as happens when a key made again after its generation left
 * meets the old one in a map. Interning them (`internString`) made those comparisons identity checks, but
 * cost ≈ 1.5–4 µs per new key in V8's string table, ≈ 2 % of a node's CPU at saturation (docs/benchmarks.md,
 * "Session 25"); a flat string costs ≈ 0.15 µs and compares in ≈ 20 ns. Which object a caller gets never changes
 * a map's answer, only its speed.
 */
export function instanceKey(instance: InstanceRef): string {
  const { source, seq } = instance;
  let bySeq = currentKeys.get(source);
  const recent = bySeq?.get(seq);
  if (recent !== undefined) return recent;
  const key = previousKeys.get(source)?.get(seq) ?? [source, seq].join(":");
  if (currentCount >= INSTANCE_KEY_CACHE_ENTRIES) {
    previousKeys = currentKeys;
    currentKeys = new Map();
    currentCount = 0;
    bySeq = undefined;
  }
  if (bySeq === undefined) {
    bySeq = new Map();
    currentKeys.set(source, bySeq);
  }
  bySeq.set(seq, key);
  currentCount++;
  return key;
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

/** Peer-supplied objects may carry extra fields or be mutated later; keep only what we read. */
export function copyRef(instance: InstanceRef): InstanceRef {
  return { source: instance.source, seq: instance.seq };
}
