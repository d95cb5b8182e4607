import { ErrorCode, TallyError } from "../core/errors.ts";

/** Codes that mean "the remote peer sent bytes that break the wire format": reset its stream, never throw on. */
export function isFramingError(e: unknown): e is TallyError {
  return (
    e instanceof TallyError &&
    (e.code === ErrorCode.FrameTooLarge ||
      e.code === ErrorCode.MessageTooLarge ||
      e.code === ErrorCode.MalformedFrame)
  );
}
