import { ErrorCode, TallyError } from "../core/errors.ts";

/** One HTTP/1.1 response, read whole. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: Buffer;
  /** The connection may carry another request (HTTP/1.1 without `connection: close`). */
  readonly keepAlive: boolean;
}

/** A status line and headers larger than this are refused: the nodes' answers have a few hundred bytes. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** A body larger than this is refused: a batch answer is ≈ 20 bytes per transfer, at most 1,000 of them. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** A chunk size has at most this many hex digits (2^32 bytes, far above the body bound). */
const MAX_CHUNK_SIZE_DIGITS = 8;
/** A chunk-size line (the size and any extensions) longer than this is refused. */
const MAX_CHUNK_LINE_BYTES = 4096;

const CRLF = Buffer.from("\r\n");
const HEAD_END = Buffer.from("\r\n\r\n");
const EMPTY = Buffer.alloc(0);
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/;
const HEX = /^[0-9a-fA-F]+$/;

type State = "head" | "length" | "chunkSize" | "chunkData" | "chunkEnd" | "trailers" | "untilClose";

function malformed(why: string): TallyError {
  return new TallyError(ErrorCode.BenchFailed, `malformed HTTP response: ${why}`);
}

/**
 * Reads HTTP/1.1 responses from the bytes of one connection, as they arrive in chunks of any size: a state
 * machine with no I/O, so the client around it stays a socket and a queue. Bodies framed by
 * `content-length`, by chunked transfer coding, or by the end of the connection; 1xx answers skipped.
 * Everything from the server is checked and bounded (the head to 64 KiB, the body to 16 MiB): a response that
 * does not parse throws, and the caller drops the connection.
 */
export class HttpResponseReader {
  private pending: Buffer = EMPTY;
  private state: State = "head";
  private status = 0;
  private keepAlive = true;
  /** Bytes still owed by the body (`length`) or by the current chunk (`chunkData`). */
  private remaining = 0;
  private parts: Buffer[] = [];
  private bodyBytes = 0;
  /** Bytes of trailer lines read so far (bounded like a head). */
  private trailerBytes = 0;

  /** Takes the next bytes of the connection; returns the responses they complete, in order. */
  push(chunk: Buffer): HttpAnswer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const answers: HttpAnswer[] = [];
    for (;;) {
      const answer = this.advance();
      if (answer === undefined) return answers;
      if (answer !== null) answers.push(answer);
    }
  }

  /**
   * The server closed the connection. Completes a response whose body runs to the end of the connection;
   * throws if a response was cut short; returns undefined when the close fell between responses.
   */
  end(): HttpAnswer | undefined {
    if (this.state === "untilClose") return this.finish();
    if (this.state === "head" && this.pending.length === 0) return undefined;
    throw malformed("the connection closed in the middle of a response");
  }

  /** One move of the state machine: an answer, null for progress without one, undefined for "need bytes". */
  private advance(): HttpAnswer | null | undefined {
    switch (this.state) {
      case "head":
        return this.readHead();
      case "length": {
        if (!this.takeBody()) return undefined;
        return this.finish();
      }
      case "chunkSize":
        return this.readChunkSize();
      case "chunkData": {
        if (!this.takeBody()) return undefined;
        this.state = "chunkEnd";
        return null;
      }
      case "chunkEnd": {
        if (this.pending.length < 2) return undefined;
        if (this.pending[0] !== 0x0d || this.pending[1] !== 0x0a)
          throw malformed("a chunk not ended by CRLF");
        this.pending = this.pending.subarray(2);
        this.state = "chunkSize";
        return null;
      }
      case "trailers":
        return this.readTrailer();
      case "untilClose": {
        if (this.pending.length === 0) return undefined;
        this.addBody(this.pending);
        this.pending = EMPTY;
        return undefined;
      }
    }
  }

  private readHead(): HttpAnswer | null | undefined {
    const end = this.pending.indexOf(HEAD_END);
    if (end === -1) {
      // Refused only once no terminator can still end the head within the bound, however the bytes are cut.
      if (this.pending.length >= MAX_HEAD_BYTES + HEAD_END.length) {
        throw malformed(`a head over ${MAX_HEAD_BYTES} bytes`);
      }
      return undefined;
    }
    if (end > MAX_HEAD_BYTES) throw malformed(`a head over ${MAX_HEAD_BYTES} bytes`);
    const lines = this.pending.toString("latin1", 0, end).split("\r\n");
    this.pending = this.pending.subarray(end + HEAD_END.length);
    const statusLine = STATUS_LINE.exec(lines[0]!);
    if (statusLine === null) throw malformed(`status line ${JSON.stringify(lines[0]!.slice(0, 80))}`);
    const minor = statusLine[1]!;
    const status = Number(statusLine[2]);
    let length: number | undefined;
    let chunked = false;
    let connection = "";
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(":");
      if (colon <= 0) throw malformed(`header line ${JSON.stringify(line.slice(0, 80))}`);
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "content-length") {
        if (!/^\d{1,10}$/.test(value))
          throw malformed(`content-length ${JSON.stringify(value.slice(0, 20))}`);
        const n = Number(value);
        if (length !== undefined && length !== n) throw malformed("two different content-lengths");
        length = n;
      } else if (name === "transfer-encoding") {
        const codings = value.toLowerCase().split(",");
        chunked = codings[codings.length - 1]!.trim() === "chunked";
        if (!chunked) throw malformed(`transfer-encoding ${JSON.stringify(value.slice(0, 40))}`);
      } else if (name === "connection") {
        connection += `${value.toLowerCase()},`;
      }
    }
    // Informational answers (100 Continue, 103 Early Hints) precede the real one; 101 would switch protocols.
    if (status >= 100 && status < 200) {
      if (status === 101) throw malformed("101 Switching Protocols");
      return null;
    }
    this.status = status;
    this.keepAlive =
      minor === "1" ? !/(^|,)\s*close\s*,/.test(connection) : /(^|,)\s*keep-alive\s*,/.test(connection);
    this.parts = [];
    this.bodyBytes = 0;
    if (status === 204 || status === 304) return this.finish();
    if (chunked) {
      this.state = "chunkSize";
      return null;
    }
    if (length !== undefined) {
      if (length > MAX_BODY_BYTES) throw malformed(`a body of ${length} bytes`);
      this.remaining = length;
      this.state = "length";
      return null;
    }
    // Neither length nor chunks: the body runs to the end of the connection, which then cannot be reused.
    this.keepAlive = false;
    this.state = "untilClose";
    return null;
  }

  private readChunkSize(): null | undefined {
    const end = this.pending.indexOf(CRLF);
    if (
      end > MAX_CHUNK_LINE_BYTES ||
      (end === -1 && this.pending.length >= MAX_CHUNK_LINE_BYTES + CRLF.length)
    ) {
      throw malformed("a chunk-size line too long");
    }
    if (end === -1) return undefined;
    const line = this.pending.toString("latin1", 0, end);
    this.pending = this.pending.subarray(end + 2);
    const digits = line.split(";", 1)[0]!.trim();
    if (!HEX.test(digits) || digits.length > MAX_CHUNK_SIZE_DIGITS) {
      throw malformed(`chunk size ${JSON.stringify(line.slice(0, 40))}`);
    }
    const size = Number.parseInt(digits, 16);
    if (size === 0) {
      this.trailerBytes = 0;
      this.state = "trailers";
      return null;
    }
    if (this.bodyBytes + size > MAX_BODY_BYTES)
      throw malformed(`a chunked body over ${MAX_BODY_BYTES} bytes`);
    this.remaining = size;
    this.state = "chunkData";
    return null;
  }

  private readTrailer(): HttpAnswer | null | undefined {
    const end = this.pending.indexOf(CRLF);
    if (end === -1) {
      if (this.trailerBytes + this.pending.length > MAX_HEAD_BYTES) throw malformed("trailers too long");
      return undefined;
    }
    this.trailerBytes += end + 2;
    if (this.trailerBytes > MAX_HEAD_BYTES) throw malformed("trailers too long");
    this.pending = this.pending.subarray(end + 2);
    // Trailer fields are read past, not used; the empty line ends the response.
    return end === 0 ? this.finish() : null;
  }

  /** Moves up to `remaining` pending bytes into the body; true once none are owed. */
  private takeBody(): boolean {
    const take = Math.min(this.remaining, this.pending.length);
    if (take > 0) {
      this.addBody(this.pending.subarray(0, take));
      this.pending = this.pending.subarray(take);
      this.remaining -= take;
    }
    return this.remaining === 0;
  }

  private addBody(part: Buffer): void {
    this.bodyBytes += part.length;
    if (this.bodyBytes > MAX_BODY_BYTES) throw malformed(`a body over ${MAX_BODY_BYTES} bytes`);
    this.parts.push(part);
  }

  private finish(): HttpAnswer {
    const body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.state = "head";
    return { status: this.status, body, keepAlive: this.keepAlive };
  }
}
