import { EventEmitter } from "node:events";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type {
  AccountTransfersPage,
  NodeApi,
  NodeHealth,
  NodeInfo,
  NodePeers,
  TransferEvent,
  TransferView,
} from "../api/nodeApi.ts";
import { buildApiServer } from "../api/server.ts";
import { Channels } from "../channels/channels.ts";
import type { ProtocolSpec } from "../channels/protocolSpec.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { canonicalPeerId, type PeerId } from "../core/peerId.ts";
import type { EncodedTransfer } from "../core/transfer.ts";
import { type Genesis, genesisHash, isOpenMembership } from "../genesis/genesis.ts";
import { memberDialAddresses, readGenesisFile } from "../genesis/genesisFile.ts";
import type { Ledger, TransferStatusChange } from "../ledger/ledger.ts";
import { dialableAddrs, unreachableFromOthers } from "../p2p/announceAddrs.ts";
import { loadOrCreatePeerKey } from "../p2p/peerKey.ts";
import { P2PTransport } from "../p2p/transport.ts";
import { BROADCAST_CHANNEL } from "../protocols/broadcast/broadcastChannel.ts";
import { COMMITTEES_CHANNEL } from "../protocols/committees/committeeChannel.ts";
import { STATUS_CHANNEL } from "../protocols/status/statusChannel.ts";
import { SYNC_CHANNEL } from "../protocols/sync/syncChannel.ts";
import { CommitmentLog } from "../storage/commitmentLog.ts";
import { type NodeDatabase, openDatabase, writeBatch } from "../storage/database.ts";
import { LevelLedgerStore, RECENT_STATUS_ENTRIES } from "../storage/levelLedgerStore.ts";
import { metaRecords } from "../storage/metaRecords.ts";
import { SubmittedLog } from "../storage/submittedLog.ts";
import { assembleCore, cryptoRandom } from "./assembleCore.ts";
import type { NodeConfig } from "./config.ts";
import { judgeHealth } from "./core/health.ts";
import type { NodeCore } from "./core/nodeCore.ts";
import type { NodeAction, NodeEvent } from "./core/nodeEvents.ts";
import { DurableReads } from "./durableReads.ts";
import { GroupCommit, MIN_STEP_INTERVAL_MS } from "./groupCommit.ts";
import { LoopLoad } from "./loopLoad.ts";
import type { MembershipDriver } from "./membershipDriver.ts";
import { createMembershipDriver, type MembershipSetup, setUpMembership } from "./membershipSetup.ts";
import { NodeMetrics } from "./metrics.ts";
import { NodeNetwork } from "./nodeNetwork.ts";
import { MAX_HISTORY_PAGE_BYTES, NodeReadModel } from "./nodeReadModel.ts";
import { PeerKeeper } from "./peerKeeper.ts";
import { describePeers } from "./peerView.ts";
import { ProcessingLoop } from "./processingLoop.ts";
import type { CommitteeDriver } from "./shared/committeeDriver.ts";
import type { HostRelay } from "./shared/hostRelay.ts";
import { createHostRelay, setUpSharedHosting } from "./shared/sharedSetup.ts";
import { syncProgressLogger } from "./syncProgressLog.ts";
import { SyncServer } from "./syncServer.ts";
import { transportFaults } from "./testingFaults.ts";

export const NODE_VERSION = "0.1.0";

/** Protocols spoken over peer connections, with their channel codes (never reused). */
const CHANNEL_PROTOCOLS = [BROADCAST_CHANNEL, STATUS_CHANNEL, SYNC_CHANNEL, COMMITTEES_CHANNEL];

/** A member whose messages were shed within this window counts as being shed now (health). */
const SHEDDING_WINDOW_MS = 5_000;

export interface TallyNodeOptions {
  /** Events handled per persistence batch: bounds latency while amortising the LevelDB write. */
  readonly maxEventsPerBatch?: number;
  readonly tickIntervalMs?: number;
  /** Group commit (groupCommit.ts): while few events wait on a busy node, a step starts this long after the last. */
  readonly minStepIntervalMs?: number;
  /** Resolved statuses kept in memory (RECENT_STATUS_ENTRIES); tests shrink it to make older ones come from disk. */
  readonly recentStatuses?: number;
  /** A history page ends early once its transfers' JSON reaches this (MAX_HISTORY_PAGE_BYTES); tests shrink it. */
  readonly maxHistoryPageBytes?: number;
}

/**
 * One Tally node's I/O shell: LevelDB, libp2p, the REST API and timers around the sans-I/O `NodeCore`, which
 * the processing loop (processingLoop.ts) steps: one fsynced write per step, before anything of it leaves.
 */
export class TallyNode implements NodeApi {
  readonly events = new EventEmitter();
  readonly config: NodeConfig;
  private readonly log: Logger;
  private readonly options: Required<TallyNodeOptions>;
  private readonly metricsImpl = new NodeMetrics();
  private readonly durableReads = new DurableReads();
  private db: NodeDatabase | undefined;
  private store: LevelLedgerStore | undefined;
  private core: NodeCore | undefined;
  private readModel: NodeReadModel | undefined;
  private transport: P2PTransport | undefined;
  private channels: Channels | undefined;
  private network: NodeNetwork | undefined;
  private api: FastifyInstance | undefined;
  private genesis: Genesis | undefined;
  private genesisId = "";
  private peerIdImpl = "";
  private membership: MembershipSetup | undefined;
  private membershipDriver: MembershipDriver | undefined;
  /** Committees of the shared accounts this node hosts an owner of (docs/kshared.md). */
  shared: CommitteeDriver | undefined;
  /** An open network's host announcements, relayed by every node (src/node/shared/hostRelay.ts). */
  private hostRelay: HostRelay | undefined;
  private protocols: readonly ProtocolSpec[] = CHANNEL_PROTOCOLS;
  private loop: ProcessingLoop | undefined;
  private readonly groupCommit: GroupCommit;
  private tickTimer: NodeJS.Timeout | undefined;
  private state: "new" | "starting" | "running" | "stopping" | "stopped" = "new";
  private stopPromise: Promise<void> | undefined;
  private readonly startedAtMs = Date.now();
  private resolveFailure: (e: Error) => void = () => {};
  private readonly failure = new Promise<Error>((resolve) => {
    this.resolveFailure = resolve;
  });

  constructor(config: NodeConfig, log: Logger, options: TallyNodeOptions = {}) {
    this.config = config;
    this.log = log;
    this.options = {
      maxEventsPerBatch: options.maxEventsPerBatch ?? 2_000,
      tickIntervalMs: options.tickIntervalMs ?? 250,
      recentStatuses: options.recentStatuses ?? RECENT_STATUS_ENTRIES,
      maxHistoryPageBytes: options.maxHistoryPageBytes ?? MAX_HISTORY_PAGE_BYTES,
      minStepIntervalMs: options.minStepIntervalMs ?? MIN_STEP_INTERVAL_MS,
    };
    const load = new LoopLoad(Date.now());
    this.groupCommit = new GroupCommit({ minIntervalMs: this.options.minStepIntervalMs, load: load.current });
  }

  get metrics() {
    return this.metricsImpl.registry;
  }
  get peerId(): string {
    return this.peerIdImpl;
  }
  /** The API's URL; with port 0 in the config, the port the kernel assigned. */
  get apiUrl(): string {
    const address = this.api?.server.address();
    const port = typeof address === "object" && address !== null ? address.port : this.config.api.port;
    const host = this.config.api.host.includes(":") ? `[${this.config.api.host}]` : this.config.api.host;
    return `http://${host}:${port}`;
  }
  get multiaddrs(): string[] {
    return this.transport?.multiaddrs ?? [];
  }
  get ledger(): Ledger {
    if (this.core === undefined) throw new Error("node not started");
    return this.core.ledger;
  }

  async start(): Promise<void> {
    if (this.state !== "new") throw new Error("a TallyNode starts once");
    this.state = "starting";
    const genesis = await readGenesisFile(this.config.genesisPath);
    this.genesis = genesis;
    this.genesisId = genesisHash(genesis);
    const peerKey = await loadOrCreatePeerKey(this.config.dataDir);
    this.peerIdImpl = canonicalPeerId(peerKey.peerId.toString());
    const membership = setUpMembership(
      genesis,
      this.genesisId,
      this.peerIdImpl,
      cryptoRandom,
      (this.config.testingUnlinkedPeers ?? []).map(canonicalPeerId),
    );
    this.membership = membership;
    this.protocols = [...CHANNEL_PROTOCOLS, ...membership.protocols];

    this.db = await openDatabase(join(this.config.dataDir, "db"));
    await metaRecords.claimStorageFormat(this.db, this.config.dataDir);
    await metaRecords.claimForGenesis(this.db, this.genesisId, this.config.dataDir);
    const store = await LevelLedgerStore.open(this.db, { recentStatuses: this.options.recentStatuses });
    this.store = store;
    await store.flush();
    const { core, identity } = assembleCore({
      genesis,
      genesisId: this.genesisId,
      self: this.peerIdImpl,
      membership: membership.membership,
      store,
      protocols: this.protocols,
      byzantine: this.config.byzantine,
      stallTimeoutMs: this.config.testingStallTimeoutMs,
      log: this.log,
    });
    this.core = core;
    this.readModel = new NodeReadModel(core, store, () => this.durableReads.settled(), {
      maxHistoryPageBytes: this.options.maxHistoryPageBytes,
    });
    const db = this.db;
    this.loop = new ProcessingLoop({
      core,
      maxEventsPerStep: this.options.maxEventsPerBatch,
      groupCommit: this.groupCommit,
      durableReads: this.durableReads,
      peerBacklog: () => this.channels?.bufferedMessages ?? 0,
      takePeerEvents: (max, nowMs) => this.network?.takeEvents(max, nowMs) ?? [],
      commit: async (writes) => {
        const count = writes.length; // writeBatch takes the ops
        await writeBatch(db, writes);
        this.metricsImpl.countStep(count);
        // The step is on disk: the ledger store may let the oldest statuses leave memory and show its index entries.
        store.settleTaken();
      },
      send: (actions) => this.carryOutSends(actions),
      announce: (change) => this.announce(change),
      refused: ({ id, source, seq, reason }) =>
        this.events.emit("transfer", { id, source, seq, status: "rejected", reason } satisfies TransferEvent),
      onStep: (timing) => this.metricsImpl.observeStep(timing),
      onFailure: (e) => this.fail(e, "processing failed; stopping the node"),
    });
    const restored = core.restore(await CommitmentLog.load(this.db));
    const resubmitted = core.restoreSubmitted(await SubmittedLog.load(this.db));

    const bootstrap = [...memberDialAddresses(genesis, this.peerIdImpl), ...this.config.bootstrap];
    const open = membership.open;
    this.transport = new P2PTransport({
      privateKey: peerKey.privateKey,
      listen: this.config.listen,
      announce: this.config.announce,
      // An open network's driver dials its bootstrap peers and then the sampler's view.
      bootstrap: open === undefined ? bootstrap : [],
      pubsub: open !== undefined,
      logger: this.log,
      version: `tally/${NODE_VERSION}`,
    });
    this.channels = new Channels({
      protocols: this.protocols,
      isMember: (peer) => membership.membership.isMember(peer),
      wasMember: (peer, nowMs) => membership.membership.wasMember(peer, nowMs),
      startedMs: Date.now(),
    });
    // Who keeps which peers connected on an open network: the view, bootstrap peers, co-owners' hosts.
    const keeper = new PeerKeeper(this.transport);
    const openIo =
      open === undefined
        ? undefined
        : createMembershipDriver({
            genesis,
            genesisId: this.genesisId,
            open,
            transport: this.transport,
            keeper,
            channels: this.channels,
            privateKey: peerKey.privateKey,
            bootstrap: this.config.bootstrap,
            log: this.log,
            penalize: (peer, event, count) => this.network?.penalize(peer, event, count),
          });
    this.membershipDriver = openIo?.driver;
    const ctx = { config: this.config, network: genesis.network, db: this.db, transport: this.transport };
    this.shared = await setUpSharedHosting({
      ...{ ...ctx, channels: this.channels, log: this.log, node: this },
      onFailure: (e) => this.fail(e, "committee step failed; stopping the node"),
      penalize: (peer, event) => this.network?.penalize(peer, event),
      open:
        open === undefined
          ? undefined
          : {
              keeper,
              addressesOf: (peer) => dialableAddrs(open.addressesOf(peer), ctx.transport.multiaddrs),
            },
    });
    this.hostRelay =
      open === undefined
        ? undefined
        : createHostRelay(
            {
              network: genesis.network,
              transport: this.transport,
              genesisHash: this.genesisId,
              privateKey: peerKey.privateKey,
              isKnownHost: (peer) => open.isMember(peer),
              penalize: (peer, event) => this.network?.penalize(peer, event),
              log: this.log,
            },
            () => this.shared,
          );
    const network = new NodeNetwork({
      transport: this.transport,
      channels: this.channels,
      identity,
      log: this.log,
      onAdmitted: () => this.kick(),
      emit: (event) => this.enqueue(event),
      serveSync: new SyncServer(core.ledger, core.senders, store, this.durableReads).serve,
      extraHandlers: [openIo?.driver.handler(), this.shared?.handler()].filter((h) => h !== undefined),
      introductions: openIo?.introductions,
    });
    this.network = network;
    this.transport.onMessage(network.offer);
    this.transport.on("peer:violation", network.onViolation);
    this.metricsImpl.watch({ core, transport: this.transport, channels: this.channels });
    // Samples are replaced when a peer stays down, and a returning peer is re-subscribed (contagion).
    this.transport.on("peer:connect", (peer) => {
      this.enqueue({ type: "peerUp", peer, nowMs: Date.now() });
      network.askStatus(peer);
      this.shared?.onPeerConnect(peer);
    });
    this.transport.on("peer:disconnect", (peer) => {
      network.peerDisconnected(peer);
      this.enqueue({ type: "peerDown", peer, nowMs: Date.now() });
    });
    // A node restarted inside a test's partition must not reach across it, not even with its first dials.
    const blocked = this.config.testingBlockedPeers ?? [];
    if (blocked.length > 0) {
      this.transport.setBlockedPeers(blocked);
      this.log.warn({ blocked }, "testing: starting partitioned");
    }
    await this.transport.start();
    const peers = isOpenMembership(genesis) ? [...genesis.membership.bootstrap, ...bootstrap] : bootstrap;
    if (unreachableFromOthers(this.transport.multiaddrs, peers))
      this.log.warn(
        { addrs: this.transport.multiaddrs },
        "no other host can dial this node: it listens on host-local addresses only, and the network's other nodes are elsewhere; listen on a reachable address (--listen /ip4/0.0.0.0/tcp/PORT) or --announce one",
      );
    await this.membershipDriver?.start();
    await this.shared?.start();
    this.hostRelay?.start();

    this.carryOutSends(restored);
    this.enqueue({ type: "start", nowMs: Date.now() });
    // Transfers this node accepted before a restart and had not seen delivered: introduce them again.
    for (const encoded of resubmitted) this.enqueue({ type: "reintroduce", encoded, nowMs: Date.now() });

    this.api = await buildApiServer(this, {
      logger: this.log,
      onClientLimits: (limited) => this.metricsImpl.watchApiClients(limited),
      ...(this.config.testingFaults ? { testing: transportFaults(this.transport, this.log) } : {}),
    });
    await this.api.listen({ host: this.config.api.host, port: this.config.api.port });
    const logSync = syncProgressLogger(this.log);
    this.tickTimer = setInterval(() => {
      network.tick(Date.now());
      logSync(core.catchUp?.progress(), Date.now());
      this.enqueue({ type: "tick", nowMs: Date.now() });
    }, this.options.tickIntervalMs);
    this.tickTimer.unref();
    this.state = "running";
    this.log.info(
      {
        peerId: this.peerIdImpl,
        api: this.apiUrl,
        listen: this.transport.multiaddrs,
        membership: membership.membership.kind,
        members: this.memberCount(),
      },
      "node started",
    );
  }

  /**
   * Shutdown order: API (no new requests) → timers → finish the batch in flight → network → DB.
   * Idempotent; a second call returns the first call's promise.
   */
  stop(): Promise<void> {
    if (this.stopPromise === undefined) this.stopPromise = this.doStop();
    return this.stopPromise;
  }

  /**
   * Settles once a failure the node cannot go on from (a write that did not reach the disk: its processing
   * loop's or a committee's) has stopped it, with that error. `tally node start` then exits non-zero, so a
   * supervisor restarts it and it resumes from what is on disk. Never settles on an ordinary stop.
   */
  get failed(): Promise<Error> {
    return this.failure;
  }

  private fail(e: unknown, what: string): void {
    this.log.fatal({ err: e }, what);
    const error = e instanceof Error ? e : new Error(String(e));
    void this.stop().finally(() => this.resolveFailure(error));
  }

  private async doStop(): Promise<void> {
    this.state = "stopping";
    await this.api?.close().catch((e: unknown) => this.log.warn({ err: e }, "closing API"));
    if (this.tickTimer !== undefined) clearInterval(this.tickTimer);
    this.membershipDriver?.stop();
    this.hostRelay?.stop();
    await this.shared?.stop();
    await this.loop?.close();
    await this.transport?.stop().catch((e: unknown) => this.log.warn({ err: e }, "stopping transport"));
    await this.store?.flush().catch((e: unknown) => this.log.error({ err: e }, "final flush"));
    await this.db?.close();
    this.state = "stopped";
    this.log.info("node stopped");
  }

  // ---- NodeApi -------------------------------------------------------------------------------------------

  async submit(encoded: EncodedTransfer): Promise<{ id: string; status: TransferView["status"] }> {
    if (this.state !== "running") throw new TallyError(ErrorCode.PendingFull, "node is not running");
    const result = (await this.readModel!.quickAnswer(encoded)) ?? (await this.loop!.submit(encoded));
    if (!result.ok) throw new TallyError(result.error.code, result.error.message);
    if (result.status === "pending") this.metricsImpl.transfersSubmitted.inc();
    return { id: result.id, status: result.status };
  }

  // Reads wait while a processing step's write is in flight (the read model waits before each core read).
  async transfer(id: string): Promise<TransferView | undefined> {
    return this.readModel!.transfer(id);
  }

  async account(address: string) {
    await this.durableReads.settled();
    return this.readModel!.account(address);
  }

  async accountTransfers(address: string, limit: number, before?: number): Promise<AccountTransfersPage> {
    await this.durableReads.settled();
    return this.readModel!.accountTransfers(address, limit, before);
  }

  /** `GET /v1/node/peers`: known members, connected peers, and the peers each broadcast sample draws from. */
  peers(): NodePeers {
    if (this.genesis === undefined || this.membership === undefined)
      throw new TallyError(ErrorCode.PendingFull, "node is not running");
    const connected = this.transport?.connectedPeers() ?? [];
    const samples = this.core?.broadcast.samplePeers?.();
    return describePeers(this.genesis, this.membership, connected, samples, this.startedAtMs);
  }

  info(): NodeInfo {
    const n = this.memberCount();
    return {
      peerId: this.peerIdImpl,
      version: NODE_VERSION,
      network: this.genesis?.network ?? "",
      genesis: this.genesisId,
      broadcast:
        this.genesis?.broadcast.mode === "contagion"
          ? { mode: "contagion", params: { ...this.genesis.broadcast.params } }
          : { mode: "bracha", params: { n, f: Math.floor((n - 1) / 3) } },
      ...(this.config.byzantine ? { byzantine: this.config.byzantine } : {}),
      peers: { connected: this.transport?.connectedPeers().length ?? 0, members: n },
      protocols: this.protocols.map((p) => ({ id: p.id, version: p.version })),
      ...(this.core?.catchUp !== undefined ? { sync: this.core.catchUp.progress() } : {}),
    };
  }

  /** Ready once running and the connected members can meet every threshold of the node's own broadcasts. */
  health(): NodeHealth {
    const running = this.state === "running" && this.transport !== undefined && this.core !== undefined;
    if (!running)
      return judgeHealth({ state: this.state, quorumsReachable: false, shedMembers: 0, members: 0 });
    const connected = new Set(this.transport!.connectedPeers());
    return judgeHealth({
      state: this.state,
      quorumsReachable: this.core!.broadcast.quorumsReachable((peer) => connected.has(peer)),
      shedMembers: this.channels!.sheddingMembers(Date.now(), SHEDDING_WINDOW_MS).length,
      members: this.memberCount(),
      behind: this.core!.catchUp?.progress().behind ?? 0,
    });
  }

  /** Genesis members, or (open network) the identities this node holds records of, itself included. */
  private memberCount(): number {
    const open = this.membership?.open;
    return open === undefined ? (this.membership?.membership.members.length ?? 0) : open.size + 1;
  }

  // ---- processing loop ------------------------------------------------------------------------------------

  /** Queues one of the node's own events; from the start of a stop on, none are taken. */
  private enqueue(event: NodeEvent): void {
    if (this.state === "stopping" || this.state === "stopped") return;
    this.loop?.enqueue(event);
  }

  private kick(): void {
    if (this.state === "stopping" || this.state === "stopped") return;
    this.loop?.kick();
  }

  private carryOutSends(actions: readonly NodeAction[]): void {
    for (const action of actions) {
      if (action.type === "readBody") void this.readBody(action.to, action.digest);
      else this.network!.send(action);
    }
    this.network!.flushStep(); // the step's payloads and votes, in batches per peer
  }

  private async readBody(to: PeerId, digest: string): Promise<void> {
    const encoded = await this.store?.body(digest).catch(() => undefined);
    this.enqueue({ type: "storedBody", to, digest, encoded });
  }

  private announce(change: TransferStatusChange): void {
    if (change.status !== "delivered") this.metricsImpl.transfersResolved.inc({ status: change.status });
    const event: TransferEvent = change.reason
      ? { ...change }
      : { id: change.id, source: change.source, seq: change.seq, status: change.status };
    this.events.emit("transfer", event);
  }
}
