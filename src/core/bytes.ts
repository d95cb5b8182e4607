import { ErrorCode, TallyError } from "./errors.ts";

const HEX_RE = /^(?:[0-9a-f]{2})*$/;

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Lowercase hex only: the JSON view must have exactly one spelling per byte string. */
export function fromHex(hex: string, expectedBytes: number | undefined, field: string): Uint8Array {
  if (typeof hex !== "string" || !HEX_RE.test(hex)) {
    throw new TallyError(ErrorCode.InvalidField, `${field}: expected lowercase hex`);
  }
  if (expectedBytes !== undefined && hex.length !== expectedBytes * 2) {
    throw new TallyError(ErrorCode.InvalidField, `${field}: expected ${expectedBytes} bytes of hex`);
  }
  return new Uint8Array(Buffer.from(hex, "hex"));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The bytes as a one-byte string, one character per byte: a compact copy to keep (one heap object, where a
 * `Uint8Array` copy is a view, a buffer and its store).
 */
export function latin1Of(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/** Whether `kept` (from `latin1Of`) holds exactly `bytes`. */
export function sameLatin1Bytes(kept: string, bytes: Uint8Array): boolean {
  if (kept.length !== bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (kept.charCodeAt(i) !== bytes[i]) return false;
  return true;
}

/** Lexicographic byte order; the canonical order of deps and outputs. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}
