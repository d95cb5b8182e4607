import assert from "node:assert/strict";
import { createServer, get, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { describe, it } from "node:test";
import { EventBatch } from "../../src/api/eventBatch.ts";

const tick = () => new Promise<void>((resolve) => process.nextTick(resolve));

describe("EventBatch", () => {
  it("hands a synchronous burst over as one string on the next tick, in order", async () => {
    const written: string[] = [];
    const batch = new EventBatch((text) => written.push(text));
    batch.add("a\n\n");
    batch.add("b\n\n");
    batch.add("c\n\n");
    assert.deepEqual(written, [], "nothing leaves before the burst ends");
    assert.equal(batch.pendingChars, 9);
    await tick();
    assert.deepEqual(written, ["a\n\nb\n\nc\n\n"]);
    assert.equal(batch.pendingChars, 0);
    batch.add("d\n\n");
    await tick();
    assert.deepEqual(written, ["a\n\nb\n\nc\n\n", "d\n\n"], "a later burst is its own write");
  });

  it("writes nothing of a discarded burst", async () => {
    const written: string[] = [];
    const batch = new EventBatch((text) => written.push(text));
    batch.add("a\n\n");
    batch.discard();
    assert.equal(batch.pendingChars, 0);
    await tick();
    assert.deepEqual(written, []);
  });

  it("sends a burst of events on a chunked response with one socket write", async () => {
    // Counts the writes the server's socket hands to the kernel: `_write` is one write(2), `_writev` one writev(2).
    let syscalls = 0;
    let response: ServerResponse | undefined;
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(": stream\n\n");
      response = res;
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    let received = "";
    const request = get(`http://127.0.0.1:${port}/`, (res) => {
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        received += chunk;
      });
    });
    try {
      while (response === undefined || !received.includes(": stream"))
        await new Promise((r) => setTimeout(r, 5));
      const socket = response.socket as Socket & { _write: unknown; _writev: unknown };
      const write = socket._write as (...args: unknown[]) => void;
      const writev = socket._writev as (...args: unknown[]) => void;
      socket._write = function (this: Socket, ...args: unknown[]) {
        syscalls++;
        return write.apply(this, args);
      };
      socket._writev = function (this: Socket, ...args: unknown[]) {
        syscalls++;
        return writev.apply(this, args);
      };
      const res = response;
      const batch = new EventBatch((text) => res.write(text));
      for (let i = 0; i < 5; i++) batch.add(`event: transfer\ndata: {"i":${i}}\n\n`);
      while (!received.includes('{"i":4}')) await new Promise((r) => setTimeout(r, 5));
      assert.equal(syscalls, 1, "five events, one write");
      for (let i = 0; i < 5; i++) assert.ok(received.includes(`data: {"i":${i}}\n\n`));
    } finally {
      request.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
