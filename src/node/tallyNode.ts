import { randomInt } from "node:crypto";
import { EventEmitter } from "node:events";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type {
  AccountTransferView,
  NodeApi,
  NodeInfo,
  TransferEvent,
  TransferStatus,
  TransferView,
} from "../api/nodeApi.ts";
import { buildApiServer } from "../api/server.ts";
import { BrachaBroadcast } from "../broadcast/bracha/bracha.ts";
import { BYZANTINE_STRATEGIES, ByzantineBroadcast, isByzantineStrategy } from "../broadcast/byzantine.ts";
import { ContagionBroadcast } from "../broadcast/contagion/contagion.ts";
import { decodeBroadcastMessage, encodeBroadcastMessage } from "../broadcast/messageCodec.ts";
import type {
  BroadcastAction,
  BroadcastEvent,
  BroadcastMessage,
  BroadcastProtocol,
  Commitment,
  InstanceRef,
  PayloadInfo,
  SubmitOutcome,
} from "../broadcast/types.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { decodeTransfer, type EncodedTransfer } from "../core/transfer.ts";
import { transferToJson } from "../core/transferJson.ts";
import { sodiumVerifier } from "../crypto/ed25519Sodium.ts";
import { type Genesis, genesisHash, parseGenesis } from "../genesis/genesis.ts";
import { SignatureAuthorizer } from "../ledger/authorization.ts";
import { Ledger, type TransferStatusChange } from "../ledger/ledger.ts";
import type { RejectionReason } from "../ledger/store.ts";
import { loadOrCreatePeerKey } from "../p2p/peerKey.ts";
import { P2PTransport } from "../p2p/transport.ts";
import { StaticMembership } from "../sampling/staticMembership.ts";
import { Bucket, key, range } from "../storage/buckets.ts";
import {
  type BatchOp,
  jsonValue,
  type NodeDatabase,
  openDatabase,
  parseJsonValue,
  writeBatch,
} from "../storage/database.ts";
import { LevelLedgerStore } from "../storage/levelLedgerStore.ts";
import type { NodeConfig } from "./config.ts";
import { NodeMetrics } from "./metrics.ts";
import { SubmittedTransfers } from "./submittedTransfers.ts";

export const NODE_VERSION = "0.1.0";

export interface TallyNodeOptions {
  /** Peer messages waiting to be processed; beyond it they are dropped and counted (a flooding peer). */
  readonly maxInboxEvents?: number;
  /** Events handled per persistence batch: bounds latency while amortising the LevelDB write. */
  readonly maxEventsPerBatch?: number;
  readonly tickIntervalMs?: number;
}

interface InboxItem {
  readonly event: BroadcastEvent;
  readonly onSubmitResult?: (outcome: SubmitOutcome) => void;
}

/**
 * One Tally node: LevelDB, the ledger, the broadcast state machine, the libp2p transport and the REST API.
 * The node owns the I/O and the ordering rules; all protocol decisions are made by the sans-I/O cores.
 *
 * Processing loop: peer messages, submissions and timer ticks enter one inbox. A batch of events is handled
 * by the broadcast state machine; deliveries go to the ledger; then every write of the batch (broadcast
 * commitments, ledger verdicts) is committed as ONE LevelDB batch, and only then are the batch's messages
 * sent and its results announced. So nothing the node tells a peer or a client can be lost by a crash.
 */
export class TallyNode implements NodeApi {
  readonly events = new EventEmitter();
  readonly config: NodeConfig;
  private readonly log: Logger;
  private readonly options: Required<TallyNodeOptions>;
  private readonly metricsImpl = new NodeMetrics();
  private db: NodeDatabase | undefined;
  private store: LevelLedgerStore | undefined;
  private ledgerImpl: Ledger | undefined;
  private broadcast: BroadcastProtocol | undefined;
  private transport: P2PTransport | undefined;
  private api: FastifyInstance | undefined;
  private genesis: Genesis | undefined;
  private genesisId = "";
  private peerIdImpl = "";
  private members: string[] = [];
  private readonly authorizer = new SignatureAuthorizer(sodiumVerifier);
  /** Transfers accepted by this node's API and not yet delivered: their status is `pending`. */
  private readonly submitted = new SubmittedTransfers();
  /**
   * Submitted transfers whose (source, seq) was delivered with another transfer: a double spend lost the
   * race. Reported as rejected (SEQ_CONFLICT); bounded, in memory only.
   */
  private readonly superseded = new Map<string, { encoded: EncodedTransfer; reason: RejectionReason }>();
  /** Verdicts of `inspect` by payload bytes: gossip delivers each payload several times. */
  private readonly inspected = new Map<string, PayloadInfo>();
  /** Decoded payloads by digest, so a payload inspected on arrival is not decoded again on delivery. */
  private readonly decoded = new Map<string, EncodedTransfer>();
  private inbox: InboxItem[] = [];
  private processing: Promise<void> | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private state: "new" | "starting" | "running" | "stopping" | "stopped" = "new";
  private stopPromise: Promise<void> | undefined;

  constructor(config: NodeConfig, log: Logger, options: TallyNodeOptions = {}) {
    this.config = config;
    this.log = log;
    this.options = {
      maxInboxEvents: options.maxInboxEvents ?? 200_000,
      maxEventsPerBatch: options.maxEventsPerBatch ?? 2_000,
      tickIntervalMs: options.tickIntervalMs ?? 250,
    };
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
    if (this.ledgerImpl === undefined) throw new Error("node not started");
    return this.ledgerImpl;
  }

  async start(): Promise<void> {
    if (this.state !== "new") throw new Error("a TallyNode starts once");
    this.state = "starting";
    const genesis = await loadGenesis(this.config.genesisPath);
    this.genesis = genesis;
    this.genesisId = genesisHash(genesis);
    const peerKey = await loadOrCreatePeerKey(this.config.dataDir);
    this.peerIdImpl = peerKey.peerId.toString();
    this.members = genesis.members.map((m) => m.peerId);
    if (!this.members.includes(this.peerIdImpl)) {
      throw new TallyError(
        ErrorCode.InvalidGenesis,
        `this node (${this.peerIdImpl}) is not a member of the genesis; a permissioned network needs every node listed`,
      );
    }

    this.db = await openDatabase(join(this.config.dataDir, "db"));
    await this.checkGenesisOfDatabase(this.db);
    this.store = await LevelLedgerStore.open(this.db);
    this.ledgerImpl = new Ledger(genesis, this.store, this.authorizer);
    await this.store.flush();

    this.broadcast = this.createBroadcast(genesis);
    const restoredSends = this.broadcast.restore(await this.loadCommitments(this.db));

    const bootstrap = [
      ...genesis.members
        .filter((m) => m.peerId !== this.peerIdImpl)
        .flatMap((m) => m.multiaddrs.map((a) => (a.includes("/p2p/") ? a : `${a}/p2p/${m.peerId}`))),
      ...this.config.bootstrap,
    ];
    this.transport = new P2PTransport({
      privateKey: peerKey.privateKey,
      listen: this.config.listen,
      bootstrap,
      logger: this.log,
      version: `tally/${NODE_VERSION}`,
      onMessage: (from, bytes) => this.onPeerMessage(from, bytes),
    });
    this.metricsImpl.watch({ ledger: this.ledger, broadcast: this.broadcast, transport: this.transport });
    // Samples are replaced when a peer stays down, and a returning peer is re-subscribed (contagion).
    this.transport.on("peer:connect", (peer) =>
      this.enqueue({ event: { type: "peerUp", peer, nowMs: Date.now() } }),
    );
    this.transport.on("peer:disconnect", (peer) =>
      this.enqueue({ event: { type: "peerDown", peer, nowMs: Date.now() } }),
    );
    await this.transport.start();

    this.runSends(restoredSends);
    this.enqueue({ event: { type: "start", nowMs: Date.now() } });
    // Transfers this node accepted before a restart and had not seen delivered: introduce them again.
    for await (const bytes of this.db.values(range(Bucket.submitted))) {
      const encoded = decodeTransfer(bytes);
      if (this.ledger.status(encoded.id) !== undefined) continue;
      this.submitted.add(encoded);
      this.enqueue({ event: { type: "submit", payload: encoded.bytes, nowMs: Date.now() } });
    }

    this.api = await buildApiServer(this, { logger: this.log });
    await this.api.listen({ host: this.config.api.host, port: this.config.api.port });
    this.tickTimer = setInterval(
      () => this.enqueue({ event: { type: "tick", nowMs: Date.now() } }),
      this.options.tickIntervalMs,
    );
    this.tickTimer.unref();
    this.state = "running";
    this.log.info(
      {
        peerId: this.peerIdImpl,
        api: this.apiUrl,
        listen: this.transport.multiaddrs,
        members: this.members.length,
      },
      "node started",
    );
  }

  private createBroadcast(genesis: Genesis): BroadcastProtocol {
    const random = () => randomInt(2 ** 47) / 2 ** 47;
    const inspect = (payload: Uint8Array) => this.inspect(payload);
    const isSettled = (instance: InstanceRef) => this.ledger.isSlotTaken(instance.source, instance.seq);
    const protocol: BroadcastProtocol =
      genesis.broadcast.mode === "contagion"
        ? new ContagionBroadcast({
            self: this.peerIdImpl,
            oracle: new StaticMembership({ self: this.peerIdImpl, members: this.members, random }),
            params: genesis.broadcast.params,
            inspect,
            random,
            isSettled,
          })
        : new BrachaBroadcast({ self: this.peerIdImpl, members: this.members, inspect, random, isSettled });
    const strategy = this.config.byzantine;
    if (strategy === undefined) return protocol;
    if (!isByzantineStrategy(strategy)) {
      throw new TallyError(
        ErrorCode.InvalidField,
        `unknown byzantine strategy "${strategy}" (${BYZANTINE_STRATEGIES.join(", ")})`,
      );
    }
    this.log.warn({ strategy }, "BYZANTINE TEST MODE: this node deliberately misbehaves");
    return new ByzantineBroadcast(protocol, {
      strategy,
      self: this.peerIdImpl,
      members: this.members,
      inspect,
      random,
    });
  }

  /**
   * Shutdown order: API (no new requests) → timers → finish the batch in flight → network → DB.
   * Idempotent; a second call returns the first call's promise.
   */
  stop(): Promise<void> {
    if (this.stopPromise === undefined) this.stopPromise = this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    this.state = "stopping";
    await this.api?.close().catch((e: unknown) => this.log.warn({ err: e }, "closing API"));
    if (this.tickTimer !== undefined) clearInterval(this.tickTimer);
    this.inbox = [];
    await this.processing;
    await this.transport?.stop().catch((e: unknown) => this.log.warn({ err: e }, "stopping transport"));
    await this.store?.flush().catch((e: unknown) => this.log.error({ err: e }, "final flush"));
    await this.db?.close();
    this.state = "stopped";
    this.log.info("node stopped");
  }

  // ---- NodeApi -------------------------------------------------------------------------------------------

  async submit(encoded: EncodedTransfer): Promise<{ id: string; status: TransferStatus }> {
    if (this.state !== "running") throw new TallyError(ErrorCode.PendingFull, "node is not running");
    const known = this.statusOf(encoded.id);
    if (known !== undefined) return { id: encoded.id, status: known };
    this.ledger.precheck(encoded);
    // Persist before introducing: a crash after peers saw it must not lose our copy.
    await this.db!.put(key(Bucket.submitted, encoded.id), encoded.bytes);
    this.submitted.add(encoded);
    const outcome = await new Promise<SubmitOutcome>((resolve) =>
      this.enqueue({
        event: { type: "submit", payload: encoded.bytes, nowMs: Date.now() },
        onSubmitResult: resolve,
      }),
    );
    if (outcome === "accepted" || outcome === "duplicate" || outcome === "delivered") {
      this.metricsImpl.transfersSubmitted.inc();
      return { id: encoded.id, status: this.statusOf(encoded.id) ?? "pending" };
    }
    await this.forgetSubmitted(encoded.id);
    if (outcome === "conflict") {
      throw new TallyError(
        ErrorCode.SeqConflict,
        `another transfer for seq ${encoded.transfer.seq} of this account is already being broadcast`,
      );
    }
    if (outcome === "full")
      throw new TallyError(ErrorCode.PendingFull, "too many transfers in flight; retry later");
    throw new TallyError(ErrorCode.BadSignature, "the broadcast layer refused the transfer as invalid");
  }

  async transfer(id: string): Promise<TransferView | undefined> {
    const status = this.statusOf(id);
    if (status === undefined) return undefined;
    const encoded =
      this.submitted.get(id) ?? this.superseded.get(id)?.encoded ?? (await this.store!.body(id));
    if (encoded === undefined) return undefined;
    const reason = this.ledger.status(id)?.reason ?? this.superseded.get(id)?.reason;
    return { id, status, ...(reason ? { reason } : {}), transfer: transferToJson(encoded.transfer) };
  }

  account(address: string) {
    return this.ledger.account(address);
  }

  async accountTransfers(address: string, limit: number): Promise<AccountTransferView[]> {
    const entries = await this.store!.history(address, limit);
    const views: AccountTransferView[] = [];
    for (const entry of entries) {
      const view = await this.transfer(entry.id);
      if (view !== undefined) views.push({ ...view, direction: entry.direction });
    }
    return views;
  }

  info(): NodeInfo {
    const n = this.members.length;
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
    };
  }

  /**
   * Ready once running and connected to N − f members counting itself (f = ⌊(N−1)/3⌋): enough for a Bracha
   * quorum, and for contagion most of any node's samples. Static membership only; the permissionless
   * sampler will define readiness by its view instead.
   */
  isReady(): boolean {
    if (this.state !== "running" || this.transport === undefined || this.broadcast === undefined)
      return false;
    const connected = new Set(this.transport.connectedPeers());
    return this.broadcast.quorumsReachable((peer) => connected.has(peer));
  }

  // ---- processing loop ------------------------------------------------------------------------------------

  private statusOf(id: string): TransferStatus | undefined {
    const ledgerStatus = this.ledgerImpl?.status(id)?.status;
    if (ledgerStatus !== undefined) return ledgerStatus;
    if (this.superseded.has(id)) return "rejected";
    return this.submitted.has(id) ? "pending" : undefined;
  }

  private onPeerMessage(from: string, bytes: Uint8Array): void {
    let message: BroadcastMessage;
    try {
      message = decodeBroadcastMessage(bytes);
    } catch (e) {
      this.log.debug({ peer: from, err: (e as Error).message }, "undecodable message");
      return;
    }
    if (this.inbox.length >= this.options.maxInboxEvents) {
      this.metricsImpl.inboxDropped.inc();
      return;
    }
    this.enqueue({ event: { type: "message", from, message, nowMs: Date.now() } });
  }

  private enqueue(item: InboxItem): void {
    if (this.state === "stopping" || this.state === "stopped") return;
    this.inbox.push(item);
    if (this.processing === undefined) this.processing = this.processInbox();
  }

  private async processInbox(): Promise<void> {
    // Yield once so a burst of arriving messages lands in the same batch.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      while (this.inbox.length > 0 && this.state !== "stopped") {
        const batch = this.inbox.splice(0, this.options.maxEventsPerBatch);
        await this.processBatch(batch);
      }
    } catch (e) {
      // A failed LevelDB write leaves memory ahead of disk; continuing could contradict what peers were told.
      this.log.fatal({ err: e }, "processing failed; stopping the node");
      void this.stop();
    } finally {
      this.processing = undefined;
      if (this.inbox.length > 0 && this.state === "running") this.processing = this.processInbox();
    }
  }

  private async processBatch(batch: readonly InboxItem[]): Promise<void> {
    const broadcast = this.broadcast!;
    const ops: BatchOp[] = [];
    const sends: BroadcastAction[] = [];
    const changes: TransferStatusChange[] = [];
    const submitResults: (() => void)[] = [];
    for (const item of batch) {
      for (const action of broadcast.handle(item.event)) {
        switch (action.type) {
          case "persist":
            ops.push(commitmentOp(action.commitment));
            break;
          case "send":
          case "serveFromStore":
            sends.push(action);
            break;
          case "deliver":
            changes.push(...this.deliver(action.digest, action.payload, ops));
            break;
          case "submitResult": {
            const resolve = item.onSubmitResult;
            if (resolve !== undefined) submitResults.push(() => resolve(action.outcome));
            break;
          }
        }
      }
    }
    // One atomic, durable write for the whole batch (commitments and verdicts together), before anything
    // of it leaves the node.
    ops.push(...this.store!.takeQueued());
    await writeBatch(this.db!, ops);
    this.runSends(sends);
    for (const change of changes) this.announce(change);
    for (const done of submitResults) done();
  }

  private deliver(digest: string, payload: Uint8Array, ops: BatchOp[]): TransferStatusChange[] {
    const encoded = this.decoded.get(digest) ?? decodeTransfer(payload);
    this.decoded.delete(digest);
    const t = encoded.transfer;
    for (const other of this.submitted.takeSlot(t.source, t.seq)) {
      ops.push({ type: "del", key: key(Bucket.submitted, other.id) });
      if (other.id !== encoded.id) this.markSuperseded(other, encoded.id);
    }
    let changes: TransferStatusChange[] = [];
    try {
      changes = this.ledger.deliver(encoded);
    } catch (e) {
      // Secure broadcast delivers one transfer per (source, seq) and only valid ones, so this is a bug or a
      // byzantine majority; the ledger refused it without recording anything.
      this.log.error({ id: encoded.id, err: (e as Error).message }, "ledger refused a delivered transfer");
    }
    // The ledger now holds the slot, so `isSettled` keeps the instance closed: the commitments can go.
    if (this.ledger.isSlotTaken(t.source, t.seq)) {
      ops.push(
        { type: "del", key: key(Bucket.broadcastCommitment, t.source, t.seq, "echo") },
        { type: "del", key: key(Bucket.broadcastCommitment, t.source, t.seq, "ready") },
      );
    }
    return changes;
  }

  private markSuperseded(loser: EncodedTransfer, winner: string): void {
    const message = `transfer ${winner} was delivered for seq ${loser.transfer.seq} of this account`;
    remember(
      this.superseded,
      loser.id,
      { encoded: loser, reason: { code: ErrorCode.SeqConflict, message } },
      10_000,
    );
  }

  private runSends(actions: readonly BroadcastAction[]): void {
    for (const action of actions) {
      if (action.type === "send") {
        const bytes = encodeBroadcastMessage(action.message);
        for (const to of action.to) this.transport!.send(to, bytes);
      } else if (action.type === "serveFromStore") {
        void this.serveFromStore(action.to, action.digest);
      }
    }
  }

  private async serveFromStore(to: string, digest: string): Promise<void> {
    const encoded = await this.store?.body(digest).catch(() => undefined);
    if (encoded !== undefined)
      this.transport?.send(to, encodeBroadcastMessage({ kind: "payload", payload: encoded.bytes }));
  }

  private announce(change: TransferStatusChange): void {
    if (change.status !== "delivered") this.metricsImpl.transfersResolved.inc({ status: change.status });
    const event: TransferEvent = change.reason
      ? { ...change }
      : { id: change.id, source: change.source, seq: change.seq, status: change.status };
    this.events.emit("transfer", event);
  }

  private async forgetSubmitted(id: string): Promise<void> {
    this.submitted.remove(id);
    await this.db!.del(key(Bucket.submitted, id));
  }

  /**
   * The broadcast's validity check: decodable, this network, signed by the source. Never throws. Gossip
   * brings each payload from several neighbours; the exact bytes already judged valid are recognised by
   * a hash-map lookup instead of being decoded again (signatures are cached by the authorizer anyway).
   */
  private inspect(payload: Uint8Array): PayloadInfo | null {
    const bytesKey = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("base64");
    const known = this.inspected.get(bytesKey);
    if (known !== undefined) return known;
    let encoded: EncodedTransfer;
    try {
      encoded = decodeTransfer(payload);
      if (encoded.transfer.network !== this.genesis!.network) return null;
      this.authorizer.authorize(encoded);
    } catch {
      return null;
    }
    const info: PayloadInfo = {
      instance: { source: encoded.transfer.source, seq: encoded.transfer.seq },
      digest: encoded.id,
    };
    remember(this.decoded, encoded.id, encoded, INSPECT_CACHE_ENTRIES);
    remember(this.inspected, bytesKey, info, INSPECT_CACHE_ENTRIES);
    return info;
  }

  private async loadCommitments(db: NodeDatabase): Promise<Commitment[]> {
    const out: Commitment[] = [];
    for await (const [k, v] of db.iterator(range(Bucket.broadcastCommitment))) {
      const [, source, seq, kind] = k.split("/") as [string, string, string, "echo" | "ready"];
      out.push({ instance: { source, seq: Number(seq) }, kind, digest: parseJsonValue<string>(v) });
    }
    return out;
  }

  /** A data dir belongs to one genesis; starting it with another would silently mix two ledgers. */
  private async checkGenesisOfDatabase(db: NodeDatabase): Promise<void> {
    const stored = await db.get(key(Bucket.meta, "genesis"));
    if (stored === undefined) {
      await db.put(key(Bucket.meta, "genesis"), jsonValue(this.genesisId));
      return;
    }
    const storedId = parseJsonValue<string>(stored);
    if (storedId !== this.genesisId) {
      throw new TallyError(
        ErrorCode.InvalidGenesis,
        `data dir ${this.config.dataDir} was created for genesis ${storedId.slice(0, 12)}…, not ${this.genesisId.slice(0, 12)}…`,
      );
    }
  }
}

/** Inserts into an insertion-ordered map used as a bounded cache, evicting the oldest entry. */
function remember<K, V>(cache: Map<K, V>, key: K, value: V, maxEntries: number): void {
  if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}

/** Payloads in flight at once are far fewer: the live-instance caps of the broadcast modes are 10,000. */
const INSPECT_CACHE_ENTRIES = 10_000;

function commitmentOp(c: Commitment): BatchOp {
  return {
    type: "put",
    key: key(Bucket.broadcastCommitment, c.instance.source, c.instance.seq, c.kind),
    value: jsonValue(c.digest),
  };
}

async function loadGenesis(path: string): Promise<Genesis> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new TallyError(
      ErrorCode.InvalidGenesis,
      `cannot read genesis ${path}: ${(e as NodeJS.ErrnoException).code}`,
    );
  }
  try {
    return parseGenesis(JSON.parse(text));
  } catch (e) {
    if (e instanceof TallyError) throw e;
    throw new TallyError(ErrorCode.InvalidGenesis, `genesis ${path} is not JSON`);
  }
}
