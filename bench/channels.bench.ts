/**
 * The channel and transport path of one node, in process, without sockets: broadcast messages go out through
 * NodeNetwork.send (envelope, per-recipient peer queues, framing into a fake stream) and come back in through
 * the inbound stream reader (frame decoder, frame split), NodeNetwork.offer (envelope decode, admission) and
 * NodeNetwork.takeEvents (body decode into core events). Prints CPU ns per message for each direction and the
 * garbage collections both caused. The message mix is a loaded devnet's: per transfer 2 gossip (220-byte
 * payload), 3 echo, 3 ready; frames of 40 messages, as `tally bench` measures (25–50 per frame).
 *
 *   node bench/channels.bench.ts [messages=200000] [rounds=5]
 */
import { PerformanceObserver } from "node:perf_hooks";
import { pino } from "pino";
import type { BroadcastMessage } from "../src/broadcast/types.ts";
import { Channels } from "../src/channels/channels.ts";
import { MEMBER_BROADCAST_BUDGET } from "../src/channels/protocolSpec.ts";
import { AddressVersion, encodeAddress } from "../src/core/address.ts";
import { NodeNetwork } from "../src/node/nodeNetwork.ts";
import { newP2PCounters } from "../src/p2p/counters.ts";
import { DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_MESSAGE_BYTES } from "../src/p2p/framing.ts";
import { readInboundStream } from "../src/p2p/inboundStream.ts";
import { PeerInboundStats } from "../src/p2p/peerInboundStats.ts";
import { DEFAULT_PEER_QUEUE_OPTIONS, type FrameSink, PeerQueue } from "../src/p2p/peerQueue.ts";
import type { P2PTransport } from "../src/p2p/transport.ts";
import { BROADCAST_CHANNEL } from "../src/protocols/broadcast/broadcastChannel.ts";
import { STATUS_CHANNEL } from "../src/protocols/status/statusChannel.ts";
import { SYNC_CHANNEL } from "../src/protocols/sync/syncChannel.ts";

const MESSAGES = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const FRAME_MESSAGES = 40;
const RECIPIENTS = ["peer-b", "peer-c", "peer-d"];
const SENDER = "peer-a";

/** A stream that keeps what is sent to it; the bench replays peer-b's frames into the receiver. */
class CollectingSink extends EventTarget {
  writeStatus = "writable" as const;
  frames: Uint8Array[] = [];
  send(frame: Uint8Array): boolean {
    this.frames.push(frame);
    return true;
  }
  abort(): void {}
  async close(): Promise<void> {}
}

/** The inbound side of a libp2p stream: the bench dispatches "message" events itself. */
class FeedingStream extends EventTarget {
  feed(data: Uint8Array): void {
    this.dispatchEvent(Object.assign(new Event("message"), { data }));
  }
  abort(): void {
    throw new Error("bench stream aborted: the frames are malformed");
  }
  async close(): Promise<void> {}
}

function messageMix(n: number): BroadcastMessage[] {
  const out: BroadcastMessage[] = [];
  for (let t = 0; out.length < n; t++) {
    const key = new Uint8Array(32).fill(t % 251);
    key[0] = t >>> 8;
    const instance = { source: encodeAddress(AddressVersion.Ed25519, key), seq: 1 + (t % 1000) };
    const digest = (t % 65_536).toString(16).padStart(64, "0");
    const payload = new Uint8Array(220).fill(t & 0xff);
    out.push({ kind: "gossip", payload }, { kind: "gossip", payload });
    for (let i = 0; i < 3; i++) out.push({ kind: "echo", instance, digest });
    for (let i = 0; i < 3; i++) out.push({ kind: "ready", instance, digest });
  }
  return out.slice(0, n);
}

function network(transport: Partial<P2PTransport>, onAdmitted: () => void): NodeNetwork {
  // The bench measures cost, not admission: a rate no burst reaches, so nothing is shed.
  const budget = { ...MEMBER_BROADCAST_BUDGET, maxMessagesPerSecond: 1e9 };
  const broadcast = { ...BROADCAST_CHANNEL, budget: { ...BROADCAST_CHANNEL.budget, member: budget } };
  const channels = new Channels({
    protocols: [broadcast, STATUS_CHANNEL, SYNC_CHANNEL],
    isMember: () => true,
  });
  return new NodeNetwork({
    transport: transport as P2PTransport,
    channels,
    identity: {} as never,
    log: pino({ level: "silent" }),
    onAdmitted,
    emit: () => {},
    serveSync: async () => {
      throw new Error("no sync in this bench");
    },
  });
}

async function senderSide(): Promise<{ net: NodeNetwork; sinks: Map<string, CollectingSink> }> {
  const sinks = new Map<string, CollectingSink>();
  const queues = new Map<string, PeerQueue>();
  for (const peer of RECIPIENTS) {
    const sink = new CollectingSink();
    sinks.set(peer, sink);
    const queue = new PeerQueue(
      peer,
      true,
      { ...DEFAULT_PEER_QUEUE_OPTIONS, maxFrameMessages: FRAME_MESSAGES },
      {
        openStream: async () => sink as unknown as FrameSink,
        counters: newP2PCounters(),
        log: pino({ level: "silent" }),
        onDispose: () => {},
      },
    );
    queue.ensureOpen();
    queues.set(peer, queue);
  }
  await new Promise((r) => setImmediate(r));
  const transport: Partial<P2PTransport> = { send: (to, msg) => queues.get(to)!.enqueue(msg) };
  return { net: network(transport, () => {}), sinks };
}

function receiverSide(): { net: NodeNetwork; stream: FeedingStream; events: () => number } {
  let events = 0;
  let admitted = false;
  const net = network({ send: () => true, throttle: () => {}, ban: () => {} }, () => {
    admitted = true;
  });
  const stream = new FeedingStream();
  const counters = newP2PCounters();
  readInboundStream(stream as never, SENDER, {
    maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
    maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
    counters,
    stats: new PeerInboundStats(16, () => true),
    budget: { tryReserve: () => true, release: () => {} },
    deliver: net.offer,
    onViolation: () => {
      throw new Error("bench frames broke the format");
    },
    log: pino({ level: "silent" }),
  });
  const feed = stream.feed.bind(stream);
  stream.feed = (data) => {
    feed(data);
    // The processing loop takes after each read, as the node's does when woken by `onAdmitted`.
    if (admitted) {
      admitted = false;
      events += net.takeEvents(256, Date.now()).length;
    }
  };
  return { net, stream, events: () => events };
}

let gcCount = 0;
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcCount++;
    gcMs += e.duration;
  }
}).observe({ entryTypes: ["gc"] });

function cpuNs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) * 1000;
}

/** GC entries are delivered asynchronously: let them arrive before reading the counts. */
async function gcSince(count0: number, ms0: number): Promise<{ gcs: number; gcMs: number }> {
  await new Promise((r) => setTimeout(r, 20));
  return { gcs: gcCount - count0, gcMs: Math.round((gcMs - ms0) * 10) / 10 };
}

/** Chunks of whole frames, so nothing waits for the flush timer and the heap stays a running node's size. */
const CHUNK = FRAME_MESSAGES * 100;

async function round(messages: readonly BroadcastMessage[]): Promise<Record<string, number>> {
  const { net: sender, sinks } = await senderSide();
  const { stream, events } = receiverSide();
  const sink = sinks.get(RECIPIENTS[0]!)!;
  let sendNs = 0;
  let receiveNs = 0;
  let frames = 0;
  const g0 = gcCount;
  const m0 = gcMs;
  for (let at = 0; at + CHUNK <= messages.length; at += CHUNK) {
    let cpu = process.cpuUsage();
    for (let i = at; i < at + CHUNK; i++)
      sender.send({ type: "send", to: RECIPIENTS, message: messages[i]! });
    sendNs += cpuNs(cpu);
    cpu = process.cpuUsage();
    for (const frame of sink.frames) stream.feed(frame);
    receiveNs += cpuNs(cpu);
    frames += sink.frames.length;
    for (const s of sinks.values()) s.frames = [];
  }
  const gc = await gcSince(g0, m0);
  const sent = Math.floor(messages.length / CHUNK) * CHUNK;
  if (events() !== sent) throw new Error(`received ${events()} of ${sent} messages`);
  return {
    sendNsPerMessage: Math.round(sendNs / sent),
    receiveNsPerMessage: Math.round(receiveNs / sent),
    gcs: gc.gcs,
    gcMs: gc.gcMs,
    frames,
  };
}

const mix = messageMix(MESSAGES);
await round(mix.slice(0, 20_000)); // warm-up: let the JIT settle
// The machine may be shared: the least CPU over the rounds is the figure to compare.
const best = { sendNsPerMessage: Number.POSITIVE_INFINITY, receiveNsPerMessage: Number.POSITIVE_INFINITY };
for (let r = 0; r < ROUNDS; r++) {
  const result = await round(mix);
  console.log(JSON.stringify({ round: r + 1, messages: MESSAGES, recipients: RECIPIENTS.length, ...result }));
  best.sendNsPerMessage = Math.min(best.sendNsPerMessage, result.sendNsPerMessage!);
  best.receiveNsPerMessage = Math.min(best.receiveNsPerMessage, result.receiveNsPerMessage!);
}
console.log(JSON.stringify({ best }));
