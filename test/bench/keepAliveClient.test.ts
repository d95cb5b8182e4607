import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { HttpAnswer } from "../../src/bench/httpResponseReader.ts";
import { KeepAliveClient } from "../../src/bench/keepAliveClient.ts";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";

interface TestServer {
  readonly origin: string;
  readonly port: number;
  /** TCP connections the server accepted so far. */
  connections(): number;
  readonly server: ReturnType<typeof createServer>;
}

/** A `node:http` server on 127.0.0.1, closed (its connections destroyed first) when the test ends. */
async function serve(t: TestContext, handler: RequestListener): Promise<TestServer> {
  const server = createServer(handler);
  let connections = 0;
  server.on("connection", () => connections++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, port, connections: () => connections, server };
}

function client(t: TestContext, origin: string, maxConnections: number): KeepAliveClient {
  const c = new KeepAliveClient(origin, maxConnections);
  t.after(() => c.close());
  return c;
}

interface Outcome {
  readonly error: Error | undefined;
  readonly answer: HttpAnswer | undefined;
}

function settle(
  c: KeepAliveClient,
  method: string,
  path: string,
  body: Uint8Array | string = "",
  contentType = "application/octet-stream",
): Promise<Outcome> {
  return new Promise((resolve) =>
    c.request(method, path, contentType, body, (error, answer) => resolve({ error, answer })),
  );
}

async function send(
  c: KeepAliveClient,
  method: string,
  path: string,
  body: Uint8Array | string = "",
  contentType = "application/octet-stream",
): Promise<HttpAnswer> {
  const { error, answer } = await settle(c, method, path, body, contentType);
  if (error !== undefined) throw error;
  assert.ok(answer !== undefined);
  return answer;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** A port nothing listens on: one the OS just gave a server that is closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, "close");
  return port;
}

describe("KeepAliveClient", () => {
  it("refuses an origin that is not http and a connection count below one", () => {
    assert.throws(
      () => new KeepAliveClient("https://127.0.0.1:1", 1),
      (e) => isTallyError(e, ErrorCode.InvalidField),
    );
    for (const n of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => new KeepAliveClient("http://127.0.0.1:1", n),
        (e) => isTallyError(e, ErrorCode.InvalidField),
        String(n),
      );
    }
  });

  it("delivers method, path, headers and body, and returns status and body", async (t) => {
    const seen: {
      method?: string;
      url?: string;
      type?: string;
      length?: string;
      host?: string;
      body: Buffer;
    }[] = [];
    const server = await serve(t, async (req, res) => {
      const body = await readBody(req);
      seen.push({
        method: req.method,
        url: req.url,
        type: req.headers["content-type"],
        length: req.headers["content-length"],
        host: req.headers.host,
        body,
      });
      if (req.url === "/fail") {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end("it broke");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ got: body.length }));
    });
    const c = client(t, server.origin, 2);

    const binary = Uint8Array.from({ length: 256 }, (_, i) => i);
    const ok = await send(c, "POST", "/v1/transfers?x=1", binary, "application/octet-stream");
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body.toString()), { got: 256 });

    const text = "héllo ✓ wörld";
    const failed = await send(c, "POST", "/fail", text, "text/plain; charset=utf-8");
    assert.equal(failed.status, 500);
    assert.equal(failed.body.toString(), "it broke");

    const empty = await send(c, "GET", "/empty");
    assert.equal(empty.status, 200);

    assert.deepEqual(
      seen.map((s) => ({ ...s, body: s.body.toString("hex") })),
      [
        {
          method: "POST",
          url: "/v1/transfers?x=1",
          type: "application/octet-stream",
          length: "256",
          host: `127.0.0.1:${server.port}`,
          body: Buffer.from(binary).toString("hex"),
        },
        {
          method: "POST",
          url: "/fail",
          type: "text/plain; charset=utf-8",
          length: String(Buffer.byteLength(text)),
          host: `127.0.0.1:${server.port}`,
          body: Buffer.from(text).toString("hex"),
        },
        {
          method: "GET",
          url: "/empty",
          type: "application/octet-stream",
          length: "0",
          host: `127.0.0.1:${server.port}`,
          body: "",
        },
      ],
    );
    assert.equal(server.connections(), 1, "sequential requests share one connection");
  });

  it("answers each of many concurrent requests with its own response over at most maxConnections sockets", async (t) => {
    let inFlight = 0;
    let maxInFlight = 0;
    const server = await serve(t, async (req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const body = await readBody(req);
      await sleep(Math.floor(Math.random() * 3));
      inFlight--;
      res.end(`${req.url} ${body.toString()}`);
    });
    const c = client(t, server.origin, 4);
    const count = 200;
    const answers = await Promise.all(
      Array.from({ length: count }, (_, i) => send(c, "POST", `/echo/${i}`, `id=${i}`)),
    );
    assert.deepEqual(
      answers.map((a) => [a.status, a.body.toString()]),
      Array.from({ length: count }, (_, i) => [200, `/echo/${i} id=${i}`]),
    );
    assert.ok(server.connections() <= 4, `${server.connections()} connections`);
    assert.ok(maxInFlight <= 4, `${maxInFlight} requests at once`);
    assert.ok(c.connections <= 4);
    // The connections stay open for the next requests.
    const again = await Promise.all(Array.from({ length: 8 }, (_, i) => send(c, "POST", `/again/${i}`, "x")));
    assert.deepEqual(
      again.map((a) => a.body.toString()),
      Array.from({ length: 8 }, (_, i) => `/again/${i} x`),
    );
    assert.ok(server.connections() <= 4, `${server.connections()} connections after a second round`);
  });

  it("reuses the connection that just answered for a request sent from its callback", async (t) => {
    const server = await serve(t, (_req, res) => res.end("ok"));
    const c = client(t, server.origin, 4);
    const statuses = await new Promise<number[]>((resolve, reject) => {
      const seen: number[] = [];
      const next = (): void =>
        c.request("POST", "/chain", "text/plain", "x", (error, answer) => {
          if (error !== undefined || answer === undefined) return reject(error);
          seen.push(answer.status);
          if (seen.length < 10) next();
          else resolve(seen);
        });
      next();
    });
    assert.deepEqual(statuses, Array(10).fill(200));
    assert.equal(server.connections(), 1, "ten chained requests, one connection");
  });

  it("refuses a method, path or content type that would break the request head", async (t) => {
    const server = await serve(t, (_req, res) => res.end());
    const c = client(t, server.origin, 1);
    for (const [method, path, type] of [
      ["POST\r\nx", "/", "text/plain"],
      ["POST", "/a b", "text/plain"],
      ["POST", "/\r\nx-injected: 1", "text/plain"],
      ["POST", "relative", "text/plain"],
      ["POST", "/", "text/plain\r\nx-injected: 1"],
    ] as const) {
      assert.throws(
        () => c.request(method, path, type, "", () => {}),
        (e) => isTallyError(e, ErrorCode.InvalidField),
        JSON.stringify([method, path, type]),
      );
    }
    assert.equal(server.connections(), 0, "nothing was sent");
  });

  it("refuses HEAD, whose answer it could not frame", async (t) => {
    const server = await serve(t, (_req, res) => res.end());
    const c = client(t, server.origin, 1);
    assert.throws(
      () => c.request("HEAD", "/", "text/plain", "", () => {}),
      (e) => isTallyError(e, ErrorCode.InvalidField),
    );
  });

  it("opens a new connection after each answer with connection: close", async (t) => {
    const server = await serve(t, async (req, res) => {
      const body = await readBody(req);
      res.setHeader("connection", "close");
      res.end(body);
    });
    const c = client(t, server.origin, 2);
    const count = 20;
    const answers = await Promise.all(Array.from({ length: count }, (_, i) => send(c, "POST", "/", `n${i}`)));
    assert.deepEqual(
      answers.map((a) => [a.status, a.body.toString(), a.keepAlive]),
      Array.from({ length: count }, (_, i) => [200, `n${i}`, false]),
    );
    assert.equal(server.connections(), count);
    assert.equal(c.connections, 0, "no connection is kept after connection: close");
  });

  it("reads chunked responses whole", async (t) => {
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    const server = await serve(t, async (req, res) => {
      await readBody(req);
      res.writeHead(200, { "content-type": "text/plain" });
      if (req.url === "/big") {
        for (let at = 0; at < big.length; at += 50_000) res.write(big.subarray(at, at + 50_000));
        res.end();
        return;
      }
      res.write("first part, ");
      await sleep(10);
      res.write("second part");
      await sleep(10);
      res.end();
    });
    const c = client(t, server.origin, 1);
    for (let i = 0; i < 3; i++) {
      const small = await send(c, "POST", "/small", "x");
      assert.equal(small.status, 200);
      assert.equal(small.body.toString(), "first part, second part");
      const large = await send(c, "POST", "/big", "x");
      assert.ok(large.body.equals(big), "the large chunked body arrives intact");
    }
    assert.equal(server.connections(), 1);
  });

  it("fails the request whose connection the server destroys, then succeeds on a new one", async (t) => {
    const server = await serve(t, async (req, res) => {
      if (req.url === "/die") {
        req.socket.destroy();
        return;
      }
      await readBody(req);
      res.end("fine");
    });
    const c = client(t, server.origin, 1);
    assert.equal((await send(c, "POST", "/before", "x")).body.toString(), "fine");
    const died = await settle(c, "POST", "/die", "x");
    assert.ok(died.error instanceof Error, "the request on the destroyed connection fails");
    assert.equal(died.answer, undefined);
    const after = await send(c, "POST", "/after", "x");
    assert.equal(after.body.toString(), "fine");
    assert.equal(server.connections(), 2);
  });

  it("fails a request whose answer is cut short instead of returning a truncated body", async (t) => {
    const server = await serve(t, async (req, res) => {
      await readBody(req);
      if (req.url === "/cut") {
        res.writeHead(200, { "content-length": "100" });
        res.write("only part of it");
        await sleep(20);
        res.socket?.destroy();
        return;
      }
      res.end("whole");
    });
    const c = client(t, server.origin, 1);
    const cut = await settle(c, "POST", "/cut", "x");
    assert.ok(cut.error instanceof Error);
    assert.equal(cut.answer, undefined);
    assert.equal((await send(c, "POST", "/whole", "x")).body.toString(), "whole");
  });

  it("gives a request queued behind a broken connection a new connection", async (t) => {
    const server = await serve(t, async (req, res) => {
      if (req.url === "/die") {
        req.socket.destroy();
        return;
      }
      res.end(await readBody(req));
    });
    const c = client(t, server.origin, 1);
    const [died, queued] = await Promise.all([
      settle(c, "POST", "/die", "x"),
      settle(c, "POST", "/ok", "queued"),
    ]);
    assert.ok(died.error instanceof Error);
    assert.equal(queued.error, undefined, "the waiting request gets a new connection");
    assert.equal(queued.answer?.body.toString(), "queued");
  });

  it("replaces an idle connection the server closed", async (t) => {
    const server = await serve(t, async (req, res) => {
      res.end(await readBody(req));
    });
    server.server.keepAliveTimeout = 50;
    const c = client(t, server.origin, 1);
    assert.equal((await send(c, "POST", "/", "one")).body.toString(), "one");
    assert.equal(c.connections, 1);
    const deadline = Date.now() + 5000;
    while (c.connections > 0 && Date.now() < deadline) await sleep(20);
    assert.equal(c.connections, 0, "the client forgets the connection the server closed");
    assert.equal((await send(c, "POST", "/", "two")).body.toString(), "two");
    assert.equal(server.connections(), 2);
  });

  it("reports a refused connection as an error to every request, without hanging", async (t) => {
    const port = await closedPort();
    const c = client(t, `http://127.0.0.1:${port}`, 1);
    const outcomes = await Promise.all([
      settle(c, "POST", "/", "a"),
      settle(c, "POST", "/", "b"),
      settle(c, "POST", "/", "c"),
    ]);
    for (const { error, answer } of outcomes) {
      assert.ok(error instanceof Error);
      assert.equal((error as NodeJS.ErrnoException).code, "ECONNREFUSED");
      assert.equal(answer, undefined);
    }
    assert.equal(c.connections, 0);
  });

  it("close() fails requests in flight and waiting, and later requests at once", async (t) => {
    const held: ServerResponse[] = [];
    let arrived: () => void = () => {};
    const firstArrived = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const server = await serve(t, (_req, res) => {
      held.push(res);
      arrived();
    });
    const c = client(t, server.origin, 1);
    const inFlight = settle(c, "POST", "/held", "a");
    await firstArrived;
    const waitingErrors: (Error | undefined)[] = [];
    c.request("POST", "/waiting", "text/plain", "b", (error) => waitingErrors.push(error));
    c.request("POST", "/waiting", "text/plain", "c", (error) => waitingErrors.push(error));
    assert.equal(waitingErrors.length, 0);

    c.close();
    assert.equal(waitingErrors.length, 2, "waiting requests fail during close()");
    for (const error of waitingErrors) assert.ok(isTallyError(error, ErrorCode.BenchFailed));

    const flight = await inFlight;
    assert.ok(flight.error instanceof Error, "the request in flight fails");
    assert.equal(flight.answer, undefined);

    let late: Error | undefined;
    c.request("POST", "/late", "text/plain", "d", (error) => {
      late = error;
    });
    assert.ok(
      isTallyError(late, ErrorCode.BenchFailed),
      "a request after close() fails before request returns",
    );
    assert.equal(held.length, 1, "nothing reached the server after close()");
  });
});
