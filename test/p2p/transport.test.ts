import assert from "node:assert/strict";
import { test } from "node:test";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Stream } from "@libp2p/interface";
import { multiaddr } from "@multiformats/multiaddr";
import { pino } from "pino";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";
import { createTallyLibp2p } from "../../src/p2p/createLibp2p.ts";
import { encodeFrameOf, TALLY_MSG_PROTOCOL } from "../../src/p2p/framing.ts";
import { P2PTransport } from "../../src/p2p/transport.ts";
import { meshTransport, nodeSpecs, seqMessage, waitFor } from "./helpers.ts";

function parse(msg: Uint8Array): { sender: number; seq: number } {
  const b = Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
  return { sender: b.readUInt32BE(0), seq: b.readUInt32BE(4) };
}

function closed(stream: Stream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.status !== "open") resolve();
    else stream.addEventListener("close", () => resolve(), { once: true });
  });
}

test("3 nodes exchange 20,000 messages all-to-all: each arrives exactly once, in per-sender order", async (t) => {
  const N = 20_000;
  const specs = await nodeSpecs(3);
  const transports = specs.map((_, i) => meshTransport(specs, i));
  t.after(() => Promise.all(transports.map((tr) => tr.stop())));

  const received = transports.map(() => new Map<string, number>());
  const errors: string[] = [];
  transports.forEach((tr, r) => {
    tr.onMessage((from, msg) => {
      const { sender, seq } = parse(msg);
      if (specs[sender]?.peerId !== from) errors.push(`receiver ${r}: sender ${sender} claims to be ${from}`);
      const expected = received[r]!.get(from) ?? 0;
      if (seq !== expected && errors.length < 10)
        errors.push(`receiver ${r} from ${sender}: seq ${seq}, expected ${expected}`);
      received[r]!.set(from, seq + 1);
    });
  });

  await Promise.all(transports.map((tr) => tr.start()));
  await waitFor(() => transports.every((tr) => tr.connectedPeers().length === 2), 10_000, "full mesh");

  const started = performance.now();
  for (let seq = 0; seq < N; seq++) {
    for (let s = 0; s < 3; s++) {
      for (let r = 0; r < 3; r++) {
        if (r !== s) assert.equal(transports[s]!.send(specs[r]!.peerId, seqMessage(s, seq)), true);
      }
    }
  }
  const done = () => received.every((m, r) => specs.every((s, i) => i === r || m.get(s.peerId) === N));
  await waitFor(done, 20_000, "all messages");
  const elapsedMs = performance.now() - started;
  assert.deepEqual(errors, []);

  // Nothing extra trickles in afterwards (no duplicates), nothing was dropped, and frames were batched.
  await new Promise((r) => setTimeout(r, 100));
  for (const tr of transports) {
    const c = tr.counters;
    assert.equal(c.messagesIn, 2 * N);
    assert.equal(c.messagesOut, 2 * N);
    assert.equal(c.dropsQueueFull + c.dropsNoRoute + c.dropsStreamError + c.protocolViolations, 0);
    assert.ok(
      c.framesOut * 10 < c.messagesOut,
      `batched: ${c.framesOut} frames for ${c.messagesOut} messages`,
    );
  }
  t.diagnostic(
    `${6 * N} deliveries in ${elapsedMs.toFixed(0)} ms, frames out per node: ${transports.map((tr) => tr.counters.framesOut).join("/")}`,
  );
});

test("an oversized or malformed frame resets the sender's stream; the transport keeps working", async (t) => {
  const [spec] = await nodeSpecs(1);
  const maxFrameBytes = 64 * 1024;
  const logLines: { level: number; code?: string; peer?: string; msg: string }[] = [];
  const transport = new P2PTransport({
    privateKey: spec!.privateKey,
    listen: [`/ip4/127.0.0.1/tcp/${spec!.port}`],
    maxFrameBytes,
    maxMessageBytes: 1024,
    logger: pino({ level: "warn" }, { write: (line: string) => logLines.push(JSON.parse(line)) }),
  });
  const got: [string, string][] = [];
  transport.onMessage((from, msg) => got.push([from, Buffer.from(msg).toString()]));
  await transport.start();
  t.after(() => transport.stop());

  const raw = await createTallyLibp2p({ privateKey: await generateKeyPair("Ed25519"), listen: [] });
  await raw.start();
  t.after(() => raw.stop());
  const target = multiaddr(transport.multiaddrs[0]!);

  // Header announcing maxFrameBytes + 1: rejected before any body byte is buffered.
  const big = await raw.dialProtocol(target, TALLY_MSG_PROTOCOL);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(maxFrameBytes + 1);
  big.send(header);
  big.send(Buffer.alloc(1000));
  await closed(big);
  assert.equal(big.status, "reset");
  assert.equal(transport.counters.protocolViolations, 1);
  assert.deepEqual(
    logLines.map((l) => [l.level, l.code, l.peer]),
    [[40, ErrorCode.FrameTooLarge, raw.peerId.toString()]],
  );

  // A message length that overruns its frame.
  const bad = await raw.dialProtocol(target, TALLY_MSG_PROTOCOL);
  bad.send(Uint8Array.of(0, 0, 0, 2, 5, 1));
  await closed(bad);
  assert.equal(bad.status, "reset");
  assert.equal(transport.counters.protocolViolations, 2);
  assert.equal(got.length, 0);

  // The same peer, same connection, a well-formed frame: delivered.
  const good = await raw.dialProtocol(target, TALLY_MSG_PROTOCOL);
  good.send(encodeFrameOf([Buffer.from("hello"), Buffer.from("world")]));
  await waitFor(() => got.length === 2, 5_000, "valid messages");
  assert.deepEqual(got, [
    [raw.peerId.toString(), "hello"],
    [raw.peerId.toString(), "world"],
  ]);
  assert.equal(good.status, "open");

  // The transport can still send to that peer (it is connected, not a member).
  assert.equal(transport.send(raw.peerId.toString(), Buffer.from("back")), true);
  // Oversized sends are caller bugs and throw.
  assert.throws(
    () => transport.send(raw.peerId.toString(), new Uint8Array(1025)),
    (e) => isTallyError(e, ErrorCode.MessageTooLarge),
  );
});

test("a member that stops and restarts (same key, same port) is reconnected and receives again", async (t) => {
  const specs = await nodeSpecs(3);
  const queue = { reconnectInitialDelayMs: 50, reconnectMaxDelayMs: 500 };
  const [a, b, c] = specs.map((_, i) => meshTransport(specs, i, { queue }));
  const all: P2PTransport[] = [a!, b!, c!];
  t.after(() => Promise.all(all.map((tr) => tr.stop())));
  const C = specs[2]!.peerId;

  const events: string[] = [];
  a!.on("peer:connect", (p) => p === C && events.push("connect"));
  a!.on("peer:disconnect", (p) => p === C && events.push("disconnect"));

  const atC: { sender: number; seq: number }[] = [];
  c!.onMessage((_from, msg) => atC.push(parse(msg)));
  await Promise.all(all.map((tr) => tr.start()));
  await waitFor(() => all.every((tr) => tr.connectedPeers().length === 2), 10_000, "full mesh");

  a!.send(C, seqMessage(0, 0));
  await waitFor(() => atC.length === 1, 5_000, "first message");

  await c!.stop();
  await waitFor(
    () => !a!.connectedPeers().includes(C) && !b!.connectedPeers().includes(C),
    5_000,
    "A and B to notice C is gone",
  );
  // Sent while C is down: the member queue keeps them for the next stream.
  for (let seq = 1; seq <= 10; seq++) assert.equal(a!.send(C, seqMessage(0, seq)), true);
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(a!.counters.openFailures > 0, "A kept redialling C");

  const c2 = meshTransport(specs, 2, { queue });
  all.push(c2);
  const atC2: { sender: number; seq: number }[] = [];
  c2.onMessage((_from, msg) => atC2.push(parse(msg)));
  await c2.start();
  assert.equal(c2.peerId, C);
  await waitFor(
    () =>
      a!.connectedPeers().includes(C) && b!.connectedPeers().includes(C) && c2.connectedPeers().length === 2,
    10_000,
    "reconnection",
  );
  for (let seq = 11; seq <= 20; seq++) {
    a!.send(C, seqMessage(0, seq));
    b!.send(C, seqMessage(1, seq));
  }
  await waitFor(() => atC2.length === 30, 10_000, "messages at restarted C");
  assert.deepEqual(
    atC2.filter((m) => m.sender === 0).map((m) => m.seq),
    Array.from({ length: 20 }, (_, i) => i + 1),
  );
  assert.deepEqual(
    atC2.filter((m) => m.sender === 1).map((m) => m.seq),
    Array.from({ length: 10 }, (_, i) => i + 11),
  );
  assert.deepEqual(events.slice(0, 3), ["connect", "disconnect", "connect"]);
});

test("stop() is idempotent, safe during start(), and send() after stop throws", async () => {
  const [spec] = await nodeSpecs(1);
  const transport = new P2PTransport({ privateKey: spec!.privateKey });
  await transport.start();
  assert.match(transport.multiaddrs[0]!, /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//);
  await Promise.all([transport.stop(), transport.stop()]);
  await transport.stop();
  assert.throws(
    () => transport.send(spec!.peerId, Uint8Array.of(1)),
    (e) => isTallyError(e, ErrorCode.NotStarted),
  );
  await assert.rejects(transport.start(), (e) => isTallyError(e, ErrorCode.InvalidOption));

  // stop() racing start(): both settle and nothing keeps running.
  const racing = new P2PTransport({ privateKey: spec!.privateKey });
  await Promise.all([racing.start(), racing.stop()]);
  assert.equal(racing.isStarted, false);
  assert.deepEqual(racing.connectedPeers(), []);
});
