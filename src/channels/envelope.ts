import { ErrorCode, TallyError } from "../core/errors.ts";

/**
 * The envelope of one message inside a frame (frames themselves are src/p2p/framing.ts):
 *
 *   envelope  = u8 protocolCode, u8 version, u8 kind, [u32be requestId  ; kind != message]
 *               body                                                  ; the rest of the message
 *   kind      = 0 message (one-way) | 1 request | 2 response | 3 error
 *   errorBody = u8 wireErrorCode, utf8 text                           ; text <= 200 bytes, valid UTF-8
 *
 * protocolCode is 1..255 (0 is never assigned, so a zeroed buffer is not a valid envelope); requestId is never 0.
 * There is no bidirectional stream: a response or error travels on the responder's own outbound stream back to
 * the requester, which matches it by (peer, protocol, requestId).
 *
 * The decoder is strict (one spelling per envelope): whatever decodes re-encodes to the same bytes, and any
 * violation is a `TallyError(ChannelMalformedEnvelope)`.
 */
export const EnvelopeKind = { message: 0, request: 1, response: 2, error: 3 } as const;
export type EnvelopeKindName = keyof typeof EnvelopeKind;
const KIND_NAMES: readonly EnvelopeKindName[] = ["message", "request", "response", "error"];

/** Error codes on the wire. `timeout` is local only: it is what a requester reports when no answer came. */
export const WireErrorCode = {
  unknownProtocol: 1,
  unsupportedVersion: 2,
  forbidden: 3,
  overloaded: 4,
  badRequest: 5,
  internal: 6,
} as const;
export type WireErrorName = keyof typeof WireErrorCode;
export type ChannelErrorName = WireErrorName | "timeout";
const WIRE_ERROR_NAMES: readonly WireErrorName[] = [
  "unknownProtocol",
  "unsupportedVersion",
  "forbidden",
  "overloaded",
  "badRequest",
  "internal",
];

/** A channel-level failure: received from a peer (wire codes) or raised locally (also `timeout`). */
export interface ChannelError {
  code: ChannelErrorName;
  text: string;
}

export const MIN_PROTOCOL_CODE = 1;
export const MAX_PROTOCOL_CODE = 255;
export const MAX_PROTOCOL_VERSION = 255;
export const MAX_REQUEST_ID = 0xffff_ffff;
/** Long enough for a useful reason, short enough that an error reply is never a meaningful cost. */
export const MAX_ERROR_TEXT_BYTES = 200;
export const MESSAGE_HEADER_BYTES = 3;
export const REQUEST_HEADER_BYTES = 7;

export interface Envelope {
  protocolCode: number;
  version: number;
  kind: EnvelopeKindName;
  /** 0 for kind "message", 1..2^32-1 otherwise. */
  requestId: number;
  /** A view into the decoded bytes (not a copy). */
  body: Uint8Array;
}

export function headerBytes(kind: EnvelopeKindName): number {
  return kind === "message" ? MESSAGE_HEADER_BYTES : REQUEST_HEADER_BYTES;
}

export function encodeEnvelope(env: Envelope): Uint8Array {
  checkHeaderFields(env.protocolCode, env.version, env.kind, env.requestId, "encodeEnvelope");
  const head = headerBytes(env.kind);
  const out = new Uint8Array(head + env.body.length);
  out[0] = env.protocolCode;
  out[1] = env.version;
  out[2] = EnvelopeKind[env.kind];
  if (env.kind !== "message") {
    out[3] = env.requestId >>> 24;
    out[4] = (env.requestId >>> 16) & 0xff;
    out[5] = (env.requestId >>> 8) & 0xff;
    out[6] = env.requestId & 0xff;
  }
  out.set(env.body, head);
  return out;
}

/** Decode the header; the body is a view. An error envelope's body is validated too (`decodeErrorBody`). */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  if (bytes.length < MESSAGE_HEADER_BYTES) malformed("envelope shorter than its header", bytes.length);
  const protocolCode = bytes[0]!;
  const version = bytes[1]!;
  const kindCode = bytes[2]!;
  if (protocolCode < MIN_PROTOCOL_CODE) malformed("protocol code 0", bytes.length);
  const kind = KIND_NAMES[kindCode];
  if (kind === undefined) malformed(`unknown kind ${kindCode}`, bytes.length);
  let requestId = 0;
  if (kind !== "message") {
    if (bytes.length < REQUEST_HEADER_BYTES)
      malformed("envelope shorter than its request header", bytes.length);
    requestId = ((bytes[3]! << 24) >>> 0) + (bytes[4]! << 16) + (bytes[5]! << 8) + bytes[6]!;
    if (requestId === 0) malformed("request id 0", bytes.length);
  }
  const body = bytes.subarray(headerBytes(kind));
  if (kind === "error") decodeErrorBody(body);
  return { protocolCode, version, kind, requestId, body };
}

const utf8Encoder = new TextEncoder();
// fatal: invalid UTF-8 is an error, not U+FFFD; ignoreBOM: a leading BOM is kept, so text re-encodes exactly.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Build an error body; text longer than 200 bytes is cut at a character boundary (never on the wire too long). */
export function encodeErrorBody(code: WireErrorName, text: string): Uint8Array {
  const textBytes = truncateUtf8(text, MAX_ERROR_TEXT_BYTES);
  const out = new Uint8Array(1 + textBytes.length);
  out[0] = WireErrorCode[code];
  out.set(textBytes, 1);
  return out;
}

export function decodeErrorBody(body: Uint8Array): { code: WireErrorName; text: string } {
  if (body.length < 1) malformed("error body without a code", body.length);
  const code = WIRE_ERROR_NAMES[body[0]! - 1];
  if (code === undefined) malformed(`unknown error code ${body[0]}`, body.length);
  if (body.length - 1 > MAX_ERROR_TEXT_BYTES) malformed("error text longer than 200 bytes", body.length);
  let text: string;
  try {
    text = utf8Decoder.decode(body.subarray(1));
  } catch {
    malformed("error text is not valid UTF-8", body.length);
  }
  return { code, text };
}

function truncateUtf8(text: string, maxBytes: number): Uint8Array {
  const bytes = utf8Encoder.encode(text);
  if (bytes.length <= maxBytes) return bytes;
  // bytes[cut] is the first byte left out; while it continues a character, that character straddles the cut.
  let cut = maxBytes;
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return bytes.subarray(0, cut);
}

function checkHeaderFields(
  protocolCode: number,
  version: number,
  kind: EnvelopeKindName,
  requestId: number,
  where: string,
): void {
  const ok =
    Number.isInteger(protocolCode) &&
    protocolCode >= MIN_PROTOCOL_CODE &&
    protocolCode <= MAX_PROTOCOL_CODE &&
    Number.isInteger(version) &&
    version >= 0 &&
    version <= MAX_PROTOCOL_VERSION &&
    KIND_NAMES.includes(kind) &&
    (kind === "message"
      ? requestId === 0
      : Number.isInteger(requestId) && requestId >= 1 && requestId <= MAX_REQUEST_ID);
  if (!ok) {
    throw new TallyError(ErrorCode.ChannelInvalidOption, `${where}: invalid envelope header`, {
      protocolCode,
      version,
      kind,
      requestId,
    });
  }
}

function malformed(reason: string, length: number): never {
  throw new TallyError(ErrorCode.ChannelMalformedEnvelope, reason, { length });
}
