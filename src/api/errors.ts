import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { ErrorCode, isTallyError } from "../core/errors.ts";

/** One place maps every error to `{code, message}` and a status; a client's bad input is never a 5xx. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  [ErrorCode.MalformedEncoding]: 400,
  [ErrorCode.UnsupportedVersion]: 400,
  [ErrorCode.LimitExceeded]: 400,
  [ErrorCode.NonCanonical]: 400,
  [ErrorCode.InvalidField]: 400,
  [ErrorCode.InvalidAddress]: 400,
  [ErrorCode.WrongNetwork]: 400,
  [ErrorCode.BadSignature]: 400,
  [ErrorCode.UnsupportedAuthorization]: 400,
  [ErrorCode.SharedDefinitionMismatch]: 400,
  [ErrorCode.SharedInvalidCertificate]: 400,
  [ErrorCode.SeqConflict]: 409,
  [ErrorCode.StaleSeq]: 409,
  [ErrorCode.SeqTooFarAhead]: 409,
  [ErrorCode.InsufficientFunds]: 409,
  [ErrorCode.InvalidDependency]: 409,
  [ErrorCode.UnknownDependency]: 409,
  [ErrorCode.SharedBadIntent]: 403,
  [ErrorCode.SharedStaleIntent]: 409,
  [ErrorCode.SharedIntentReplayed]: 409,
  [ErrorCode.PendingFull]: 429,
};

export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  constructor(statusCode: number, code: string, message: string) {
    super(message);
    this.statusCode = statusCode;
    this.code = code;
  }
}

export function errorHandler(log: Logger) {
  return (error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void => {
    if (error instanceof HttpError) {
      void reply.status(error.statusCode).send({ code: error.code, message: error.message });
      return;
    }
    if (isTallyError(error)) {
      const status = STATUS_BY_CODE[error.code] ?? 400;
      log.debug({ code: error.code, url: request.url }, error.message);
      void reply.status(status).send({ code: error.code, message: error.message });
      return;
    }
    const fastifyError = error as FastifyError;
    if (fastifyError.validation !== undefined) {
      void reply.status(400).send({ code: "INVALID_REQUEST", message: error.message });
      return;
    }
    const status = fastifyError.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      // Fastify's own client errors: malformed JSON, body too large (413), wrong content type.
      const code =
        status === 413 ? "PAYLOAD_TOO_LARGE" : status === 415 ? "UNSUPPORTED_MEDIA_TYPE" : "INVALID_REQUEST";
      void reply.status(status).send({ code, message: error.message });
      return;
    }
    log.error({ err: error, url: request.url }, "unexpected error serving request");
    void reply.status(500).send({ code: "INTERNAL", message: "internal error" });
  };
}
