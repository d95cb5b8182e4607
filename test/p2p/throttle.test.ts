import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { P2PTransport, P2PTransportOptions } from "../../src/p2p/transport.ts";
import { meshTransport, nodeSpecs, seqMessage, waitFor } from "./helpers.ts";

/**
 * `transport.throttle(peer, untilMs)` on real libp2p over loopback: the peer's inbound streams are paused, its
 * flood waits in its own outbound queue, and everything arrives once the throttle ends. A peer that gets banned
 * around the end of its throttle must not take the node down with it.
 */

const fastQueue = { reconnectInitialDelayMs: 50, reconnectMaxDelayMs: 200 };
/** 1,000-byte messages: a burst of a few thousand is several times the 2 MiB stream window. */
const MESSAGE_BYTES = 1_000;
/** A timer may fire a millisecond before `Date.now()` reaches its end; allow for the rounding, no more. */
const TIMER_SLACK_MS = 5;

interface Delivery {
  seq: number;
  atMs: number;
}

/** Every message a transport receives, per sender: sequence number (see `seqMessage`) and arrival time. */
class Deliveries {
  private readonly bySender = new Map<string, Delivery[]>();
  /** Runs inside the transport's message hook, after the message is recorded. */
  onEach: ((from: string, seq: number) => void) | undefined;

  constructor(transport: P2PTransport) {
    transport.onMessage((from, msg) => {
      const seq = Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength).readUInt32BE(4);
      this.from(from).push({ seq, atMs: Date.now() });
      this.onEach?.(from, seq);
    });
  }

  from(peer: string): Delivery[] {
    let list = this.bySender.get(peer);
    if (list === undefined) {
      list = [];
      this.bySender.set(peer, list);
    }
    return list;
  }
}

interface Mesh {
  transports: P2PTransport[];
  ids: string[];
  deliveries: Deliveries[];
}

/** `n` member transports, each a member of the others, started and fully connected; stopped after the test. */
async function startMesh(
  t: { after(fn: () => Promise<unknown>): void },
  n: number,
  optionsOf: (i: number) => Partial<P2PTransportOptions> = () => ({ queue: fastQueue }),
): Promise<Mesh> {
  const specs = await nodeSpecs(n);
  const transports = specs.map((_, i) => meshTransport(specs, i, optionsOf(i)));
  t.after(() => Promise.all(transports.map((tr) => tr.stop())));
  const deliveries = transports.map((tr) => new Deliveries(tr));
  await Promise.all(transports.map((tr) => tr.start()));
  await waitFor(() => transports.every((tr) => tr.connectedPeers().length === n - 1), 10_000, "full mesh");
  return { transports, ids: specs.map((s) => s.peerId), deliveries };
}

/** One message from `sender` to `receiver`, delivered: the receiver now holds the sender's stream. */
async function openStream(mesh: Mesh, sender: number, receiver: number, seq = 0): Promise<void> {
  const got = mesh.deliveries[receiver]!.from(mesh.ids[sender]!);
  const before = got.length;
  assert.equal(mesh.transports[sender]!.send(mesh.ids[receiver]!, seqMessage(sender, seq)), true);
  await waitFor(() => got.length === before + 1, 5_000, `stream ${sender} → ${receiver}`);
}

function assertInOrderNoneLost(deliveries: readonly Delivery[], total: number): void {
  assert.equal(deliveries.length, total, "every message arrived exactly once");
  const outOfOrder = deliveries.findIndex((d, i) => d.seq !== i);
  assert.equal(outOfOrder, -1, `in order (first mismatch at index ${outOfOrder})`);
}

/** B (index 1) and C (index 2) exchange 100 messages each way, all delivered in order. */
async function assertBAndCTalk(mesh: Mesh): Promise<void> {
  const [, b, c] = mesh.transports as [P2PTransport, P2PTransport, P2PTransport];
  const [, B, C] = mesh.ids as [string, string, string];
  const atB = mesh.deliveries[1]!.from(C);
  const atC = mesh.deliveries[2]!.from(B);
  const [fromB, fromC] = [atC.length, atB.length];
  for (let i = 0; i < 100; i++) {
    assert.equal(c.send(B, seqMessage(2, fromC + i)), true);
    assert.equal(b.send(C, seqMessage(1, fromB + i)), true);
  }
  await waitFor(() => atB.length === fromC + 100 && atC.length === fromB + 100, 5_000, "B ↔ C");
  assertInOrderNoneLost(atB, fromC + 100);
  assertInOrderNoneLost(atC, fromB + 100);
}

test("while B throttles A, A's messages wait in A's queue; afterwards all arrive in order", async (t) => {
  const mesh = await startMesh(t, 2);
  const [a, b] = mesh.transports as [P2PTransport, P2PTransport];
  const [A, B] = mesh.ids as [string, string];
  const atB = mesh.deliveries[1]!.from(A);
  await openStream(mesh, 0, 1);

  const THROTTLE_MS = 500;
  const untilMs = Date.now() + THROTTLE_MS;
  b.throttle(A, untilMs);
  assert.equal(b.counters.throttles, 1);

  // A sends 8,000 messages (8 MB) in bursts over the first 300 ms of the throttle; A's queue holds 65,536.
  const BURSTS = 10;
  const PER_BURST = 800;
  const FLOOD = BURSTS * PER_BURST;
  let maxQueuedDuringThrottle = 0;
  const sampler = setInterval(() => {
    if (Date.now() < untilMs)
      maxQueuedDuringThrottle = Math.max(maxQueuedDuringThrottle, a.queued(B).messages);
  }, 10);
  t.after(() => clearInterval(sampler));
  let seq = 1;
  for (let burst = 0; burst < BURSTS; burst++) {
    for (let i = 0; i < PER_BURST; i++) {
      assert.equal(a.send(B, seqMessage(0, seq++, MESSAGE_BYTES)), true, "A's queue accepts the flood");
    }
    await sleep(30);
  }
  const total = seq;
  await waitFor(() => atB.length === total, 15_000, "every message after the throttle");
  clearInterval(sampler);

  // During the throttle B handed on (almost) nothing of the flood, all of which A sent after it began; what A's
  // window let through waited unread at B. Judged by arrival times, so a slow machine cannot fake a leak.
  const flood = atB.slice(1);
  const duringThrottle = flood.filter((d) => d.atMs < untilMs - TIMER_SLACK_MS);
  assert.ok(
    duringThrottle.length < FLOOD / 20,
    `${duringThrottle.length} of ${FLOOD} messages delivered while throttled`,
  );
  // A's stream window filled, so the rest waited in A's own queue.
  assert.ok(
    maxQueuedDuringThrottle > FLOOD / 2,
    `A's queue for B peaked at ${maxQueuedDuringThrottle} messages during the throttle`,
  );
  // After it: everything, in order, none lost; delivery picked up as soon as the throttle ended.
  assertInOrderNoneLost(atB, total);
  const firstAfter = flood[duringThrottle.length]!;
  assert.ok(firstAfter.atMs >= untilMs - TIMER_SLACK_MS, "nothing held back arrived before the end");
  assert.ok(firstAfter.atMs < untilMs + 1_000, `resumed ${firstAfter.atMs - untilMs} ms after the end`);
  assert.equal(a.counters.dropsQueueFull + a.counters.dropsStreamError + a.counters.drainTimeouts, 0);
  assert.equal(b.counters.protocolViolations + b.counters.inboundBufferResets, 0);
  assert.equal(a.queued(B).messages, 0);
  t.diagnostic(
    `throttled ${THROTTLE_MS} ms: ${duringThrottle.length} delivered during it, A's queue peaked at ` +
      `${maxQueuedDuringThrottle}, all ${total} in ${atB.at(-1)!.atMs - untilMs} ms after it`,
  );
});

test("a throttle whose peer is banned before it ends expires quietly; B keeps working with C", async (t) => {
  const mesh = await startMesh(t, 3);
  const [a, b] = mesh.transports as [P2PTransport, P2PTransport];
  const [A, B] = mesh.ids as [string, string];
  const fromA = mesh.deliveries[1]!.from(A);
  await openStream(mesh, 0, 1);

  // B pauses A; A's messages pile up unread at B (and in A's queue); then B bans A, which aborts A's
  // connections while B still holds a paused stream of A's with unread data.
  const untilMs = Date.now() + 300;
  b.throttle(A, untilMs);
  for (let seq = 1; seq <= 3_000; seq++) a.send(B, seqMessage(0, seq, MESSAGE_BYTES));
  await sleep(100);
  b.ban(A, Date.now() + 60_000, "test: banned while throttled");
  await waitFor(() => !b.connectedPeers().includes(A), 5_000, "A cut off");

  // The throttle ends with A's streams gone: nothing throws, nothing of A's is delivered.
  await waitFor(() => Date.now() > untilMs + 200, 2_000, "well past the throttle's end");
  assert.equal(fromA.length, 1, "nothing of A's after the ban");
  assert.equal(b.isStarted, true);
  assert.equal(b.counters.bansApplied, 1);
  await assertBAndCTalk(mesh);
});

test("a peer banned by what B reads when its throttle ends: the resume does not throw; B keeps working with C", async (t) => {
  // Small frames from A, so the data B holds paused is many whole frames, decoded the moment B resumes.
  const mesh = await startMesh(t, 3, (i) => ({
    queue: i === 0 ? { ...fastQueue, maxFrameMessages: 10 } : fastQueue,
  }));
  const [a, b] = mesh.transports as [P2PTransport, P2PTransport];
  const [A, B] = mesh.ids as [string, string];
  await openStream(mesh, 0, 1);

  // As the node does with a flooder: the first message B reads after the throttle gets A banned, from inside
  // the delivery that the resume itself triggers (the connection under the resuming stream is aborted).
  let bannedAtSeq: number | undefined;
  mesh.deliveries[1]!.onEach = (from, seq) => {
    if (from === A && seq > 0 && bannedAtSeq === undefined) {
      bannedAtSeq = seq;
      b.ban(A, Date.now() + 60_000, "test: flood seen after the throttle");
    }
  };
  const untilMs = Date.now() + 200;
  b.throttle(A, untilMs);
  for (let seq = 1; seq <= 3_000; seq++) a.send(B, seqMessage(0, seq, MESSAGE_BYTES));
  await waitFor(() => bannedAtSeq !== undefined, 5_000, "A banned after its throttle");
  assert.equal(bannedAtSeq, 1);
  await waitFor(() => !b.connectedPeers().includes(A), 5_000, "A cut off");
  await sleep(100);

  assert.equal(b.isStarted, true);
  assert.equal(b.counters.bansApplied, 1);
  assert.equal(b.counters.handlerErrors, 0);
  await assertBAndCTalk(mesh);
});

test("a throttle extends, never shortens: a shorter second call keeps the later end", async (t) => {
  const mesh = await startMesh(t, 2);
  const [a, b] = mesh.transports as [P2PTransport, P2PTransport];
  const [A, B] = mesh.ids as [string, string];
  const atB = mesh.deliveries[1]!.from(A);
  await openStream(mesh, 0, 1);

  const t0 = Date.now();
  b.throttle(A, t0 + 400);
  b.throttle(A, t0 + 100); // shorter: ignored
  const laterEnd = t0 + 700;
  b.throttle(A, laterEnd); // longer: extends
  b.throttle(A, t0 + 200); // shorter again: ignored
  assert.equal(b.counters.throttles, 1, "one throttle, extended — not four");

  for (let seq = 1; seq <= 50; seq++) assert.equal(a.send(B, seqMessage(0, seq)), true);
  await waitFor(() => atB.length === 51, 5_000, "messages after the throttle");
  const firstAfter = atB[1]!;
  assert.ok(
    firstAfter.atMs >= laterEnd - TIMER_SLACK_MS,
    `first delivery ${firstAfter.atMs - t0} ms after the throttle began; its end was ${laterEnd - t0} ms`,
  );
  assertInOrderNoneLost(atB, 51);

  // Once it has ended, a new throttle counts as a new one, and one for a past instant ends at once.
  b.throttle(A, Date.now() - 1);
  assert.equal(b.counters.throttles, 2);
  await sleep(20);
  assert.equal(a.send(B, seqMessage(0, 51)), true);
  await waitFor(() => atB.length === 52, 2_000, "delivery after a throttle that ended at once");
});

test("a throttled peer that closes its stream cleanly still has everything it sent delivered", async (t) => {
  const mesh = await startMesh(t, 2);
  const [a, b] = mesh.transports as [P2PTransport, P2PTransport];
  const [A] = mesh.ids as [string];
  const atB = mesh.deliveries[1]!.from(A);
  await openStream(mesh, 0, 1);
  b.throttle(A, Date.now() + 300);
  for (let i = 1; i <= 10; i++) assert.equal(a.send(mesh.ids[1]!, seqMessage(0, i)), true);
  await sleep(50);
  // A's close flushes its stream and succeeds: A believes the messages were delivered.
  await a.stop();
  await waitFor(() => atB.length === 11, 2_000, "the held messages after A closed");
  assertInOrderNoneLost(atB, 11);
});
