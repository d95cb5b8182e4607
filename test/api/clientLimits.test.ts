import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { describe, it } from "node:test";
import Fastify from "fastify";
import {
  CLIENT_LIMITS_DEFAULTS,
  type ClientLimits,
  installClientLimits,
} from "../../src/api/clientLimits.ts";

/** More than loopback's socket buffers take in (≈ 10 MiB here), so an unread answer stays in the node's memory. */
const LARGE_ANSWER_BYTES = 24 * 1024 * 1024;

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** GET `path` from the local address `from` (any 127.x.y.z is this machine's loopback). */
function get(port: number, path: string, from: string, agent: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, localAddress: from, agent }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A server whose `/hold/:name` requests are answered only when the test releases them, so which requests hold
 * the places, and which wait, is decided by the test and not by timing.
 */
async function holdingServer(overrides: Partial<ClientLimits>) {
  const app = Fastify();
  // The node's limits but for what a test names: its places, queues and caps are small enough to reach.
  const limited = installClientLimits(app, { ...CLIENT_LIMITS_DEFAULTS, ...overrides });
  const handled: string[] = [];
  const releases = new Map<string, () => void>();
  app.post("/upload", async () => ({ uploaded: true }));
  app.get("/large", async () => ({ filler: "x".repeat(LARGE_ANSWER_BYTES) }));
  app.get("/hold/:name", async (req) => {
    const { name } = req.params as { name: string };
    handled.push(name);
    await new Promise<void>((resolve) => releases.set(name, resolve));
    return { name };
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const release = (name: string) => {
    const r = releases.get(name);
    assert.ok(r, `${name} is being handled`);
    releases.delete(name);
    r();
  };
  const releaseAll = () => {
    for (const name of [...releases.keys()]) release(name);
  };
  return { app, port, handled, release, releaseAll, ...limited };
}

describe("REST API client limits", () => {
  it("a flood from one address waits behind itself: another address's request takes the next free place", async () => {
    const server = await holdingServer({ maxActive: 4, maxActivePerClient: 4, maxQueuedPerClient: 40 });
    const flood = new Agent({ keepAlive: true, maxSockets: 64 });
    const wallet = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const floodAnswers = Array.from({ length: 48 }, (_, i) =>
        get(server.port, `/hold/flood-${i}`, "127.0.0.2", flood),
      );
      await until(
        () => server.gate.waitingCount === 40 && server.counters.requestsRefused === 4,
        "the flood's queue to fill and its last 4 requests to be refused",
      );
      assert.equal(server.gate.activeCount, 4, "the flood holds every place");

      const walletAnswer = get(server.port, "/hold/wallet", "127.0.0.1", wallet);
      await until(() => server.gate.waitingCount === 41, "the wallet's request to wait");
      // Two places free: the flood's turn came first, then the wallet's, ahead of 39 flood requests.
      server.release(server.handled[0]!);
      server.release(server.handled[1]!);
      await until(() => server.handled.includes("wallet"), "the wallet's request to be handled");
      assert.equal(server.gate.waitingCount, 39, "the flood still had 39 waiting when the wallet was served");
      server.release("wallet");
      assert.equal((await walletAnswer).status, 200);
      // Everyone else is answered in the end: 44 served, and the 4 past the 4 places and 40 waiting refused.
      const rest = Promise.all(floodAnswers);
      let answered = false;
      void rest.then(() => {
        answered = true;
      });
      while (!answered) {
        server.releaseAll();
        await new Promise((r) => setTimeout(r, 5));
      }
      const answers = await rest;
      assert.equal(answers.filter((a) => a.status === 200).length, 44);
      const refused = answers.filter((a) => a.status === 429);
      assert.equal(refused.length, 4);
      for (const a of refused) assert.equal(JSON.parse(a.body).code, "TOO_MANY_REQUESTS");
      assert.equal(server.gate.activeCount + server.gate.waitingCount, 0);
    } finally {
      flood.destroy();
      wallet.destroy();
      await server.app.close();
    }
  });

  it("closes connections past the per-address cap as they open, and counts them", async () => {
    const server = await holdingServer({ maxConnectionsPerClient: 8 });
    const sockets = Array.from({ length: 12 }, () =>
      connect({ host: "127.0.0.1", port: server.port, localAddress: "127.0.0.3" }),
    );
    try {
      await until(() => server.counters.connectionsRefused === 4, "four connections to be refused");
      // Another address still connects and is answered.
      const other = new Agent({ keepAlive: false });
      const answer = get(server.port, "/hold/other", "127.0.0.4", other);
      await until(() => server.handled.includes("other"), "the other address to be handled");
      server.release("other");
      assert.equal((await answer).status, 200);
    } finally {
      for (const s of sockets) s.destroy();
      await server.app.close();
    }
  });

  it("a body sent a byte at a time loses its place at the deadline, and never held more than its address's share", async () => {
    const server = await holdingServer({ maxActive: 2, maxActivePerClient: 1, bodyDeadlineMs: 300 });
    // Two uploads announce 100 bytes and send 1: the first is admitted and stalls, the second waits behind it.
    const stalled = Array.from({ length: 2 }, () => {
      const socket = connect({ host: "127.0.0.1", port: server.port, localAddress: "127.0.0.5" });
      socket.write(
        "POST /upload HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
      );
      const state = { socket, closed: false };
      socket.once("close", () => {
        state.closed = true;
      });
      socket.on("error", () => {});
      return state;
    });
    const other = new Agent({ keepAlive: false });
    try {
      await until(
        () => server.gate.activeCount === 1 && server.gate.waitingCount === 1,
        "one upload in, one waiting",
      );
      // The slow address holds its one place; another address gets the other at once.
      const answer = get(server.port, "/hold/other", "127.0.0.6", other);
      await until(() => server.handled.includes("other"), "the other address to be handled");
      server.release("other");
      assert.equal((await answer).status, 200);
      // Each stalled upload is cut at its deadline, the second once it had the place.
      await until(() => stalled.every((s) => s.closed), "both stalled uploads to be closed by the node");
      assert.equal(server.counters.slowBodies, 2);
      await until(
        () => server.gate.activeCount + server.gate.waitingCount === 0,
        "the server to see both closed",
      );
    } finally {
      for (const s of stalled) s.socket.destroy();
      other.destroy();
      await server.app.close();
    }
  });

  it("an answer nobody reads holds its place until the deadline: unread answers are bounded by the places", async () => {
    const server = await holdingServer({ maxActive: 2, maxActivePerClient: 1, answerDeadlineMs: 2_000 });
    // Two requests for a large answer on connections that never read: the first is answered and its answer
    // sits unread; the second waits for the address's one place instead of piling a second answer up.
    const unread = Array.from({ length: 2 }, () => {
      const socket = connect({ host: "127.0.0.1", port: server.port, localAddress: "127.0.0.7" });
      socket.pause();
      socket.write("GET /large HTTP/1.1\r\nhost: x\r\n\r\n");
      socket.on("error", () => {});
      return socket;
    });
    const other = new Agent({ keepAlive: false });
    try {
      await until(
        () => server.gate.activeCount === 1 && server.gate.waitingCount === 1,
        "one answer held, one request waiting",
      );
      const answer = get(server.port, "/hold/other", "127.0.0.8", other);
      await until(() => server.handled.includes("other"), "the other address to be handled");
      server.release("other");
      assert.equal((await answer).status, 200);
      // Each unread answer is dropped at its deadline, the second once its request had the place. (A paused
      // client socket reports no close until it reads, so the node's own count says it.)
      await until(() => server.counters.slowReads === 2, "both unread answers to be dropped");
      await until(
        () => server.gate.activeCount + server.gate.waitingCount === 0,
        "the server to see both closed",
      );
    } finally {
      for (const s of unread) s.destroy();
      other.destroy();
      await server.app.close();
    }
  });

  it("an answer read at once releases its place when written out", async () => {
    const server = await holdingServer({ maxActive: 1, maxActivePerClient: 1, answerDeadlineMs: 10_000 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 3; i++) {
        const { status, body } = await get(server.port, "/large", "127.0.0.9", agent);
        assert.equal(status, 200);
        assert.ok(body.length > LARGE_ANSWER_BYTES);
      }
      assert.equal(server.counters.slowReads, 0);
      await until(() => server.gate.activeCount === 0, "the place to be free");
    } finally {
      agent.destroy();
      await server.app.close();
    }
  });
});
