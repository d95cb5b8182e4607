import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, Socket } from "node:net";
import { after, describe, it } from "node:test";
import type { ConnectionGater, MultiaddrConnection, PeerId } from "@libp2p/interface";
import { gaterTuningWrites, tuneConnectionWrites } from "../../src/p2p/streamTuning.ts";
import { meshTransport, nodeSpecs, seqMessage, waitFor } from "./helpers.ts";

/**
 * Counts the socket's hand-offs to the kernel: `_write` is one chunk, `_writev` several at once. Only TCP
 * sockets count (a pipe has no remote address): on `Socket.prototype`, the test runner's own output is not.
 */
function countWrites(socket: Socket): { write: number; writev: number; chunks: number; restore(): void } {
  const counts = { write: 0, writev: 0, chunks: 0, restore: () => {} };
  const target = socket as unknown as {
    _write(...args: unknown[]): void;
    _writev(chunks: unknown[], ...rest: unknown[]): void;
  };
  const write = target._write;
  const writev = target._writev;
  target._write = function (this: Socket, ...args) {
    if (this.remoteAddress !== undefined) {
      counts.write++;
      counts.chunks++;
    }
    write.apply(this, args);
  };
  target._writev = function (this: Socket, chunks, ...rest) {
    if (this.remoteAddress !== undefined) {
      counts.writev++;
      counts.chunks += chunks.length;
    }
    writev.call(this, chunks, ...rest);
  };
  counts.restore = () => {
    target._write = write;
    target._writev = writev;
  };
  return counts;
}

/** A loopback socket pair: what `client` writes arrives on `server`. */
async function socketPair(): Promise<{ client: Socket; server: Socket; close(): void }> {
  const listener = createServer();
  listener.listen(0, "127.0.0.1");
  await once(listener, "listening");
  const { port } = listener.address() as { port: number };
  const accepted = once(listener, "connection");
  const client = new Socket();
  client.setNoDelay(true);
  client.connect(port, "127.0.0.1");
  await once(client, "connect");
  const [server] = (await accepted) as [Socket];
  return {
    client,
    server,
    close: () => {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

/** The shape of `@libp2p/tcp`'s connection class as far as the tuning is concerned. */
function connectionClass() {
  return class {
    readonly socket: Socket;
    constructor(socket: Socket) {
      this.socket = socket;
    }
    sendData(data: Iterable<Uint8Array>): { sentBytes: number } {
      let sentBytes = 0;
      for (const buf of data) {
        sentBytes += buf.byteLength;
        this.socket.write(buf);
      }
      return { sentBytes };
    }
  };
}

function received(socket: Socket, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  return new Promise((resolve) => {
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= bytes) resolve(Buffer.concat(chunks));
    });
  });
}

describe("one socket write per Noise message", () => {
  it("a tuned connection hands a message's length and ciphertext to the kernel as one writev; an untuned one as two writes", async () => {
    const pair = await socketPair();
    after(() => pair.close());
    const length = Uint8Array.of(0, 5);
    const ciphertext = Uint8Array.of(1, 2, 3, 4, 5);
    const arriving = received(pair.server, 14);

    const Untuned = connectionClass();
    const untuned = new Untuned(pair.client);
    const before = countWrites(pair.client);
    untuned.sendData([length, ciphertext]);
    const { restore, ...untunedCounts } = before;
    restore();
    assert.deepEqual(
      untunedCounts,
      { write: 2, writev: 0, chunks: 2 },
      "the library's behaviour: one write each",
    );

    const Tuned = connectionClass();
    const tuned = new Tuned(pair.client);
    tuneConnectionWrites(tuned as unknown as MultiaddrConnection);
    tuneConnectionWrites(tuned as unknown as MultiaddrConnection); // idempotent: still one cork per call
    const afterTuning = countWrites(pair.client);
    assert.deepEqual(
      tuned.sendData([length, ciphertext]),
      { sentBytes: 7 },
      "the library's answer passes through",
    );
    const { restore: restoreTuned, ...tunedCounts } = afterTuning;
    restoreTuned();
    assert.deepEqual(tunedCounts, { write: 0, writev: 1, chunks: 2 });
    assert.equal(pair.client.writableCorked, 0, "uncorked again");

    assert.deepEqual(
      [...(await arriving)],
      [0, 5, 1, 2, 3, 4, 5, 0, 5, 1, 2, 3, 4, 5],
      "same bytes, same order",
    );
  });

  it("uncorks the socket even when the library's sendData throws", async () => {
    const pair = await socketPair();
    after(() => pair.close());
    const Throwing = class {
      readonly socket: Socket;
      constructor(socket: Socket) {
        this.socket = socket;
      }
      sendData(): never {
        throw new Error("boom");
      }
    };
    const connection = new Throwing(pair.client);
    tuneConnectionWrites(connection as unknown as MultiaddrConnection);
    assert.throws(() => connection.sendData(), /boom/);
    assert.equal(pair.client.writableCorked, 0);
  });

  it("leaves a connection without a net.Socket alone", () => {
    const Other = class {
      readonly socket = { cork: () => assert.fail("not a net.Socket") };
      sendData(): string {
        return "untouched";
      }
    };
    const original = Other.prototype.sendData;
    tuneConnectionWrites(new Other() as unknown as MultiaddrConnection);
    assert.equal(Other.prototype.sendData, original);
  });

  it("the gater tunes every raw connection it is asked about and keeps the inner gater's answers", async () => {
    const pair = await socketPair();
    after(() => pair.close());
    const fresh = () => {
      const C = connectionClass();
      return {
        C,
        original: C.prototype.sendData,
        conn: new C(pair.client) as unknown as MultiaddrConnection,
      };
    };
    const peer = {} as PeerId;
    const inner: ConnectionGater = { denyInboundConnection: () => true, denyDialPeer: () => true };
    const gater = gaterTuningWrites(inner);

    const inbound = fresh();
    assert.equal(await gater.denyInboundConnection!(inbound.conn), true, "the inner gater's answer");
    const outbound = fresh();
    assert.equal(await gater.denyOutboundConnection!(peer, outbound.conn), false, "absent inside: allowed");
    const encrypted = fresh();
    assert.equal(await gater.denyOutboundEncryptedConnection!(peer, encrypted.conn), false);
    for (const { C, original } of [inbound, outbound, encrypted])
      assert.notEqual(C.prototype.sendData, original);
    assert.equal(await gater.denyDialPeer!(peer), true, "the inner gater's other checks are kept");
    assert.equal(
      await gaterTuningWrites().denyInboundConnection!(fresh().conn),
      false,
      "no inner gater: allow",
    );
  });

  it("between two nodes, every Noise message leaves in one writev", async (t) => {
    const specs = await nodeSpecs(2);
    const transports = specs.map((_, i) => meshTransport(specs, i));
    t.after(() => Promise.all(transports.map((tr) => tr.stop())));
    let arrived = 0;
    transports[1]!.onMessage(() => {
      arrived++;
    });
    await Promise.all(transports.map((tr) => tr.start()));
    await waitFor(() => transports.every((tr) => tr.connectedPeers().length === 1), 10_000, "connected");

    // Every socket of this process: only the two nodes' connections are here.
    const counts = countWrites(Socket.prototype);
    t.after(() => counts.restore());
    const N = 50;
    // One message at a time, each waited for, so each is a frame of its own.
    for (let seq = 0; seq < N; seq++) {
      assert.equal(transports[0]!.send(specs[1]!.peerId, seqMessage(0, seq)), true);
      await waitFor(() => arrived === seq + 1, 5_000, `message ${seq}`);
    }
    assert.equal(counts.write, 0, `no message left as separate writes: ${JSON.stringify(counts)}`);
    assert.ok(counts.writev >= N, `${counts.writev} writevs for ${N} frames`);
  });
});
