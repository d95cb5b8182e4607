import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { createTallyLibp2p, type TallyLibp2p } from "../../src/p2p/createLibp2p.ts";
import { encodeFrameOf, FRAME_HEADER_BYTES, TALLY_MSG_PROTOCOL } from "../../src/p2p/framing.ts";
import { MEMBER_TAG, P2PTransport } from "../../src/p2p/transport.ts";
import { meshTransport, nodeSpecs, seqMessage, waitFor } from "./helpers.ts";

const fastQueue = { reconnectInitialDelayMs: 50, reconnectMaxDelayMs: 200 };

function closed(stream: Stream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.status !== "open") resolve();
    else stream.addEventListener("close", () => resolve(), { once: true });
  });
}

async function rawNode(): Promise<TallyLibp2p> {
  const node = await createTallyLibp2p({ privateKey: await generateKeyPair("Ed25519"), listen: [] });
  await node.start();
  return node;
}

/** The libp2p node inside a transport, for looking at its peer store. */
function libp2pOf(transport: P2PTransport): TallyLibp2p {
  return (transport as unknown as { node: TallyLibp2p }).node;
}

test("ban disconnects a member, refuses it both ways until expiry without redial churn, then reconnects", async (t) => {
  const specs = await nodeSpecs(2);
  const [a, b] = specs.map((_, i) => meshTransport(specs, i, { queue: fastQueue })) as [
    P2PTransport,
    P2PTransport,
  ];
  t.after(() => Promise.all([a.stop(), b.stop()]));
  const B = specs[1]!.peerId;
  const atB: number[] = [];
  b.onMessage((_from, msg) => atB.push(Buffer.from(msg).readUInt32BE(4)));
  await Promise.all([a.start(), b.start()]);
  await waitFor(() => a.connectedPeers().includes(B) && b.connectedPeers().length === 1, 10_000, "mesh");

  const banMs = 1_000;
  const untilMs = Date.now() + banMs;
  a.ban(B, untilMs, "test: flooding");
  assert.equal(a.isBanned(B), true);
  assert.equal(a.counters.bansApplied, 1);
  await waitFor(() => !a.connectedPeers().includes(B) && b.connectedPeers().length === 0, 5_000, "hang-up");
  const aOpenFailures = a.counters.openFailures;
  const aStreamsOpened = a.counters.streamsOpened;

  // While banned: A refuses B's redials after the handshake, and drops what it would send to B.
  assert.equal(a.send(B, seqMessage(0, 0)), false);
  assert.equal(a.counters.dropsBanned, 1);
  await waitFor(
    () => a.counters.banRefusals >= 2 && b.counters.openFailures >= 2,
    2_000,
    "B's redials refused by A",
  );
  const [ban] = a.bannedPeers();
  assert.deepEqual(
    { peerId: ban?.peerId, untilMs: ban?.untilMs, reason: ban?.reason },
    { peerId: B, untilMs, reason: "test: flooding" },
  );
  assert.ok(ban!.refusals >= 2);
  assert.equal(a.connectedPeers().includes(B), false);
  // A's own queue for B does not dial into its own ban.
  assert.equal(a.counters.openFailures, aOpenFailures);
  assert.equal(a.counters.streamsOpened, aStreamsOpened);

  // After expiry both directions work again.
  await waitFor(() => Date.now() >= untilMs, banMs + 100, "ban end");
  assert.equal(a.isBanned(B), false);
  await waitFor(() => a.connectedPeers().includes(B), 5_000, "reconnect after ban");
  await waitFor(() => a.send(B, seqMessage(0, 7)) && atB.includes(7), 5_000, "A→B after ban");
  assert.deepEqual(a.bannedPeers(), []);
  assert.equal(a.counters.openFailures, aOpenFailures, "no failed redial during the ban");
});

test("unban lifts a ban early and the member is redialled at once", async (t) => {
  const specs = await nodeSpecs(2);
  const [a, b] = specs.map((_, i) =>
    meshTransport(specs, i, { queue: { reconnectInitialDelayMs: 50, reconnectMaxDelayMs: 60_000 } }),
  ) as [P2PTransport, P2PTransport];
  t.after(() => Promise.all([a.stop(), b.stop()]));
  const B = specs[1]!.peerId;
  await Promise.all([a.start(), b.start()]);
  await waitFor(() => a.connectedPeers().includes(B), 10_000, "mesh");
  // B must not get back in on its own: it is banned on both sides, so only A's unban can reconnect them.
  b.ban(specs[0]!.peerId, Date.now() + 60_000, "test");
  a.ban(B, Date.now() + 60_000, "test");
  await waitFor(() => !a.connectedPeers().includes(B), 5_000, "hang-up");
  await sleep(200);
  assert.equal(a.connectedPeers().includes(B), false);
  assert.equal(b.unban(specs[0]!.peerId), true);
  assert.equal(a.unban(B), true);
  assert.equal(a.unban(B), false);
  await waitFor(() => a.connectedPeers().includes(B), 3_000, "redial after unban");
});

test("disconnect closes a peer's connections without banning it", async (t) => {
  const specs = await nodeSpecs(2);
  const [a, b] = specs.map((_, i) => meshTransport(specs, i, { queue: fastQueue })) as [
    P2PTransport,
    P2PTransport,
  ];
  t.after(() => Promise.all([a.stop(), b.stop()]));
  const B = specs[1]!.peerId;
  await Promise.all([a.start(), b.start()]);
  await waitFor(() => a.connectedPeers().includes(B), 10_000, "mesh");
  // Both sides dial at start; let the second connection register before taking the list.
  await sleep(100);
  const before = [...libp2pOf(a).getConnections(peerIdFromString(B))];
  assert.ok(before.length > 0);
  await a.disconnect(B);
  assert.deepEqual(
    before.map((c) => c.status),
    before.map(() => "closed"),
  );
  assert.equal(a.isBanned(B), false);
  // Members redial each other: a new connection comes up.
  await waitFor(() => a.connectedPeers().includes(B), 5_000, "members reconnect");
});

test("per-IP limit: the 9th inbound connection from one IP is refused; loopback is exempt by default", async (t) => {
  const [spec, open] = await nodeSpecs(2);
  const limited = new P2PTransport({ privateKey: spec!.privateKey, limits: { perIpAllowList: [] } });
  const exempt = new P2PTransport({ privateKey: open!.privateKey });
  await Promise.all([limited.start(), exempt.start()]);
  const raw = await rawNode();
  t.after(() => Promise.all([limited.stop(), exempt.stop(), raw.stop()]));
  assert.equal(limited.limits.maxInboundConnectionsPerIp, 8);

  const target = multiaddr(limited.multiaddrs[0]!);
  const conns = [];
  for (let i = 0; i < 8; i++) conns.push(await raw.dial(target, { force: true }));
  await assert.rejects(raw.dial(target, { force: true }));
  assert.equal(limited.counters.perIpRefusals, 1);
  await waitFor(() => libp2pOf(limited).getConnections().length === 8, 2_000, "8 connections at the target");

  // A closed connection frees its slot.
  await conns[0]!.close();
  await waitFor(() => libp2pOf(limited).getConnections().length === 7, 2_000, "slot freed");
  await raw.dial(target, { force: true });
  assert.equal(limited.counters.perIpRefusals, 1);

  const exemptTarget = multiaddr(exempt.multiaddrs[0]!);
  for (let i = 0; i < 9; i++) await raw.dial(exemptTarget, { force: true });
  assert.equal(exempt.counters.perIpRefusals, 0);
});

test("members carry the tally-member tag in the peer store until removed", async (t) => {
  const specs = await nodeSpecs(2);
  const a = meshTransport(specs, 0, { queue: fastQueue });
  const b = meshTransport(specs, 1, { queue: fastQueue });
  t.after(() => Promise.all([a.stop(), b.stop()]));
  await Promise.all([a.start(), b.start()]);
  const B = peerIdFromString(specs[1]!.peerId);
  const tagOf = async (): Promise<number | undefined> =>
    (await libp2pOf(a).peerStore.get(B)).tags.get(MEMBER_TAG)?.value;
  await waitFor(() => a.connectedPeers().length === 1, 10_000, "mesh");
  assert.equal(await tagOf(), 100);
  a.removePeer(specs[1]!.peerId);
  await sleep(50);
  assert.equal(await tagOf(), undefined);
  a.addPeer(specs[1]!.addr);
  await sleep(50);
  assert.equal(await tagOf(), 100);
});

test("global buffer cap: a stranger's slow huge frame is reset once the cap is full; members keep working", async (t) => {
  const KiB = 1024;
  const maxFrameBytes = 256 * KiB;
  const limits = {
    maxBufferedInboundBytes: 640 * KiB,
    maxBufferedInboundBytesPerPeer: 256 * KiB,
    memberReservedInboundBytes: 256 * KiB,
  };
  const specs = await nodeSpecs(2);
  const opts = { maxFrameBytes, maxMessageBytes: 2 * KiB, limits, queue: fastQueue };
  const target = meshTransport(specs, 0, opts);
  const member = meshTransport(specs, 1, opts);
  const got = new Map<string, number>();
  target.onMessage((from) => got.set(from, (got.get(from) ?? 0) + 1));
  await Promise.all([target.start(), member.start()]);
  const [slow1, slow2] = [await rawNode(), await rawNode()];
  t.after(() => Promise.all([target.stop(), member.stop(), slow1.stop(), slow2.stop()]));
  await waitFor(() => target.connectedPeers().length === 1, 10_000, "mesh");
  const addr = multiaddr(target.multiaddrs[0]!);

  // 250 messages of 1 KiB: one frame of 255,500 payload bytes, sent as a header and a trickle.
  const frame = encodeFrameOf(Array.from({ length: 250 }, (_, i) => seqMessage(9, i, 1020)));
  const payloadBytes = frame.length - FRAME_HEADER_BYTES;
  const s1 = await slow1.dialProtocol(addr, TALLY_MSG_PROTOCOL);
  s1.send(frame.subarray(0, 1_000));
  await waitFor(() => target.bufferedInboundBytes === payloadBytes, 2_000, "first partial frame reserved");

  // A second stranger's frame would pass the strangers' share (640 - 256 KiB): its stream is reset.
  const s2 = await slow2.dialProtocol(addr, TALLY_MSG_PROTOCOL);
  s2.send(frame.subarray(0, 1_000));
  await closed(s2);
  assert.equal(s2.status, "reset");
  assert.equal(target.counters.inboundBufferResets, 1);
  const slow2Id = slow2.peerId.toString();
  assert.equal(target.inboundCounters(slow2Id)?.bufferResets, 1);

  // The member still gets large frames through (the reserved share), while the first stranger trickles on.
  for (let i = 0; i < 2_000; i++) assert.equal(member.send(target.peerId, seqMessage(1, i, 1000)), true);
  for (let off = 1_000; off < frame.length; off += 32 * KiB) {
    s1.send(frame.subarray(off, Math.min(off + 32 * KiB, frame.length)));
    await sleep(20);
  }
  const slow1Id = slow1.peerId.toString();
  await waitFor(() => got.get(member.peerId) === 2_000 && got.get(slow1Id) === 250, 10_000, "all delivered");
  assert.equal(target.counters.inboundBufferResets, 1);
  assert.equal(target.bufferedInboundBytes, 0);

  // The budget was given back: the reset stranger can now send the same frame.
  const s3 = await slow2.dialProtocol(addr, TALLY_MSG_PROTOCOL);
  s3.send(frame.subarray(0, 1_000));
  await sleep(20);
  s3.send(frame.subarray(1_000));
  await waitFor(() => got.get(slow2Id) === 250, 5_000, "second stranger's frame");
  assert.equal(s1.status, "open");
});

test("per-peer inbound counters add up to the global ones", async (t) => {
  const specs = await nodeSpecs(3);
  const ts = specs.map((_, i) => meshTransport(specs, i, { queue: fastQueue }));
  const [a, b, c] = ts as [P2PTransport, P2PTransport, P2PTransport];
  t.after(() => Promise.all(ts.map((tr) => tr.stop())));
  let received = 0;
  c.onMessage(() => received++);
  await Promise.all(ts.map((tr) => tr.start()));
  await waitFor(() => ts.every((tr) => tr.connectedPeers().length === 2), 10_000, "mesh");
  for (let i = 0; i < 100; i++) a.send(c.peerId, seqMessage(0, i));
  for (let i = 0; i < 300; i++) b.send(c.peerId, seqMessage(1, i, 64));
  await waitFor(() => received === 400, 5_000, "messages at C");

  const fromA = c.inboundCounters(a.peerId)!;
  const fromB = c.inboundCounters(b.peerId)!;
  assert.equal(fromA.messagesIn, 100);
  assert.equal(fromB.messagesIn, 300);
  assert.ok(fromB.bytesIn > 300 * 64 && fromA.bytesIn > 100 * 16);
  const all = [...c.inboundCountersByPeer().values()];
  assert.equal(all.length, 2);
  for (const key of ["framesIn", "messagesIn", "bytesIn"] as const) {
    assert.equal(
      all.reduce((sum, e) => sum + e[key], 0),
      c.counters[key],
      key,
    );
  }
});
