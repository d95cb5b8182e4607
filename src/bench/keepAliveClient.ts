import { connect, type Socket } from "node:net";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { type HttpAnswer, HttpResponseReader } from "./httpResponseReader.ts";

/** What may go into the request line and the content-type header as given: no spaces or line breaks. */
const TOKEN = /^[A-Z]+$/;
const PATH = /^\/[\x21-\x7e]*$/;
const HEADER_VALUE = /^[\x20-\x7e]+$/;

export type AnswerCallback = (error: Error | undefined, answer: HttpAnswer | undefined) => void;

interface PendingRequest {
  readonly bytes: Buffer;
  readonly done: AnswerCallback;
}

interface Connection {
  readonly socket: Socket;
  readonly reader: HttpResponseReader;
  current: PendingRequest | undefined;
}

/**
 * The bench's HTTP/1.1 client for one origin: up to `maxConnections` keep-alive connections over TCP, each
 * carrying one request at a time; a request that finds them all busy waits its turn, oldest first.
 *
 * Why not `node:http`: the bench shares the machine with the nodes it measures, and every microsecond it
 * spends is taken from them. Node's client costs ≈ 100 µs of CPU per request here (a request object, header
 * validation, an agent, streams and their events); this writes the head and the body as one buffer in one
 * `write` and reads the answer with a small state machine (`HttpResponseReader`). It is a client for the
 * bench's own requests to its own nodes, not a general one: no redirects, no TLS, no retry (a POST is not
 * safe to send twice; the caller sees the error).
 */
export class KeepAliveClient {
  private readonly host: string;
  private readonly port: number;
  /** The `host` header: `host:port` as the origin spells it (IPv6 in brackets). */
  private readonly authority: string;
  private readonly maxConnections: number;
  private readonly idle: Connection[] = [];
  private readonly waiting: PendingRequest[] = [];
  private readonly all = new Set<Connection>();
  private closed = false;

  /** `origin` is `http://host:port`. */
  constructor(origin: string, maxConnections: number) {
    const url = new URL(origin);
    if (url.protocol !== "http:")
      throw new TallyError(ErrorCode.InvalidField, `not an http origin: ${origin}`);
    if (!Number.isInteger(maxConnections) || maxConnections < 1) {
      throw new TallyError(ErrorCode.InvalidField, "maxConnections must be a positive integer");
    }
    this.host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    this.port = url.port === "" ? 80 : Number(url.port);
    this.authority = url.host;
    this.maxConnections = maxConnections;
  }

  /** Connections open now (busy or idle). */
  get connections(): number {
    return this.all.size;
  }

  /** Sends `method path` with `body`; `done` gets the whole answer or the error that ended its connection. */
  request(
    method: string,
    path: string,
    contentType: string,
    body: Uint8Array | string,
    done: AnswerCallback,
  ): void {
    if (this.closed) {
      done(new TallyError(ErrorCode.BenchFailed, "the client is closed"), undefined);
      return;
    }
    // The reader frames answers by their headers alone; an answer to HEAD has a length and no body.
    if (method === "HEAD") throw new TallyError(ErrorCode.InvalidField, "HEAD requests are not supported");
    if (!TOKEN.test(method) || !PATH.test(path) || !HEADER_VALUE.test(contentType)) {
      throw new TallyError(
        ErrorCode.InvalidField,
        "a method, path or content type that would break the head",
      );
    }
    const bodyBytes = typeof body === "string" ? Buffer.from(body) : body;
    const head =
      `${method} ${path} HTTP/1.1\r\nhost: ${this.authority}\r\n` +
      `content-type: ${contentType}\r\ncontent-length: ${bodyBytes.length}\r\n\r\n`;
    const bytes = Buffer.allocUnsafe(head.length + bodyBytes.length);
    bytes.write(head, 0, "latin1");
    bytes.set(bodyBytes, head.length);
    const request = { bytes, done };
    const connection = this.idle.pop() ?? (this.all.size < this.maxConnections ? this.open() : undefined);
    if (connection === undefined) this.waiting.push(request);
    else this.send(connection, request);
  }

  /** Drops every connection; requests in flight or waiting fail. */
  close(): void {
    this.closed = true;
    const error = new TallyError(ErrorCode.BenchFailed, "the client closed");
    for (const request of this.waiting.splice(0)) request.done(error, undefined);
    for (const connection of this.all) connection.socket.destroy();
  }

  private open(): Connection {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    const connection: Connection = { socket, reader: new HttpResponseReader(), current: undefined };
    this.all.add(connection);
    socket.on("data", (chunk: Buffer) => this.onData(connection, chunk));
    socket.on("end", () => this.onEnd(connection));
    socket.on("error", (error) => this.drop(connection, error));
    socket.on("close", () =>
      this.drop(connection, new TallyError(ErrorCode.BenchFailed, "connection closed")),
    );
    return connection;
  }

  private send(connection: Connection, request: PendingRequest): void {
    connection.current = request;
    connection.socket.write(request.bytes);
  }

  private onData(connection: Connection, chunk: Buffer): void {
    let answers: HttpAnswer[];
    try {
      answers = connection.reader.push(chunk);
    } catch (error) {
      connection.socket.destroy();
      this.drop(connection, error as Error);
      return;
    }
    for (const answer of answers) this.answered(connection, answer);
  }

  private onEnd(connection: Connection): void {
    let answer: HttpAnswer | undefined;
    try {
      answer = connection.reader.end();
    } catch (error) {
      connection.socket.destroy();
      this.drop(connection, error as Error);
      return;
    }
    if (answer !== undefined) this.answered(connection, { ...answer, keepAlive: false });
    // Forgotten now, not at its `close` event: a request in between must not pick a connection that is gone.
    connection.socket.destroy();
    this.drop(connection, new TallyError(ErrorCode.BenchFailed, "the server closed the connection"));
  }

  private answered(connection: Connection, answer: HttpAnswer): void {
    const request = connection.current;
    if (request === undefined) {
      // An answer nobody asked for: the connection's state is no longer known.
      connection.socket.destroy();
      this.drop(connection, new TallyError(ErrorCode.BenchFailed, "an answer to no request"));
      return;
    }
    connection.current = undefined;
    // The connection is given its next request (or made idle) before `done` runs, so a request sent from
    // `done` reuses it rather than opening another.
    if (!answer.keepAlive) {
      this.all.delete(connection);
      connection.socket.destroy();
    } else if (!this.closed) {
      const next = this.waiting.shift();
      if (next !== undefined) this.send(connection, next);
      else this.idle.push(connection);
    }
    request.done(undefined, answer);
    if (!answer.keepAlive) this.startWaiting();
  }

  /** The connection is gone: its request in flight fails; a waiting request gets a new connection. */
  private drop(connection: Connection, error: Error): void {
    if (!this.all.delete(connection)) return;
    const idleAt = this.idle.indexOf(connection);
    if (idleAt !== -1) this.idle.splice(idleAt, 1);
    const request = connection.current;
    connection.current = undefined;
    request?.done(error, undefined);
    this.startWaiting();
  }

  private startWaiting(): void {
    if (this.closed || this.waiting.length === 0 || this.all.size >= this.maxConnections) return;
    this.send(this.open(), this.waiting.shift()!);
  }
}
