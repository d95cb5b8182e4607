import { addressFromBytes, decodeAddress } from "../../core/address.ts";
import { ByteReader } from "../../core/byteReader.ts";
import { fromHex, toHex } from "../../core/bytes.ts";
import { ByteWriter } from "../../core/byteWriter.ts";
import { ErrorCode, TallyError } from "../../core/errors.ts";
import { MAX_SEQ, TRANSFER_ID_BYTES } from "../../core/limits.ts";
import { WATERMARK_BUCKETS } from "../status/watermarkSummary.ts";

/**
 * Messages of the sync protocol (catch-up) and their binary codecs. Three questions, each bounded:
 *
 *  - `watermarks`: the (account, watermark) pairs of some watermark buckets, in ascending address (string) order
 *    after an optional cursor; at most MAX_WATERMARK_ENTRIES per answer, `more` when the listing goes on;
 *  - `digests`: the ids of an account's resolved transfers for seqs fromSeq … fromSeq + count − 1
 *    (count ≤ MAX_DIGESTS); the answer stops at the first seq the peer has not resolved;
 *  - `bodies`: the same range with the transfers' bytes (count ≤ MAX_BODIES, ≤ MAX_BODY_ANSWER_BYTES).
 *
 * Layout (big-endian): request = u8 kind · fields; response = u8 kind · fields.
 *   watermarks req: u8 n (1..64) · n × u8 bucket (strictly ascending, < 64) · u8 hasCursor · [33-byte address]
 *   watermarks res: u16 n (≤ 512) · n × (33-byte address · u64 seq ≥ 1) · u8 more (0|1)
 *   digests req / bodies req: 33-byte address · u64 fromSeq ≥ 1 · u8 count
 *   digests res: u8 n · n × 32-byte id
 *   bodies res: u8 n · n × (u32 length · bytes)
 * Every decoder reads through a bounds-checked cursor, rejects trailing bytes and throws only TallyError.
 */
export const MAX_WATERMARK_ENTRIES = 512;
export const MAX_DIGESTS = 64;
export const MAX_BODIES = 16;
/** A transfer is at most ~20 KiB (256 deps, 64 outputs); 16 of them fit. */
export const MAX_BODY_ANSWER_BYTES = 512 * 1024;
const ADDRESS_BYTES = 33;

export type SyncRequest =
  | { readonly kind: "watermarks"; readonly buckets: readonly number[]; readonly after?: string | undefined }
  | { readonly kind: "digests"; readonly source: string; readonly fromSeq: number; readonly count: number }
  | { readonly kind: "bodies"; readonly source: string; readonly fromSeq: number; readonly count: number };

export type SyncResponse =
  | {
      readonly kind: "watermarks";
      readonly entries: readonly (readonly [address: string, seq: number])[];
      readonly more: boolean;
    }
  | { readonly kind: "digests"; readonly ids: readonly string[] }
  | { readonly kind: "bodies"; readonly bodies: readonly Uint8Array[] };

const KIND_CODES = { watermarks: 1, digests: 2, bodies: 3 } as const;

function malformed(message: string): TallyError {
  return new TallyError(ErrorCode.MalformedEncoding, `sync message: ${message}`);
}

/** The sync messages' reads on top of the shared reader: seqs in range, addresses. */
class SyncReader extends ByteReader {
  constructor(bytes: Uint8Array) {
    super(bytes, malformed);
  }
  seq(): number {
    const v = this.u64("seq");
    if (v < 1n || v > BigInt(MAX_SEQ)) throw malformed("seq out of range");
    return Number(v);
  }
  address(): string {
    return addressFromBytes(this.bytes(ADDRESS_BYTES, "address"));
  }
}

function checkCount(count: number, max: number): void {
  if (!Number.isInteger(count) || count < 1 || count > max) throw malformed(`count must be in 1..${max}`);
}

function checkBuckets(buckets: readonly number[]): void {
  if (buckets.length < 1 || buckets.length > WATERMARK_BUCKETS) throw malformed("1..64 buckets");
  buckets.forEach((b, i) => {
    if (!Number.isInteger(b) || b < 0 || b >= WATERMARK_BUCKETS) throw malformed("bucket out of range");
    if (i > 0 && b <= buckets[i - 1]!) throw malformed("buckets must be strictly ascending");
  });
}

export function encodeSyncRequest(request: SyncRequest): Uint8Array {
  const w = new ByteWriter();
  w.u8(KIND_CODES[request.kind]);
  if (request.kind === "watermarks") {
    checkBuckets(request.buckets);
    w.u8(request.buckets.length);
    for (const b of request.buckets) w.u8(b);
    w.u8(request.after === undefined ? 0 : 1);
    if (request.after !== undefined) w.bytes(decodeAddress(request.after).bytes);
  } else {
    checkCount(request.count, request.kind === "digests" ? MAX_DIGESTS : MAX_BODIES);
    w.bytes(decodeAddress(request.source).bytes);
    w.u64(request.fromSeq);
    w.u8(request.count);
  }
  return w.finish();
}

export function decodeSyncRequest(bytes: Uint8Array): SyncRequest {
  const r = new SyncReader(bytes);
  const kind = r.u8("kind");
  let request: SyncRequest;
  if (kind === KIND_CODES.watermarks) {
    const n = r.u8("count");
    const buckets: number[] = [];
    for (let i = 0; i < n; i++) buckets.push(r.u8("bucket"));
    checkBuckets(buckets);
    const hasCursor = r.u8("cursor flag");
    if (hasCursor > 1) throw malformed("cursor flag must be 0 or 1");
    request = { kind: "watermarks", buckets, ...(hasCursor === 1 ? { after: r.address() } : {}) };
  } else if (kind === KIND_CODES.digests || kind === KIND_CODES.bodies) {
    const source = r.address();
    const fromSeq = r.seq();
    const count = r.u8("count");
    const k = kind === KIND_CODES.digests ? "digests" : "bodies";
    checkCount(count, k === "digests" ? MAX_DIGESTS : MAX_BODIES);
    request = { kind: k, source, fromSeq, count };
  } else {
    throw malformed(`unknown request kind ${kind}`);
  }
  r.end();
  return request;
}

export function encodeSyncResponse(response: SyncResponse): Uint8Array {
  const w = new ByteWriter();
  w.u8(KIND_CODES[response.kind]);
  if (response.kind === "watermarks") {
    if (response.entries.length > MAX_WATERMARK_ENTRIES) throw malformed("too many watermark entries");
    w.u16(response.entries.length);
    for (const [address, seq] of response.entries) {
      w.bytes(decodeAddress(address).bytes);
      w.u64(seq);
    }
    w.u8(response.more ? 1 : 0);
  } else if (response.kind === "digests") {
    if (response.ids.length > MAX_DIGESTS) throw malformed("too many digests");
    w.u8(response.ids.length);
    for (const id of response.ids) w.bytes(fromHex(id, TRANSFER_ID_BYTES, "id"));
  } else {
    if (response.bodies.length > MAX_BODIES) throw malformed("too many bodies");
    w.u8(response.bodies.length);
    for (const b of response.bodies) {
      w.u32(b.length);
      w.bytes(b);
    }
  }
  return w.finish();
}

export function decodeSyncResponse(bytes: Uint8Array): SyncResponse {
  if (bytes.length > MAX_BODY_ANSWER_BYTES + 1 + MAX_BODIES * 4) throw malformed("answer too long");
  const r = new SyncReader(bytes);
  const kind = r.u8("kind");
  let response: SyncResponse;
  if (kind === KIND_CODES.watermarks) {
    const n = r.u16("count");
    if (n > MAX_WATERMARK_ENTRIES) throw malformed("too many watermark entries");
    const entries: [string, number][] = [];
    for (let i = 0; i < n; i++) entries.push([r.address(), r.seq()]);
    const more = r.u8("more flag");
    if (more > 1) throw malformed("more flag must be 0 or 1");
    response = { kind: "watermarks", entries, more: more === 1 };
  } else if (kind === KIND_CODES.digests) {
    const n = r.u8("count");
    if (n > MAX_DIGESTS) throw malformed("too many digests");
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(toHex(r.bytes(TRANSFER_ID_BYTES, "id")));
    response = { kind: "digests", ids };
  } else if (kind === KIND_CODES.bodies) {
    const n = r.u8("count");
    if (n > MAX_BODIES) throw malformed("too many bodies");
    const bodies: Uint8Array[] = [];
    for (let i = 0; i < n; i++) bodies.push(r.bytes(r.u32("body length"), "body").slice());
    response = { kind: "bodies", bodies };
  } else {
    throw malformed(`unknown response kind ${kind}`);
  }
  r.end();
  return response;
}

export const syncRequestCodec = { encode: encodeSyncRequest, decode: decodeSyncRequest };
export const syncResponseCodec = { encode: encodeSyncResponse, decode: decodeSyncResponse };
