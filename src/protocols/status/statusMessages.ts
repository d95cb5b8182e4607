import { ByteReader } from "../../core/byteReader.ts";
import { toHex } from "../../core/bytes.ts";
import { ErrorCode, TallyError } from "../../core/errors.ts";
import { MAX_NETWORK_ID_BYTES, MAX_SEQ, NETWORK_ID_RE } from "../../core/limits.ts";
import {
  type BucketSummary,
  EMPTY_DIGEST,
  MAX_BUCKET_ACCOUNTS,
  MAX_SEQ_SUM,
  WATERMARK_BUCKETS,
  type WatermarkSnapshot,
} from "./watermarkSummary.ts";

/**
 * Messages of the status protocol and their binary codecs.
 *
 * The request is empty: everything a status answer holds is O(1) to produce, so there is nothing to
 * select. Its encoding is zero bytes; a later version that needs fields gets a new protocol version
 * from the channel envelope.
 *
 * Response layout (all integers big-endian, nothing optional, nothing variable except where noted):
 *   u8 networkLength (1..32) · network (ASCII, NETWORK_ID_RE)
 *   genesis (32 bytes)
 *   u8 protocolCount (1..32) · protocolCount × (u16 id · u16 version ≥ 1), strictly ascending
 *   64 × (u32 accounts · u64 seqSum · 32-byte digest)
 * At most 1 + 32 + 32 + 1 + 32·4 + 64·44 = 3,010 bytes. Decoding allocates nothing beyond the
 * output, rejects trailing bytes, and admits exactly one encoding per value (protocols sorted and
 * unique, the bucket count fixed, the network a lowercase ASCII id).
 */

// biome-ignore lint/complexity/noBannedTypes: the request has no fields by design; see above.
export type StatusRequest = {};

export interface ProtocolVersion {
  /** The protocol's code on the channel envelope (u16). */
  readonly id: number;
  /** A version of it this node speaks (u16, ≥ 1). */
  readonly version: number;
}

export interface StatusResponse {
  readonly network: string;
  /** SHA-256 of the genesis, 64 lowercase hex characters. */
  readonly genesis: string;
  /** Every (protocol, version) the node speaks, ascending by id then version, no duplicates. */
  readonly protocols: readonly ProtocolVersion[];
  readonly watermarks: WatermarkSnapshot;
}

export const MAX_STATUS_PROTOCOLS = 32;
const GENESIS_BYTES = 32;
const DIGEST_BYTES = 32;
const BUCKET_BYTES = 4 + 8 + DIGEST_BYTES;
const PROTOCOL_BYTES = 4;
const MAX_U16 = 0xffff;
export const MAX_STATUS_RESPONSE_BYTES =
  1 +
  MAX_NETWORK_ID_BYTES +
  GENESIS_BYTES +
  1 +
  MAX_STATUS_PROTOCOLS * PROTOCOL_BYTES +
  WATERMARK_BUCKETS * BUCKET_BYTES;
const HEX_64_RE = /^[0-9a-f]{64}$/;

function malformed(message: string): TallyError {
  return new TallyError(ErrorCode.MalformedEncoding, `status message: ${message}`);
}

function invalid(message: string, meta?: Record<string, unknown>): TallyError {
  return new TallyError(ErrorCode.InvalidField, `status message: ${message}`, meta);
}

export function encodeStatusRequest(_request: StatusRequest): Uint8Array {
  return new Uint8Array(0);
}

export function decodeStatusRequest(bytes: Uint8Array): StatusRequest {
  if (bytes.length !== 0) throw malformed(`a status request is empty, got ${bytes.length} bytes`);
  return {};
}

/** Throws InvalidField for values no honest node produces and the codec cannot carry. */
export function checkStatusResponse(response: StatusResponse): void {
  if (!NETWORK_ID_RE.test(response.network)) throw invalid("network id is not a short lowercase name");
  if (!HEX_64_RE.test(response.genesis)) throw invalid("genesis must be 64 lowercase hex characters");
  checkProtocols(response.protocols);
  if (response.watermarks.buckets.length !== WATERMARK_BUCKETS) {
    throw invalid(`expected ${WATERMARK_BUCKETS} watermark buckets`, {
      got: response.watermarks.buckets.length,
    });
  }
  response.watermarks.buckets.forEach(checkBucket);
}

function checkProtocols(protocols: readonly ProtocolVersion[]): void {
  if (protocols.length < 1 || protocols.length > MAX_STATUS_PROTOCOLS) {
    throw invalid(`expected 1 to ${MAX_STATUS_PROTOCOLS} protocols`, { got: protocols.length });
  }
  protocols.forEach((p, i) => {
    if (!Number.isInteger(p.id) || p.id < 0 || p.id > MAX_U16) throw invalid("protocol id must be a u16");
    if (!Number.isInteger(p.version) || p.version < 1 || p.version > MAX_U16) {
      throw invalid("protocol version must be a u16 of at least 1");
    }
    const previous = protocols[i - 1];
    if (previous !== undefined && compareProtocols(previous, p) >= 0) {
      throw new TallyError(ErrorCode.NonCanonical, "status message: protocols must be ascending and unique");
    }
  });
}

export function compareProtocols(a: ProtocolVersion, b: ProtocolVersion): number {
  return a.id - b.id || a.version - b.version;
}

function checkBucket(bucket: BucketSummary, index: number): void {
  const { accounts, seqSum, digest } = bucket;
  if (!Number.isInteger(accounts) || accounts < 0 || accounts > MAX_BUCKET_ACCOUNTS) {
    throw invalid("bucket account count must be a u32", { index });
  }
  if (typeof seqSum !== "bigint" || seqSum < 0n || seqSum > MAX_SEQ_SUM) {
    throw invalid("bucket seq sum must be a u64", { index });
  }
  if (!HEX_64_RE.test(digest)) throw invalid("bucket digest must be 64 lowercase hex characters", { index });
  // Every counted account has a watermark in [1, MAX_SEQ]; an empty bucket has the empty sum.
  if (seqSum < BigInt(accounts) || seqSum > BigInt(accounts) * BigInt(MAX_SEQ)) {
    throw invalid("bucket seq sum is impossible for its account count", { index });
  }
  if (accounts === 0 && digest !== EMPTY_DIGEST)
    throw invalid("an empty bucket has the zero digest", { index });
}

export function encodeStatusResponse(response: StatusResponse): Uint8Array {
  checkStatusResponse(response);
  const size =
    1 +
    response.network.length +
    GENESIS_BYTES +
    1 +
    response.protocols.length * PROTOCOL_BYTES +
    WATERMARK_BUCKETS * BUCKET_BYTES;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let offset = 0;
  out[offset++] = response.network.length;
  out.set(Buffer.from(response.network, "ascii"), offset);
  offset += response.network.length;
  out.set(Buffer.from(response.genesis, "hex"), offset);
  offset += GENESIS_BYTES;
  out[offset++] = response.protocols.length;
  for (const p of response.protocols) {
    view.setUint16(offset, p.id);
    view.setUint16(offset + 2, p.version);
    offset += PROTOCOL_BYTES;
  }
  for (const b of response.watermarks.buckets) {
    view.setUint32(offset, b.accounts);
    view.setBigUint64(offset + 4, b.seqSum);
    out.set(Buffer.from(b.digest, "hex"), offset + 12);
    offset += BUCKET_BYTES;
  }
  return out;
}

export function decodeStatusResponse(bytes: Uint8Array): StatusResponse {
  if (bytes.length > MAX_STATUS_RESPONSE_BYTES) {
    throw new TallyError(
      ErrorCode.LimitExceeded,
      `status response exceeds ${MAX_STATUS_RESPONSE_BYTES} bytes`,
      {
        got: bytes.length,
      },
    );
  }
  const reader = new ByteReader(bytes, malformed);
  const networkLength = reader.u8("network length");
  if (networkLength < 1 || networkLength > MAX_NETWORK_ID_BYTES) {
    throw malformed(`network length ${networkLength} outside 1..${MAX_NETWORK_ID_BYTES}`);
  }
  const network = Buffer.from(reader.bytes(networkLength, "network")).toString("latin1");
  const genesis = toHex(reader.bytes(GENESIS_BYTES, "genesis"));
  const protocolCount = reader.u8("protocol count");
  if (protocolCount > MAX_STATUS_PROTOCOLS) throw malformed(`${protocolCount} protocols`);
  const protocols: ProtocolVersion[] = [];
  for (let i = 0; i < protocolCount; i++) {
    protocols.push({ id: reader.u16("protocol id"), version: reader.u16("protocol version") });
  }
  const buckets: BucketSummary[] = [];
  for (let i = 0; i < WATERMARK_BUCKETS; i++) {
    const accounts = reader.u32("bucket accounts");
    const seqSum = reader.u64("bucket seq sum");
    const digest = toHex(reader.bytes(DIGEST_BYTES, "bucket digest"));
    buckets.push({ accounts, seqSum, digest });
  }
  reader.end();
  const response: StatusResponse = { network, genesis, protocols, watermarks: { buckets } };
  checkStatusResponse(response);
  return response;
}

/** The shape the channel layer takes for each message type of a protocol. */
export const statusRequestCodec = {
  encode: encodeStatusRequest,
  decode: decodeStatusRequest,
} as const satisfies { encode(v: StatusRequest): Uint8Array; decode(b: Uint8Array): StatusRequest };

export const statusResponseCodec = {
  encode: encodeStatusResponse,
  decode: decodeStatusResponse,
} as const satisfies { encode(v: StatusResponse): Uint8Array; decode(b: Uint8Array): StatusResponse };
