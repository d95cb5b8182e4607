import { ErrorCode, TallyError } from "../core/errors.ts";

/**
 * Wire format of the Tally message protocol (one long-lived, one-directional stream per ordered peer pair):
 *
 *   stream  = *frame
 *   frame   = u32be(payloadBytes) payload          ; 1 <= payloadBytes <= maxFrameBytes
 *   payload = 1*(varint(msgBytes) msg)             ; 1 <= msgBytes <= maxMessageBytes, msgs fill payload exactly
 *   varint  = unsigned LEB128, minimal encoding, at most 4 bytes
 *
 * A frame carries a batch of application messages (docs/architecture.md, "Decisions": one stream write per message caps throughput at
 * a few 10k msgs/s, batching reaches ~1M/s). The frame header is fixed-width so the receiver knows the size
 * before buffering anything and can reject an oversized frame from its first 4 bytes. Messages are opaque bytes
 * to this layer; their meaning belongs to the protocol cores.
 *
 * The decoder is strict — one spelling per frame — and any violation is a `TallyError` with a framing code; the
 * transport resets the offending stream.
 */
/**
 * 2.0.0: the messages inside frames carry an envelope (protocol code, version, kind, request id); frames are
 * unchanged. The major version moves whenever an older node would misread the messages, so that
 * multistream-select refuses the stream instead of the older node acting on bytes it misunderstands.
 */
export const TALLY_MSG_PROTOCOL = "/tally/msg/2.0.0";

export const FRAME_HEADER_BYTES = 4;
/** Large enough for ~30k small gossip items per frame, small enough that one frame is a short burst of work. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
/** Transfers are < 8 KiB; payload pulls and catch-up batches get head room, but one message never hogs a frame. */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024;
/** Four LEB128 bytes carry 28 bits, so message sizes stay below 256 MiB whatever the options say. */
export const MAX_LENGTH_PREFIX_BYTES = 4;
const MAX_ENCODABLE_MESSAGE_BYTES = 2 ** (7 * MAX_LENGTH_PREFIX_BYTES) - 1;

export interface FrameLimits {
  /** Upper bound of a frame's payload (excluding the 4-byte header). */
  maxFrameBytes: number;
  /** Upper bound of one message (excluding its length prefix). */
  maxMessageBytes: number;
}

export function validateFrameLimits(limits: FrameLimits): void {
  const { maxFrameBytes, maxMessageBytes } = limits;
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 16 || maxFrameBytes > 0xffff_ffff) {
    throw new TallyError(ErrorCode.InvalidOption, "maxFrameBytes must be an integer in [16, 2^32-1]", {
      maxFrameBytes,
      maxMessageBytes,
    });
  }
  if (
    !Number.isSafeInteger(maxMessageBytes) ||
    maxMessageBytes < 1 ||
    maxMessageBytes > MAX_ENCODABLE_MESSAGE_BYTES
  ) {
    throw new TallyError(ErrorCode.InvalidOption, "maxMessageBytes must be an integer in [1, 2^28-1]", {
      maxFrameBytes,
      maxMessageBytes,
    });
  }
  if (encodedMessageBytes(maxMessageBytes) > maxFrameBytes) {
    throw new TallyError(
      ErrorCode.InvalidOption,
      "maxFrameBytes must fit one maximal message with its length prefix",
      { maxFrameBytes, maxMessageBytes },
    );
  }
}

export function lengthPrefixBytes(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x20_0000 ? 3 : 4;
}

/** Bytes a message of `n` bytes takes inside a frame payload. */
export function encodedMessageBytes(n: number): number {
  return lengthPrefixBytes(n) + n;
}

/**
 * Encode `messages[start..end)` as one frame. `payloadBytes` must be the sum of their `encodedMessageBytes`
 * (the caller computed it while choosing the batch, so it is not recomputed here).
 */
export function encodeFrame(
  messages: readonly Uint8Array[],
  start: number,
  end: number,
  payloadBytes: number,
): Uint8Array {
  // allocUnsafe skips zero-filling; every byte is written below.
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payloadBytes);
  frame.writeUInt32BE(payloadBytes, 0);
  let off = FRAME_HEADER_BYTES;
  for (let i = start; i < end; i++) {
    const msg = messages[i]!;
    let n = msg.length;
    while (n >= 0x80) {
      frame[off++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    frame[off++] = n;
    frame.set(msg, off);
    off += msg.length;
  }
  if (off !== frame.length)
    throw new Error(`encodeFrame: payloadBytes ${payloadBytes} does not match messages`);
  return frame;
}

/** Convenience for tests and tools: frame a whole list. */
export function encodeFrameOf(messages: readonly Uint8Array[]): Uint8Array {
  let payloadBytes = 0;
  for (const m of messages) payloadBytes += encodedMessageBytes(m.length);
  return encodeFrame(messages, 0, messages.length, payloadBytes);
}

/**
 * Split a frame payload into its messages. All-or-nothing: a malformed frame yields no message at all, so a
 * receiver never acts on half a batch. The returned views share memory with `payload`.
 */
export function decodeFramePayload(payload: Uint8Array, maxMessageBytes: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const end = payload.length;
  let off = 0;
  while (off < end) {
    let len = 0;
    let shift = 0;
    let prefixBytes = 0;
    let b: number;
    do {
      if (prefixBytes === MAX_LENGTH_PREFIX_BYTES) {
        throw new TallyError(ErrorCode.MessageTooLarge, "message length prefix longer than 4 bytes", {
          off,
        });
      }
      if (off >= end) throw new TallyError(ErrorCode.MalformedFrame, "truncated message length", { off });
      b = payload[off++]!;
      len += (b & 0x7f) * 2 ** shift;
      shift += 7;
      prefixBytes++;
    } while (b & 0x80);
    if (prefixBytes > 1 && b === 0) {
      throw new TallyError(ErrorCode.MalformedFrame, "non-minimal message length", { off });
    }
    if (len === 0) throw new TallyError(ErrorCode.MalformedFrame, "empty message", { off });
    if (len > maxMessageBytes) {
      throw new TallyError(ErrorCode.MessageTooLarge, "message exceeds maxMessageBytes", {
        len,
        maxMessageBytes,
      });
    }
    if (len > end - off) {
      throw new TallyError(ErrorCode.MalformedFrame, "message overruns its frame", { len, left: end - off });
    }
    out.push(payload.subarray(off, off + len));
    off += len;
  }
  return out;
}

/** Where a decoder reserves the memory of a frame that spans chunks (see inboundBufferBudget.ts). */
export interface FrameBufferBudget {
  /** False when `bytes` more would break a cap; the decoder then throws `InboundBufferFull`. */
  tryReserve(bytes: number): boolean;
  release(bytes: number): void;
}

/**
 * Incremental frame splitter for one inbound stream: feed it chunks as they arrive, it calls `onFrame` with
 * each complete payload. A frame that arrives whole inside one chunk is handed out as a view (no copy);
 * a frame spread over chunks is assembled in a buffer allocated once, at its announced size — which was
 * checked against `maxFrameBytes` and reserved from the optional `budget` before allocating — so a slow or
 * hostile sender costs at most one frame of memory per stream, and all streams together at most the budget.
 */
export class FrameDecoder {
  private readonly maxFrameBytes: number;
  private readonly budget: FrameBufferBudget | undefined;
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFilled = 0;
  private body: Uint8Array | null = null;
  private bodyFilled = 0;

  constructor(maxFrameBytes: number, budget?: FrameBufferBudget) {
    this.maxFrameBytes = maxFrameBytes;
    this.budget = budget;
  }

  /** Give back the reservation of a partial frame; call once when the stream ends. */
  dispose(): void {
    if (this.body !== null) this.budget?.release(this.body.length);
    this.body = null;
    this.bodyFilled = 0;
    this.headerFilled = 0;
  }

  /** Bytes held for a frame that has not completed yet. */
  get bufferedBytes(): number {
    return this.headerFilled + this.bodyFilled;
  }

  /**
   * Throws a framing `TallyError` on a bad header, or `InboundBufferFull` when the budget refuses a partial
   * frame; after either the decoder must be disposed with its stream.
   */
  push(chunk: Uint8Array, onFrame: (payload: Uint8Array) => void): void {
    const n = chunk.length;
    let off = 0;
    while (off < n) {
      const body = this.body;
      if (body !== null) {
        const take = Math.min(body.length - this.bodyFilled, n - off);
        body.set(chunk.subarray(off, off + take), this.bodyFilled);
        this.bodyFilled += take;
        off += take;
        if (this.bodyFilled === body.length) {
          this.body = null;
          this.bodyFilled = 0;
          // Released before dispatch: the handler may keep views into `body`, which this layer cannot track.
          this.budget?.release(body.length);
          onFrame(body);
        }
        continue;
      }
      let len: number;
      if (this.headerFilled === 0 && n - off >= FRAME_HEADER_BYTES) {
        len = readU32BE(chunk, off);
        off += FRAME_HEADER_BYTES;
        this.checkFrameLength(len);
        if (n - off >= len) {
          // Fast path: the whole frame is in this chunk.
          onFrame(chunk.subarray(off, off + len));
          off += len;
          continue;
        }
      } else {
        const take = Math.min(FRAME_HEADER_BYTES - this.headerFilled, n - off);
        this.header.set(chunk.subarray(off, off + take), this.headerFilled);
        this.headerFilled += take;
        off += take;
        if (this.headerFilled < FRAME_HEADER_BYTES) return;
        this.headerFilled = 0;
        len = readU32BE(this.header, 0);
        this.checkFrameLength(len);
      }
      if (this.budget !== undefined && !this.budget.tryReserve(len)) {
        throw new TallyError(ErrorCode.InboundBufferFull, "no buffer budget left for a partial frame", {
          len,
        });
      }
      this.body = new Uint8Array(len);
      this.bodyFilled = 0;
    }
  }

  private checkFrameLength(len: number): void {
    if (len === 0) throw new TallyError(ErrorCode.MalformedFrame, "empty frame");
    if (len > this.maxFrameBytes) {
      throw new TallyError(ErrorCode.FrameTooLarge, "frame exceeds maxFrameBytes", {
        len,
        maxFrameBytes: this.maxFrameBytes,
      });
    }
  }
}

function readU32BE(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) >>> 0) + (b[off + 1]! << 16) + (b[off + 2]! << 8) + b[off + 3]!;
}
