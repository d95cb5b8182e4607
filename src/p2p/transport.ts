import { EventEmitter } from "node:events";
import type { GossipSub } from "@libp2p/gossipsub";
import type { Connection, PeerId as Libp2pPeerId, Stream } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import type { Multiaddr } from "@multiformats/multiaddr";
import { type Logger, pino } from "pino";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { canonicalPeerId, type PeerId } from "../core/peerId.ts";
import { type BanInfo, BanList } from "./banList.ts";
import { abortIfRefused, type GaterDeps, tallyConnectionGater } from "./connectionGater.ts";
import { newP2PCounters, type P2PCounters } from "./counters.ts";
import { createTallyLibp2p, type TallyLibp2p } from "./createLibp2p.ts";
import {
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  TALLY_MSG_PROTOCOL,
  validateFrameLimits,
} from "./framing.ts";
import { InboundBufferBudget } from "./inboundBufferBudget.ts";
import { InboundIpLimit } from "./inboundIpLimit.ts";
import { readInboundStream } from "./inboundStream.ts";
import { InboundThrottle } from "./inboundThrottle.ts";
import { MAX_INBOUND_STREAMS_PER_CONNECTION, resolveLimits, type TransportLimits } from "./limits.ts";
import { tagMember } from "./memberTag.ts";
import { PartitionGate } from "./partitionGate.ts";
import { abortConnections, closeConnections } from "./peerConnections.ts";
import { type PeerInboundCounters, PeerInboundStats } from "./peerInboundStats.ts";
import { DEFAULT_PEER_QUEUE_OPTIONS, PeerQueue, type PeerQueueOptions } from "./peerQueue.ts";
import {
  checkSendable,
  type MessageHandler,
  type P2PTransportEvents,
  type P2PTransportOptions,
  parseMemberAddr,
  parsePeerId,
  validateQueueOptions,
} from "./transportOptions.ts";

export { MEMBER_TAG } from "./memberTag.ts";
export type { MessageHandler, P2PTransportEvents, P2PTransportOptions } from "./transportOptions.ts";

type State = "new" | "starting" | "started" | "stopping" | "stopped";

/**
 * The node's transport: the only code that knows libp2p. Protocol cores see two things — `send(peer, bytes)`
 * and an `onMessage(from, bytes)` hook — and peers are named by their libp2p peer id string ("12D3KooW…").
 *
 * Topology: every ordered pair of peers (A→B) uses one long-lived outbound stream opened by A on
 * `TALLY_MSG_PROTOCOL`; B only reads from it. Per-peer queueing, batching and backpressure live in
 * peerQueue.ts, the wire format in framing.ts, the libp2p configuration in createLibp2p.ts.
 *
 * Members (the `bootstrap` list, `addPeer`) are dialled at start and redialled with backoff for as long as
 * they are members, and tagged in the peer store so libp2p prunes them last. Peers that connect to us on their
 * own can be sent to while connected.
 *
 * Admission at this layer (the per-peer budgets and scores live above `onMessage`): `ban` closes a peer's
 * connections and has the connection gater refuse it until a given instant; connection counts, connections per
 * IP and the memory of partially received frames are capped (limits.ts); inbound traffic is counted per peer.
 *
 * Life cycle: `start()` once, `stop()` any number of times (idempotent); an instance is not restartable — a
 * restarted node builds a new transport from the same key and listen address.
 */
export class P2PTransport extends EventEmitter<P2PTransportEvents> {
  /** Our libp2p peer id string. */
  readonly peerId: PeerId;
  /** Live counters (mutated in place; copy for a snapshot). */
  readonly counters: P2PCounters = newP2PCounters();

  private readonly opts: P2PTransportOptions;
  private readonly log: Logger;
  private readonly protocol: string;
  private readonly maxFrameBytes: number;
  private readonly maxMessageBytes: number;
  private readonly queueOpts: PeerQueueOptions;
  /** Resolved limits (defaults merged with the options). */
  readonly limits: Readonly<TransportLimits>;
  /** Member peer id → its dial addresses (libp2p tries them in turn). */
  private readonly members = new Map<PeerId, Multiaddr[]>();
  private readonly queues = new Map<PeerId, PeerQueue>();
  private readonly bans: BanList;
  private readonly ipLimit: InboundIpLimit;
  private readonly inboundBudget: InboundBufferBudget;
  private readonly inboundStats: PeerInboundStats;
  private readonly throttles = new InboundThrottle();
  private readonly partition = new PartitionGate();
  private readonly isMember = (peerId: PeerId): boolean => this.members.has(peerId);
  private handler: MessageHandler | undefined;
  private node: TallyLibp2p | undefined;
  private state: State = "new";
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;

  constructor(opts: P2PTransportOptions) {
    super();
    this.opts = opts;
    this.peerId = canonicalPeerId(peerIdFromPrivateKey(opts.privateKey).toString());
    this.log = (opts.logger ?? pino({ level: "silent" })).child({ module: "p2p" });
    this.protocol = opts.protocol ?? TALLY_MSG_PROTOCOL;
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    validateFrameLimits({ maxFrameBytes: this.maxFrameBytes, maxMessageBytes: this.maxMessageBytes });
    this.queueOpts = { ...DEFAULT_PEER_QUEUE_OPTIONS, ...opts.queue, maxFrameBytes: this.maxFrameBytes };
    validateQueueOptions(this.queueOpts);
    this.limits = resolveLimits(opts.limits, opts.allowList, this.maxFrameBytes);
    this.bans = new BanList(this.limits.maxBans);
    this.ipLimit = new InboundIpLimit(this.limits.maxInboundConnectionsPerIp, this.limits.perIpAllowList);
    this.inboundBudget = new InboundBufferBudget(this.limits);
    this.inboundStats = new PeerInboundStats(this.limits.maxTrackedPeers, this.isMember);
    this.handler = opts.onMessage;
    for (const addr of opts.bootstrap ?? []) this.addMember(addr);
  }

  /** Gossipsub, when the transport was built with `pubsub: true` (open membership); after `start()`. */
  get pubsub(): GossipSub | undefined {
    return this.node?.services.pubsub;
  }

  /** The addresses this node announces (announceAddrs.ts), with `/p2p/<peerId>`; empty before `start()`. */
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
        ...(this.opts.announce !== undefined ? { announce: this.opts.announce } : {}),
        ...(this.opts.allowList !== undefined ? { allowList: this.opts.allowList } : {}),
        ...(this.opts.version !== undefined ? { version: this.opts.version } : {}),
        maxConnections: this.limits.maxConnections,
        maxIncomingPendingConnections: this.limits.maxIncomingPendingConnections,
        ...(this.opts.pubsub === true ? { pubsub: true } : {}),
      },
      {
        connectionGater: tallyConnectionGater(this.gaterDeps()),
        ...this.opts.libp2pModules,
      },
    );
    this.node = node;
    await node.handle(this.protocol, this.onInboundStream, {
      maxInboundStreams: MAX_INBOUND_STREAMS_PER_CONNECTION,
    });
    node.addEventListener("peer:connect", this.onPeerConnect);
    node.addEventListener("peer:disconnect", this.onPeerDisconnect);
    node.addEventListener("connection:open", this.onConnectionOpen);
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
    for (const peer of this.members.keys()) this.keepConnected(peer);
  }

  /** Flush and close every outbound stream (each bounded by `closeTimeoutMs`), then stop libp2p. Idempotent,
   * and safe to call while `start()` is still running. */
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
      node.removeEventListener("connection:open", this.onConnectionOpen);
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
  send(peerId: PeerId, msg: Uint8Array): boolean {
    this.checkSendable(msg);
    if (this.isBanned(peerId)) {
      this.counters.dropsBanned++;
      return false;
    }
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
      if (this.isBanned(peer)) this.counters.dropsBanned++;
      else if (this.queueFor(peer, true).enqueue(msg)) accepted++;
    }
    for (const peer of this.connectedPeers()) {
      if (this.members.has(peer) || this.isBanned(peer)) continue;
      const queue = this.queues.get(peer) ?? this.queueForConnected(peer);
      if (queue?.enqueue(msg) === true) accepted++;
    }
    return accepted;
  }

  /** Peers with at least one open connection. */
  connectedPeers(): PeerId[] {
    return this.node?.getPeers().map((p) => p.toString()) ?? [];
  }

  /** Member peer ids (static list plus `addPeer`). */
  memberPeers(): PeerId[] {
    return [...this.members.keys()];
  }

  /** Outbound backlog for a peer, for callers that want to avoid congested peers. */
  queued(peerId: PeerId): { messages: number; bytes: number } {
    const q = this.queues.get(peerId);
    return { messages: q?.queuedMessages ?? 0, bytes: q?.queuedBytes ?? 0 };
  }

  /**
   * Disconnect `peerId` now and refuse it — inbound after its Noise handshake, outbound before dialling — until
   * `untilMs` (epoch ms). Its queued messages are dropped and `send` to it returns false meanwhile; a member is
   * redialled once, when the ban ends. A second ban keeps the later end. Returns at once; connections are reset.
   */
  ban(peerId: PeerId, untilMs: number, reason: string): void {
    parsePeerId(peerId);
    if (peerId === this.peerId || !Number.isFinite(untilMs)) {
      throw new TallyError(ErrorCode.InvalidOption, "ban needs another peer and a finite end", {
        peerId,
        untilMs,
      });
    }
    const nowMs = Date.now();
    this.bans.ban(peerId, untilMs, reason, nowMs);
    const ban = this.bans.get(peerId, nowMs);
    if (ban === undefined) return;
    this.counters.bansApplied++;
    this.log.warn({ peer: peerId, untilMs: ban.untilMs, reason }, "peer banned");
    this.queues.get(peerId)?.hold(ban.untilMs);
    abortConnections(
      this.node,
      peerId,
      new TallyError(ErrorCode.PeerBanned, "peer is banned", { peer: peerId, reason }),
    );
  }

  /** Lift a ban early; a member is redialled at once. Returns whether the peer was banned. */
  unban(peerId: PeerId): boolean {
    const wasBanned = this.isBanned(peerId);
    this.bans.unban(peerId);
    if (wasBanned) {
      this.log.info({ peer: peerId }, "peer unbanned");
      this.queues.get(peerId)?.unhold();
    }
    return wasBanned;
  }

  /** Stop reading `peerId` until `untilMs` (epoch ms): it sends faster than it is admitted. */
  throttle(peerId: PeerId, untilMs: number): void {
    this.throttles.throttle(peerId, untilMs);
    this.counters.throttles = this.throttles.applied;
  }

  isBanned(peerId: PeerId): boolean {
    // Checked on every send: skip the clock read while nobody is banned.
    return this.bans.size > 0 && this.bans.get(peerId, Date.now()) !== undefined;
  }

  /** Live bans with their refusal counts (copies). */
  bannedPeers(): BanInfo[] {
    return this.bans.list(Date.now());
  }

  /**
   * Close every connection to `peerId` gracefully, without a ban: the peer may reconnect at once, and a member
   * is redialled after the usual backoff.
   */
  disconnect(peerId: PeerId): Promise<void> {
    return closeConnections(this.node, peerId, this.queueOpts.closeTimeoutMs);
  }

  /**
   * Testing only (`--testing-faults`): replace the set of peers this node pretends it cannot reach. Newly
   * blocked peers' connections are aborted now and the gater refuses them both ways; healed members are
   * redialled at once. `[]` heals everything. Throws on a malformed peer id before changing anything.
   */
  setBlockedPeers(peers: readonly PeerId[]): void {
    for (const peer of peers) parsePeerId(peer);
    const { added, healed } = this.partition.set(peers);
    const cut = new TallyError(ErrorCode.PeerBanned, "peer is partitioned off (testing)");
    for (const peer of added) abortConnections(this.node, peer, cut);
    for (const peer of healed) this.queues.get(peer)?.kick();
  }

  /** Inbound counters of one peer (a copy), or undefined if it is not tracked. */
  inboundCounters(peerId: PeerId): PeerInboundCounters | undefined {
    const entry = this.inboundStats.get(peerId);
    return entry === undefined ? undefined : { ...entry };
  }

  /** Inbound counters of every tracked peer (copies): all members that sent anything, and the most recent others. */
  inboundCountersByPeer(): Map<PeerId, PeerInboundCounters> {
    return this.inboundStats.snapshot();
  }

  /** Bytes reserved right now for partially received frames, across all inbound streams. */
  get bufferedInboundBytes(): number {
    return this.inboundBudget.totalBytes;
  }

  /** Make a peer a member: dial it now and keep it connected. Returns its peer id. */
  addPeer(addr: string): PeerId {
    const peerId = this.addMember(addr);
    if (peerId === this.peerId) return peerId;
    this.inboundStats.membershipChanged();
    if (this.state === "started") this.keepConnected(peerId);
    return peerId;
  }

  /** Tag a member and open its stream — or, while it is banned, wait for the ban to end. */
  private keepConnected(peerId: PeerId): void {
    if (this.node !== undefined) tagMember(this.node, peerId, true, this.log);
    const queue = this.queueFor(peerId, true);
    const ban = this.bans.get(peerId, Date.now());
    if (ban !== undefined) queue.hold(ban.untilMs);
    queue.ensureOpen();
  }

  /** Stop keeping a member connected; its queue lives on only while its current stream does. */
  removePeer(peerId: PeerId): void {
    if (!this.members.delete(peerId)) return;
    this.inboundStats.membershipChanged();
    if (this.node !== undefined) tagMember(this.node, peerId, false, this.log);
    this.queues.get(peerId)?.unwant();
  }

  private addMember(addr: string): PeerId {
    const { peerId, ma } = parseMemberAddr(addr);
    if (peerId !== this.peerId) {
      const addrs = this.members.get(peerId) ?? [];
      if (!addrs.some((a) => a.equals(ma))) addrs.push(ma);
      this.members.set(peerId, addrs);
    }
    return peerId;
  }

  private checkSendable(msg: Uint8Array): void {
    checkSendable(this.state === "started" ? undefined : this.state, msg, this.maxMessageBytes);
  }

  /** A queue for a non-member, only if it is connected right now. */
  private queueForConnected(peerId: PeerId): PeerQueue | undefined {
    if (peerId === this.peerId || this.node === undefined) return undefined;
    if (this.node.getConnections(parsePeerId(peerId)).length === 0) return undefined;
    return this.queueFor(peerId, false);
  }

  private queueFor(peerId: PeerId, wanted: boolean): PeerQueue {
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

  private async openStream(peerId: PeerId, signal: AbortSignal): Promise<Stream> {
    const node = this.node;
    if (node === undefined || this.state !== "started") {
      throw new TallyError(ErrorCode.NotStarted, "transport not started");
    }
    if (this.isBanned(peerId)) {
      throw new TallyError(ErrorCode.PeerBanned, "peer is banned", { peer: peerId });
    }
    // Members are dialled at their configured addresses; other peers only over a connection they opened.
    const target = this.members.get(peerId) ?? parsePeerId(peerId);
    return node.dialProtocol(target, this.protocol, { signal });
  }

  private readonly onPeerConnect = (evt: CustomEvent<Libp2pPeerId>): void => {
    const peer = canonicalPeerId(evt.detail.toString());
    this.log.debug({ peer }, "peer connected");
    // A member that came back (e.g. restarted and dialled us) should not wait out our backoff.
    this.queues.get(peer)?.kick();
    this.emitSafely("peer:connect", peer);
  };

  private readonly onPeerDisconnect = (evt: CustomEvent<Libp2pPeerId>): void => {
    const peer = canonicalPeerId(evt.detail.toString());
    this.log.debug({ peer }, "peer disconnected");
    // What waits was meant for a process that may have restarted (docs/p2p-limits.md, "Outbound queues").
    this.queues.get(peer)?.discardQueued();
    this.emitSafely("peer:disconnect", peer);
  };

  /** A connection whose upgrade passed the gater just before a `ban` (or a partition) landed is closed here. */
  private readonly onConnectionOpen = (evt: CustomEvent<Connection>): void =>
    abortIfRefused(this.gaterDeps(), evt.detail);

  private gaterDeps(): GaterDeps {
    const { bans, ipLimit, counters, partition, log } = this;
    return { bans, ipLimit, counters, partition, log, now: Date.now };
  }

  private emitSafely(event: keyof P2PTransportEvents, peer: PeerId): void {
    try {
      this.emit(event, peer);
    } catch (err) {
      this.log.error({ err, event, peer }, "p2p event listener threw");
    }
  }

  private readonly onInboundStream = (stream: Stream, connection: Connection): void => {
    const from = canonicalPeerId(connection.remotePeer.toString());
    if (this.isBanned(from)) {
      stream.abort(new TallyError(ErrorCode.PeerBanned, "peer is banned", { peer: from }));
      return;
    }
    this.throttles.track(from, stream);
    readInboundStream(stream, from, {
      maxFrameBytes: this.maxFrameBytes,
      maxMessageBytes: this.maxMessageBytes,
      counters: this.counters,
      stats: this.inboundStats,
      budget: this.inboundBudget.forPeer(from, this.isMember),
      deliver: this.deliver,
      onViolation: (peer) => this.emitSafely("peer:violation", peer),
      log: this.log,
    });
  };

  private readonly deliver = (from: PeerId, msg: Uint8Array): void => {
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
  };
}
