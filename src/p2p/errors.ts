/**
 * Errors of the p2p layer, as data (same shape as `TallyError` in src/core/errors.ts): a stable string code
 * that logs and callers branch on, plus structured metadata for logs.
 *
 * Framing codes are raised by the decoder on bytes a remote peer sent; the transport turns them into a stream
 * reset and a warning, never into an exception that escapes to the node.
 */
export const P2PErrorCode = {
  /** The peer key file has group/other permission bits set. */
  KeyFileInsecure: "P2P_KEY_FILE_INSECURE",
  /** The peer key file exists but does not hold an Ed25519 libp2p private key. */
  KeyFileInvalid: "P2P_KEY_FILE_INVALID",
  /** A frame header announced more than `maxFrameBytes`. */
  FrameTooLarge: "P2P_FRAME_TOO_LARGE",
  /** A message inside a frame (or handed to `send`) is larger than `maxMessageBytes`. */
  MessageTooLarge: "P2P_MESSAGE_TOO_LARGE",
  /** Empty frame, empty message, truncated or non-canonical length prefix. */
  MalformedFrame: "P2P_MALFORMED_FRAME",
  /** The remote stopped reading: no 'drain' within `drainTimeoutMs`. */
  DrainTimeout: "P2P_DRAIN_TIMEOUT",
  InvalidOption: "P2P_INVALID_OPTION",
  InvalidPeer: "P2P_INVALID_PEER",
  NotStarted: "P2P_NOT_STARTED",
} as const;

export type P2PErrorCode = (typeof P2PErrorCode)[keyof typeof P2PErrorCode];

export class P2PError extends Error {
  readonly code: P2PErrorCode;
  readonly meta: Readonly<Record<string, unknown>> | undefined;

  constructor(code: P2PErrorCode, message: string, meta?: Record<string, unknown>) {
    super(message);
    this.name = "P2PError";
    this.code = code;
    this.meta = meta;
  }
}

export function isP2PError(e: unknown, code?: P2PErrorCode): e is P2PError {
  return e instanceof P2PError && (code === undefined || e.code === code);
}

/** Codes that mean "the remote peer sent bytes that break the wire format". */
export function isFramingError(e: unknown): e is P2PError {
  return (
    e instanceof P2PError &&
    (e.code === P2PErrorCode.FrameTooLarge ||
      e.code === P2PErrorCode.MessageTooLarge ||
      e.code === P2PErrorCode.MalformedFrame)
  );
}
