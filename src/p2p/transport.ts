import { EventEmitter } from "node:events";
import type { Connection, PeerId, PrivateKey, Stream, StreamMessageEvent } from "@libp2p/interface";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import { type Logger, pino } from "pino";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { newP2PCounters, type P2PCounters } from "./counters.ts";
import { createTallyLibp2p, type Libp2pNodeModules, type TallyLibp2p } from "./createLibp2p.ts";
import { isFramingError } from "./errors.ts";
import {
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  decodeFramePayload,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  TALLY_MSG_PROTOCOL,
  validateFrameLimits,
} from "./framing.ts";
import { DEFAULT_PEER_QUEUE_OPTIONS, PeerQueue, type PeerQueueOptions } from "./peerQueue.ts";

/**
 * The node's transport: the only code that knows libp2p. Protocol cores see two things — `send(peer, bytes)`
 * and an `onMessage(from, bytes)` hook — and peers are named by their libp2p peer id string ("12D3KooW…").
 *
 * Topology: every ordered pair of peers (A→B) uses one long-lived outbound stream opened by A on
 * `TALLY_MSG_PROTOCOL`; B only reads from it. Per-peer queueing, batching and backpressure live in
 * peerQueue.ts, the wire format in framing.ts, the libp2p configuration in createLibp2p.ts.
 *
 * Members (the `bootstrap` list, `addPeer`) are dialled at start and redialled with backoff for as long as
 * they are members. Peers that connect to us on their own can be sent to while connected.
 *
 * Life cycle: `start()` once, `stop()` any number of times (idempotent); an instance is not restartable — a
 * restarted node builds a new transport from the same key and listen address.
 */
export type MessageHandler = (from: string, msg: Uint8Array) => void;

export interface P2PTransportEvents {
  "peer:connect": [peerId: string];
  "peer:disconnect": [peerId: string];
}

export interface P2PTransportOptions {
  privateKey: PrivateKey;
  /** Listen multiaddrs. Default `/ip4/127.0.0.1/tcp/0`. */
  listen?: readonly string[];
  /**
   * Static members: multiaddrs ending in `/p2p/<peerId>`. Our own id may appear and is skipped; several
   * addresses of one peer are all kept.
   */
  bootstrap?: readonly string[];
  /** Structured logger; default silent. */
  logger?: Logger;
  /** Message hook; may also be set later with `onMessage`. */
  onMessage?: MessageHandler;
  /** Default `TALLY_MSG_PROTOCOL`. */
  protocol?: string;
  /** Upper bound of a frame payload, enforced on send and receive. Default 1 MiB. */
  maxFrameBytes?: number;
  /** Upper bound of one message, enforced on send and receive. Default 256 KiB. */
  maxMessageBytes?: number;
  /** Per-peer queue tuning (batching, limits, reconnect backoff); see `PeerQueueOptions`. */
  queue?: Partial<Omit<PeerQueueOptions, "maxFrameBytes">>;
  /** See `Libp2pNodeOptions.allowList`; default loopback. */
  allowList?: readonly string[];
  /** Reported to peers by identify. */
  version?: string;
  /** Injected libp2p modules. */
  libp2pModules?: Libp2pNodeModules;
}

/**
 * Inbound streams of our protocol per connection. The peer needs one; a few more cover a re-open racing the
 * close of the previous stream. Each costs up to one `maxFrameBytes` reassembly buffer, so it is kept small
 * (libp2p default: 32).
 */
const MAX_INBOUND_STREAMS_PER_CONNECTION = 4;

type State = "new" | "starting" | "started" | "stopping" | "stopped";

export class P2PTransport extends EventEmitter<P2PTransportEvents> {
  /** Our libp2p peer id string. */
  readonly peerId: string;
  /** Live counters (mutated in place; copy for a snapshot). */
  readonly counters: P2PCounters = newP2PCounters();

  private readonly opts: P2PTransportOptions;
  private readonly log: Logger;
  private readonly protocol: string;
  private readonly maxFrameBytes: number;
  private readonly maxMessageBytes: number;
  private readonly queueOpts: PeerQueueOptions;
  /** Member peer id → its dial addresses (libp2p tries them in turn). */
  private readonly members = new Map<string, Multiaddr[]>();
  private readonly queues = new Map<string, PeerQueue>();
  private handler: MessageHandler | undefined;
  private node: TallyLibp2p | undefined;
  private state: State = "new";
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;

  constructor(opts: P2PTransportOptions) {
    super();
    this.opts = opts;
    this.peerId = peerIdFromPrivateKey(opts.privateKey).toString();
    this.log = (opts.logger ?? pino({ level: "silent" })).child({ module: "p2p" });
    this.protocol = opts.protocol ?? TALLY_MSG_PROTOCOL;
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    validateFrameLimits({ maxFrameBytes: this.maxFrameBytes, maxMessageBytes: this.maxMessageBytes });
    this.queueOpts = { ...DEFAULT_PEER_QUEUE_OPTIONS, ...opts.queue, maxFrameBytes: this.maxFrameBytes };
    validateQueueOptions(this.queueOpts);
    this.handler = opts.onMessage;
    for (const addr of opts.bootstrap ?? []) this.addMember(addr);
  }

  /** Listen addresses including `/p2p/<peerId>`; empty before `start()`. */
  get multiaddrs(): string[] {
    return this.node?.getMultiaddrs().map((ma) => ma.toString()) ?? [];
  }

  get isStarted(): boolean {
    return this.state === "started";
  }

  /** Listen, register the protocol, dial the members. Once per instance. */
  start(): Promise<void> {
    if (this.state !== "new") {
      return Promise.reject(
        new TallyError(ErrorCode.InvalidOption, `transport cannot start from state ${this.state}`),
      );
    }
    this.state = "starting";
    this.startPromise = this.doStart();
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    const node = await createTallyLibp2p(
      {
        privateKey: this.opts.privateKey,
        listen: this.opts.listen ?? ["/ip4/127.0.0.1/tcp/0"],
        ...(this.opts.allowList !== undefined ? { allowList: this.opts.allowList } : {}),
        ...(this.opts.version !== undefined ? { version: this.opts.version } : {}),
      },
      this.opts.libp2pModules,
    );
    this.node = node;
    await node.handle(this.protocol, this.onInboundStream, {
      maxInboundStreams: MAX_INBOUND_STREAMS_PER_CONNECTION,
    });
    node.addEventListener("peer:connect", this.onPeerConnect);
    node.addEventListener("peer:disconnect", this.onPeerDisconnect);
    try {
      await node.start();
    } catch (err) {
      this.state = "stopped";
      try {
        await node.stop();
      } catch (stopErr) {
        this.log.debug({ err: stopErr }, "libp2p stop after failed start");
      }
      throw err;
    }
    // stop() may have been called while we were starting; it waits for us, then tears down.
    if (this.state !== "starting") return;
    this.state = "started";
    this.log.info({ peerId: this.peerId, addrs: this.multiaddrs, members: this.members.size }, "p2p started");
    for (const peer of this.members.keys()) this.queueFor(peer, true).ensureOpen();
  }

  /**
   * Flush and close every outbound stream (each bounded by `closeTimeoutMs`), then stop libp2p. Idempotent,
   * and safe to call while `start()` is still running.
   */
  stop(): Promise<void> {
    if (this.stopPromise === undefined) this.stopPromise = this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    this.state = "stopping";
    await this.startPromise?.catch(() => {});
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.all(queues.map((q) => q.close()));
    const node = this.node;
    if (node !== undefined) {
      node.removeEventListener("peer:connect", this.onPeerConnect);
      node.removeEventListener("peer:disconnect", this.onPeerDisconnect);
      try {
        await node.unhandle(this.protocol);
      } catch (err) {
        this.log.debug({ err }, "unhandle failed");
      }
      await node.stop();
    }
    this.state = "stopped";
    this.log.info({ peerId: this.peerId }, "p2p stopped");
  }

  /** Install the inbound message hook (replaces any previous one). */
  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  /**
   * Queue `msg` for `peerId`. Returns false if it was dropped: queue full, or the peer is neither a member nor
   * connected (see counters). Throws only on caller bugs: not started, oversized or empty message.
   * `msg` is framed later by reference and must not be mutated afterwards.
   */
  send(peerId: string, msg: Uint8Array): boolean {
    this.checkSendable(msg);
    const queue = this.queues.get(peerId) ?? this.queueForConnected(peerId);
    if (queue === undefined) {
      this.counters.dropsNoRoute++;
      return false;
    }
    return queue.enqueue(msg);
  }

  /** Queue `msg` for every member and every connected peer. Returns how many peers accepted it. */
  broadcast(msg: Uint8Array): number {
    this.checkSendable(msg);
    let accepted = 0;
    for (const peer of this.members.keys()) {
      if (this.queueFor(peer, true).enqueue(msg)) accepted++;
    }
    for (const peer of this.connectedPeers()) {
      if (this.members.has(peer)) continue;
      const queue = this.queues.get(peer) ?? this.queueForConnected(peer);
      if (queue?.enqueue(msg) === true) accepted++;
    }
    return accepted;
  }

  /** Peers with at least one open connection. */
  connectedPeers(): string[] {
    return this.node?.getPeers().map((p) => p.toString()) ?? [];
  }

  /** Member peer ids (static list plus `addPeer`). */
  memberPeers(): string[] {
    return [...this.members.keys()];
  }

  /** Outbound backlog for a peer, for callers that want to avoid congested peers. */
  queued(peerId: string): { messages: number; bytes: number } {
    const q = this.queues.get(peerId);
    return { messages: q?.queuedMessages ?? 0, bytes: q?.queuedBytes ?? 0 };
  }

  /** Make a peer a member: dial it now and keep it connected. Returns its peer id. */
  addPeer(addr: string): string {
    const peerId = this.addMember(addr);
    if (peerId !== this.peerId && this.state === "started") this.queueFor(peerId, true).ensureOpen();
    return peerId;
  }

  /** Stop keeping a member connected; its queue lives on only while its current stream does. */
  removePeer(peerId: string): void {
    if (!this.members.delete(peerId)) return;
    this.queues.get(peerId)?.unwant();
  }

  private addMember(addr: string): string {
    let ma: Multiaddr;
    let peerId: string;
    try {
      ma = multiaddr(addr);
      const value = ma.getComponents().find((c) => c.name === "p2p")?.value;
      if (value === undefined) throw new Error("missing /p2p/<peerId>");
      peerId = peerIdFromString(value).toString();
    } catch (err) {
      throw new TallyError(ErrorCode.InvalidOption, `bad peer multiaddr ${addr}: ${(err as Error).message}`, {
        addr,
      });
    }
    if (peerId !== this.peerId) {
      const addrs = this.members.get(peerId) ?? [];
      if (!addrs.some((a) => a.equals(ma))) addrs.push(ma);
      this.members.set(peerId, addrs);
    }
    return peerId;
  }

  private checkSendable(msg: Uint8Array): void {
    if (this.state !== "started") {
      throw new TallyError(ErrorCode.NotStarted, `transport is ${this.state}`);
    }
    if (msg.length === 0 || msg.length > this.maxMessageBytes) {
      throw new TallyError(ErrorCode.MessageTooLarge, "message must have 1..maxMessageBytes bytes", {
        bytes: msg.length,
        maxMessageBytes: this.maxMessageBytes,
      });
    }
  }

  /** A queue for a non-member, only if it is connected right now. */
  private queueForConnected(peerId: string): PeerQueue | undefined {
    if (peerId === this.peerId || this.node === undefined) return undefined;
    let id: PeerId;
    try {
      id = peerIdFromString(peerId);
    } catch {
      throw new TallyError(ErrorCode.InvalidPeer, `not a peer id: ${peerId}`);
    }
    if (this.node.getConnections(id).length === 0) return undefined;
    return this.queueFor(peerId, false);
  }

  private queueFor(peerId: string, wanted: boolean): PeerQueue {
    let queue = this.queues.get(peerId);
    if (queue !== undefined) {
      if (wanted) queue.wanted = true;
      return queue;
    }
    queue = new PeerQueue(peerId, wanted, this.queueOpts, {
      openStream: (signal) => this.openStream(peerId, signal),
      counters: this.counters,
      log: this.log,
      onDispose: (q) => {
        if (this.queues.get(peerId) === q) this.queues.delete(peerId);
      },
    });
    this.queues.set(peerId, queue);
    return queue;
  }

  private async openStream(peerId: string, signal: AbortSignal): Promise<Stream> {
    const node = this.node;
    if (node === undefined || this.state !== "started") {
      throw new TallyError(ErrorCode.NotStarted, "transport not started");
    }
    // Members are dialled at their configured address (it stays valid across restarts); other peers only over
    // a connection they opened, found by id.
    const target = this.members.get(peerId) ?? peerIdFromString(peerId);
    return node.dialProtocol(target, this.protocol, { signal });
  }

  private readonly onPeerConnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail.toString();
    this.log.debug({ peer }, "peer connected");
    // A member that came back (e.g. restarted and dialled us) should not wait out our backoff.
    this.queues.get(peer)?.kick();
    this.emitSafely("peer:connect", peer);
  };

  private readonly onPeerDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail.toString();
    this.log.debug({ peer }, "peer disconnected");
    this.emitSafely("peer:disconnect", peer);
  };

  private emitSafely(event: keyof P2PTransportEvents, peer: string): void {
    try {
      this.emit(event, peer);
    } catch (err) {
      this.log.error({ err, event, peer }, "p2p event listener threw");
    }
  }

  private readonly onInboundStream = (stream: Stream, connection: Connection): void => {
    const from = connection.remotePeer.toString();
    const decoder = new FrameDecoder(this.maxFrameBytes);
    const maxMessageBytes = this.maxMessageBytes;
    const counters = this.counters;
    const onFrame = (payload: Uint8Array): void => {
      const msgs = decodeFramePayload(payload, maxMessageBytes);
      counters.framesIn++;
      counters.bytesIn += FRAME_HEADER_BYTES + payload.length;
      counters.messagesIn += msgs.length;
      for (const msg of msgs) this.deliver(from, msg);
    };
    stream.addEventListener("message", (evt: StreamMessageEvent) => {
      try {
        const data = evt.data;
        if (data instanceof Uint8Array) decoder.push(data, onFrame);
        else for (const chunk of data) decoder.push(chunk, onFrame);
      } catch (err) {
        if (isFramingError(err)) {
          counters.protocolViolations++;
          this.log.warn(
            { peer: from, code: err.code, reason: err.message, ...err.meta },
            "peer broke the frame format, resetting its stream",
          );
        } else {
          this.log.error({ peer: from, err }, "inbound stream failed");
        }
        stream.abort(err as Error);
      }
    });
    // This end never writes; closing our half now lets the stream finish as soon as the sender closes theirs.
    stream.close().catch(() => {});
  };

  private deliver(from: string, msg: Uint8Array): void {
    const handler = this.handler;
    if (handler === undefined) {
      this.counters.dropsNoHandler++;
      return;
    }
    try {
      handler(from, msg);
    } catch (err) {
      this.counters.handlerErrors++;
      this.log.error({ peer: from, err }, "message handler threw");
    }
  }
}

function validateQueueOptions(o: PeerQueueOptions): void {
  const positive: (keyof PeerQueueOptions)[] = [
    "maxFrameMessages",
    "maxQueuedMessages",
    "maxQueuedBytes",
    "reconnectInitialDelayMs",
    "reconnectMaxDelayMs",
    "drainTimeoutMs",
    "openTimeoutMs",
    "closeTimeoutMs",
  ];
  for (const key of positive) {
    if (!(o[key] > 0)) throw new TallyError(ErrorCode.InvalidOption, `${key} must be > 0`, { [key]: o[key] });
  }
  if (!(o.batchDelayMs >= 0)) throw new TallyError(ErrorCode.InvalidOption, "batchDelayMs must be >= 0");
}
