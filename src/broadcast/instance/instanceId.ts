import { MAX_SEQ } from "../../core/limits.ts";
import type { Digest, InstanceRef } from "../types.ts";

/** Addresses are ~63 characters of bech32m; the slack admits a future address version, the cap bounds a vote's memory. */
export const MAX_SOURCE_CHARS = 128;
/** A SHA-256 digest is 64 hex characters; room for an algorithm prefix, nothing more. */
export const MAX_DIGEST_CHARS = 128;

/** Map key of an instance. Unambiguous because seq, the part after the last colon, is an integer. */
export function instanceKey(instance: InstanceRef): string {
  return `${instance.source}:${instance.seq}`;
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
