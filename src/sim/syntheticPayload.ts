import type { Digest, InspectPayload, InstanceRef } from "../broadcast/types.ts";

/**
 * Simulated transfers: the broadcast is payload-agnostic (it sees bytes through `inspect`), so the
 * simulator uses a cheap stand-in instead of signing and verifying ed25519 at 10,000 nodes. Layout:
 * u32 source, u32 seq, u32 variant (a byzantine source's second payload has variant 1), zero padding
 * up to the configured size (a real transfer is ≈ 180 bytes). The digest spells those three numbers,
 * so two payloads share a digest iff they are the same payload, like SHA-256 in practice.
 */
const HEADER_BYTES = 12;

export function syntheticPayload(
  source: number,
  seq: number,
  variant: number,
  sizeBytes: number,
): Uint8Array {
  const bytes = new Uint8Array(Math.max(HEADER_BYTES, sizeBytes));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, source);
  view.setUint32(4, seq);
  view.setUint32(8, variant);
  return bytes;
}

export function syntheticSource(source: number): string {
  return `account-${source}`;
}

/** The number behind a synthetic source ("account-7" → 7). */
export function syntheticSourceNumber(instance: InstanceRef): number | undefined {
  const match = /^account-(\d+)$/.exec(instance.source);
  return match === null ? undefined : Number(match[1]);
}

export function syntheticDigest(source: number, seq: number, variant: number): Digest {
  return `${source.toString(16).padStart(8, "0")}${seq.toString(16).padStart(8, "0")}${variant.toString(16).padStart(8, "0")}`.padEnd(
    64,
    "0",
  );
}

export const inspectSyntheticPayload: InspectPayload = (payload) => {
  if (payload.length < HEADER_BYTES) return null;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const source = view.getUint32(0);
  const seq = view.getUint32(4);
  const variant = view.getUint32(8);
  if (seq < 1) return null;
  const instance: InstanceRef = { source: syntheticSource(source), seq };
  return { instance, digest: syntheticDigest(source, seq, variant) };
};
