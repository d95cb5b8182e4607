import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  type HttpAnswer,
  HttpResponseReader,
  MAX_BODY_BYTES,
  MAX_HEAD_BYTES,
} from "../../src/bench/httpResponseReader.ts";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";

/** One response as a server could frame it. */
interface ResponseSpec {
  readonly status: number;
  readonly reason: string;
  readonly body: Uint8Array;
  /** Content-length, or chunked with these chunk sizes (the last chunk takes what remains). */
  readonly framing: { readonly kind: "length" } | { readonly kind: "chunked"; readonly sizes: number[] };
  readonly extraHeaders: [string, string][];
  readonly keepAliveHeader: boolean;
  readonly upperCaseNames: boolean;
  readonly upperCaseHex: boolean;
}

function encodeResponse(spec: ResponseSpec): Buffer {
  const name = (n: string) => (spec.upperCaseNames ? n.toUpperCase() : n);
  const lines = [`HTTP/1.1 ${spec.status}${spec.reason}`];
  for (const [n, v] of spec.extraHeaders) lines.push(`${n}: ${v}`);
  if (spec.keepAliveHeader) lines.push(`${name("connection")}: keep-alive`);
  const parts: Buffer[] = [];
  if (spec.framing.kind === "length") {
    lines.push(`${name("content-length")}: ${spec.body.length}`);
    parts.push(Buffer.from(spec.body));
  } else {
    lines.push(`${name("transfer-encoding")}: chunked`);
    let at = 0;
    let i = 0;
    while (at < spec.body.length) {
      const size = Math.min(spec.framing.sizes[i++] ?? spec.body.length, spec.body.length - at);
      const hex = size.toString(16);
      parts.push(Buffer.from(`${spec.upperCaseHex ? hex.toUpperCase() : hex}\r\n`));
      parts.push(Buffer.from(spec.body.subarray(at, at + size)), Buffer.from("\r\n"));
      at += size;
    }
    parts.push(Buffer.from("0\r\n\r\n"));
  }
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), ...parts]);
}

/** Pushes `bytes` cut at `cuts` (sorted positions) into a fresh reader; returns every answer, `end()` included. */
function readAll(bytes: Buffer, cuts: number[]): HttpAnswer[] {
  const reader = new HttpResponseReader();
  const answers: HttpAnswer[] = [];
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    answers.push(...reader.push(bytes.subarray(prev, cut)));
    prev = cut;
  }
  const last = reader.end();
  if (last !== undefined) answers.push(last);
  return answers;
}

function readOne(text: string | Buffer): HttpAnswer[] {
  return readAll(typeof text === "string" ? Buffer.from(text, "latin1") : text, []);
}

function shape(answers: HttpAnswer[]): { status: number; body: string; keepAlive: boolean }[] {
  return answers.map((a) => ({ status: a.status, body: a.body.toString("hex"), keepAlive: a.keepAlive }));
}

function assertMalformed(name: string, feed: (reader: HttpResponseReader) => void): void {
  assert.throws(
    () => feed(new HttpResponseReader()),
    (e) => isTallyError(e, ErrorCode.BenchFailed),
    name,
  );
}

const statusArb = fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 304);
const responseArb: fc.Arbitrary<ResponseSpec> = fc.record({
  status: statusArb,
  reason: fc.constantFrom("", " ", " OK", " Internal Server Error", " a reason: with colon"),
  body: fc.oneof(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000, size: "max" })),
  framing: fc.oneof(
    fc.constant({ kind: "length" as const }),
    fc.record({
      kind: fc.constant("chunked" as const),
      sizes: fc.array(fc.integer({ min: 1, max: 1200 }), { maxLength: 8, size: "max" }),
    }),
  ),
  extraHeaders: fc.array(
    fc.tuple(fc.stringMatching(/^x-[a-z0-9-]{1,12}$/), fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/)),
    { maxLength: 4 },
  ),
  keepAliveHeader: fc.boolean(),
  upperCaseNames: fc.boolean(),
  upperCaseHex: fc.boolean(),
});

describe("HttpResponseReader", () => {
  it("reads back every response of a connection, whatever the chunk boundaries", () => {
    fc.assert(
      fc.property(
        fc.array(responseArb, { minLength: 1, maxLength: 5 }),
        fc.oneof(
          { weight: 1, arbitrary: fc.constant("every byte" as const) },
          { weight: 4, arbitrary: fc.array(fc.nat(), { maxLength: 20 }) },
        ),
        (specs, rawCuts) => {
          const bytes = Buffer.concat(specs.map(encodeResponse));
          const cuts =
            rawCuts === "every byte"
              ? Array.from({ length: Math.max(0, bytes.length - 1) }, (_, i) => i + 1)
              : [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          assert.deepEqual(
            shape(readAll(bytes, cuts)),
            specs.map((s) => ({
              status: s.status,
              body: Buffer.from(s.body).toString("hex"),
              keepAlive: true,
            })),
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it("reads a response split in two at any position", () => {
    const bytes = Buffer.from(
      "HTTP/1.1 100 Continue\r\n\r\n" +
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n" +
        "5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nx-trailer: yes\r\n\r\n" +
        "HTTP/1.1 201 Created\r\ncontent-length: 3\r\n\r\nabc",
      "latin1",
    );
    const expected = [
      { status: 200, body: Buffer.from("hello world").toString("hex"), keepAlive: true },
      { status: 201, body: Buffer.from("abc").toString("hex"), keepAlive: true },
    ];
    for (let at = 0; at <= bytes.length; at++) {
      assert.deepEqual(shape(readAll(bytes, [at])), expected, `split at ${at}`);
    }
  });

  it("skips 100 Continue and answers the real response", () => {
    const answers = readOne(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n" +
        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
    );
    assert.deepEqual(shape(answers), [
      { status: 200, body: Buffer.from("ok").toString("hex"), keepAlive: true },
    ]);
  });

  it("gives 204 and 304 an empty body without content-length, and reads the next response after them", () => {
    const answers = readOne(
      "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\netag: x\r\n\r\n" +
        "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
    );
    assert.deepEqual(
      answers.map((a) => [a.status, a.body.length, a.keepAlive]),
      [
        [204, 0, true],
        [304, 0, true],
        [200, 0, true],
      ],
    );
  });

  it("says whether the connection may carry another request", () => {
    const keepAlive = (head: string) =>
      readOne(`${head}content-length: 1\r\n\r\nx`).map((a) => a.keepAlive)[0];
    assert.equal(keepAlive("HTTP/1.1 200 OK\r\n"), true);
    assert.equal(keepAlive("HTTP/1.1 200 OK\r\nconnection: close\r\n"), false);
    assert.equal(keepAlive("HTTP/1.1 200 OK\r\nConnection: Close\r\n"), false);
    assert.equal(keepAlive("HTTP/1.1 200 OK\r\nconnection: keep-alive, close\r\n"), false);
    assert.equal(keepAlive("HTTP/1.1 200 OK\r\nconnection: upgrade\r\nconnection: close\r\n"), false);
    assert.equal(keepAlive("HTTP/1.1 200 OK\r\nconnection: closed\r\n"), true);
    assert.equal(keepAlive("HTTP/1.0 200 OK\r\n"), false);
    assert.equal(keepAlive("HTTP/1.0 200 OK\r\nconnection: keep-alive\r\n"), true);
    assert.equal(keepAlive("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n"), true);
  });

  it("reads a body without length or chunks up to the end of the connection", () => {
    const reader = new HttpResponseReader();
    assert.deepEqual(
      reader.push(Buffer.from("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nsome ")),
      [],
    );
    assert.deepEqual(reader.push(Buffer.from("body")), []);
    assert.deepEqual(reader.push(Buffer.from(" HTTP/1.1 200 OK\r\n\r\n")), []);
    const last = reader.end();
    assert.ok(last !== undefined);
    assert.equal(last.status, 200);
    assert.equal(last.body.toString(), "some body HTTP/1.1 200 OK\r\n\r\n");
    assert.equal(last.keepAlive, false, "a body delimited by the close cannot leave the connection open");
  });

  it("ends quietly between responses and fails when the connection closes mid-response", () => {
    const between = new HttpResponseReader();
    assert.equal(between.end(), undefined, "a connection closed before any response");
    assert.equal(between.push(Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx")).length, 1);
    assert.equal(between.end(), undefined, "a connection closed after a whole response");

    const cuts: [string, string][] = [
      ["in the status line", "HTTP/1.1 2"],
      ["in the head", "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n"],
      ["in a length-framed body", "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nabc"],
      ["before a length-framed body", "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"],
      ["in a chunk", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab"],
      ["before the last chunk", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nabcde\r\n"],
      ["before the trailers' end", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n"],
    ];
    for (const [where, text] of cuts) {
      assertMalformed(`closed ${where}`, (reader) => {
        assert.deepEqual(reader.push(Buffer.from(text)), []);
        reader.end();
      });
    }
  });

  it("accepts chunk extensions and trailers", () => {
    const answers = readOne(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5;foo=bar\r\nhello\r\n" +
        '6 ; a=1;b="q"\r\n world\r\n' +
        "0;last\r\nx-checksum: abc\r\nx-other: 1\r\n\r\n",
    );
    assert.deepEqual(shape(answers), [
      { status: 200, body: Buffer.from("hello world").toString("hex"), keepAlive: true },
    ]);
  });

  it("takes chunked over content-length and the same content-length twice", () => {
    assert.deepEqual(
      readOne(
        "HTTP/1.1 200 OK\r\ncontent-length: 99\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
      ).map((a) => a.body.toString()),
      ["ok"],
    );
    assert.deepEqual(
      readOne("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nContent-Length: 2\r\n\r\nok").map((a) =>
        a.body.toString(),
      ),
      ["ok"],
    );
  });

  it("accepts a head just under MAX_HEAD_BYTES arriving in pieces", () => {
    const head = `HTTP/1.1 200 OK\r\nx-big: ${"a".repeat(MAX_HEAD_BYTES - 100)}\r\ncontent-length: 2\r\n\r\n`;
    const bytes = Buffer.from(`${head}ok`);
    const cuts = Array.from({ length: 16 }, (_, i) => Math.floor((bytes.length * i) / 16));
    assert.deepEqual(
      readAll(bytes, cuts).map((a) => a.body.toString()),
      ["ok"],
    );
  });

  it("decides a head of exactly MAX_HEAD_BYTES the same way wherever its terminator is cut", () => {
    const prefix = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-pad: ";
    const head = `${prefix}${"a".repeat(MAX_HEAD_BYTES - prefix.length)}`;
    assert.equal(head.length, MAX_HEAD_BYTES);
    const bytes = Buffer.from(`${head}\r\n\r\nok`, "latin1");
    for (let cut = MAX_HEAD_BYTES - 1; cut <= MAX_HEAD_BYTES + 4; cut++) {
      assert.deepEqual(
        readAll(bytes, [cut]).map((a) => a.body.toString()),
        ["ok"],
        `cut at ${cut}`,
      );
    }
  });

  it("refuses an overlong chunk-size line whether or not its CRLF arrives with it", () => {
    const bytes = Buffer.from(
      `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;${"x".repeat(100_000)}\r\nhello\r\n0\r\n\r\n`,
      "latin1",
    );
    for (const cuts of [[], [bytes.length >> 1], Array.from({ length: 60 }, (_, i) => i * 2048)]) {
      assert.throws(
        () => readAll(bytes, cuts),
        (e) => isTallyError(e, ErrorCode.BenchFailed),
        `${cuts.length} cuts`,
      );
    }
  });

  it("refuses malformed responses", () => {
    const texts: [string, string][] = [
      ["HTTP/2 status line", "HTTP/2 200 OK\r\n\r\n"],
      ["HTTP/1.2 status line", "HTTP/1.2 200 OK\r\ncontent-length: 0\r\n\r\n"],
      ["two-digit status", "HTTP/1.1 20 OK\r\ncontent-length: 0\r\n\r\n"],
      ["no space before reason", "HTTP/1.1 200OK\r\ncontent-length: 0\r\n\r\n"],
      ["not HTTP at all", "hello there\r\n\r\n"],
      ["lower-case protocol", "http/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"],
      ["header line without colon", "HTTP/1.1 200 OK\r\ncontent-length 0\r\n\r\n"],
      ["header line starting with colon", "HTTP/1.1 200 OK\r\n: value\r\ncontent-length: 0\r\n\r\n"],
      ["non-numeric content-length", "HTTP/1.1 200 OK\r\ncontent-length: abc\r\n\r\n"],
      ["negative content-length", "HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n"],
      ["fractional content-length", "HTTP/1.1 200 OK\r\ncontent-length: 1.5\r\n\r\n"],
      ["hex content-length", "HTTP/1.1 200 OK\r\ncontent-length: 0x10\r\n\r\n"],
      ["empty content-length", "HTTP/1.1 200 OK\r\ncontent-length: \r\n\r\n"],
      ["listed content-length", "HTTP/1.1 200 OK\r\ncontent-length: 2, 2\r\n\r\nok"],
      ["conflicting content-lengths", "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nabc"],
      ["gzip transfer-encoding", "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n"],
      ["chunked, then gzip", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\n\r\n"],
      ["identity transfer-encoding", "HTTP/1.1 200 OK\r\ntransfer-encoding: identity\r\n\r\n"],
      ["non-hex chunk size", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"],
      ["empty chunk size", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\r\n"],
      ["signed chunk size", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n-5\r\n"],
      ["0x chunk size", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0x5\r\n"],
      ["9-digit chunk size", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n000000005\r\n"],
      ["chunk data without CRLF", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhelloXX"],
      [
        "chunk data longer than its size",
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhello\r\n",
      ],
      ["101 Switching Protocols", "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n"],
      [
        "content-length over MAX_BODY_BYTES",
        `HTTP/1.1 200 OK\r\ncontent-length: ${MAX_BODY_BYTES + 1}\r\n\r\n`,
      ],
      ["10-digit content-length", "HTTP/1.1 200 OK\r\ncontent-length: 9999999999\r\n\r\n"],
      [
        "chunk over MAX_BODY_BYTES",
        `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${(MAX_BODY_BYTES + 1).toString(16)}\r\n`,
      ],
    ];
    for (const [name, text] of texts) {
      assertMalformed(name, (reader) => reader.push(Buffer.from(text, "latin1")));
      // The same bytes one at a time: the check must not depend on how they arrive.
      assertMalformed(`${name}, byte by byte`, (reader) => {
        const bytes = Buffer.from(text, "latin1");
        for (let i = 0; i < bytes.length; i++) reader.push(bytes.subarray(i, i + 1));
      });
    }
  });

  it("accepts a content-length of exactly MAX_BODY_BYTES", () => {
    const reader = new HttpResponseReader();
    assert.deepEqual(
      reader.push(Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${MAX_BODY_BYTES}\r\n\r\n`)),
      [],
    );
  });

  it("refuses a head over MAX_HEAD_BYTES before its end arrives", () => {
    const start = Buffer.from("HTTP/1.1 200 OK\r\nx-big: ");
    const filler = Buffer.alloc(MAX_HEAD_BYTES, "a");
    assertMalformed("one push", (reader) => reader.push(Buffer.concat([start, filler])));
    assertMalformed("many pushes", (reader) => {
      reader.push(start);
      for (let at = 0; at < filler.length; at += 4096) reader.push(filler.subarray(at, at + 4096));
    });
    assertMalformed("terminated too late", (reader) =>
      reader.push(Buffer.concat([start, filler, Buffer.from("\r\ncontent-length: 0\r\n\r\n")])),
    );
  });

  it("refuses a body without length that grows over MAX_BODY_BYTES", () => {
    assertMalformed("until-close body", (reader) => {
      reader.push(Buffer.from("HTTP/1.1 200 OK\r\n\r\n"));
      reader.push(Buffer.alloc(MAX_BODY_BYTES));
      reader.push(Buffer.alloc(1));
    });
  });

  it("refuses chunks whose sum exceeds MAX_BODY_BYTES", () => {
    assertMalformed("chunked body", (reader) => {
      reader.push(Buffer.from("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"));
      const half = MAX_BODY_BYTES / 2;
      reader.push(Buffer.from(`${half.toString(16)}\r\n`));
      reader.push(Buffer.alloc(half));
      reader.push(Buffer.from(`\r\n${half.toString(16)}\r\n`));
      reader.push(Buffer.alloc(half));
      reader.push(Buffer.from("\r\n1\r\n"));
    });
  });
});
