import type { Logger } from "pino";
import type { SharedAccountsApi, SharedEvidence, SignedProposal } from "../../api/nodeApi.ts";
import type { Channels } from "../../channels/channels.ts";
import { type BoundHandler, bindHandler } from "../../channels/protocolHandler.ts";
import { bytesEqual, toHex } from "../../core/bytes.ts";
import type { PeerId } from "../../core/peerId.ts";
import type { EncodedTransfer } from "../../core/transfer.ts";
import { sodiumVerifier } from "../../crypto/ed25519Sodium.ts";
import { decodeCommitteeMessage, encodeCommitteeMessage } from "../../kshared/committeeCodec.ts";
import type { CommitteeAction, CommitteeEvent, CommitteeMessage } from "../../kshared/committeeTypes.ts";
import type { EquivocatingOwner } from "../../kshared/equivocatingOwner.ts";
import { equivocationToJson } from "../../kshared/evidenceJson.ts";
import type { P2PTransport } from "../../p2p/transport.ts";
import { COMMITTEES_CHANNEL } from "../../protocols/committees/committeeChannel.ts";
import {
  type CommitteeChannelMessage,
  hostRecordSigningBytes,
  type OwnerHostRecord,
} from "../../protocols/committees/committeeChannelMessages.ts";
import { committeeRecords } from "../../storage/committeeRecords.ts";
import { type BatchOp, type NodeDatabase, writeBatch } from "../../storage/database.ts";
import { proposalRecords } from "../../storage/proposalRecords.ts";
import type { NodeEvent } from "../core/nodeEvents.ts";
import { IntervalTimers } from "../intervalTimers.ts";
import { CertifiedSubmitter } from "./certifiedSubmissions.ts";
import { CommitteeEventQueue } from "./committeeEventQueue.ts";
import type { CoOwnerHost, CoOwnerLinks } from "./coOwnerLinks.ts";
import { transferEquivocator } from "./equivocatingOwner.ts";
import { type AccountReader, HostedCommittee } from "./hostedCommittee.ts";
import { authorizeIntent } from "./intentAuthorization.ts";
import { IntentGuard } from "./intentGuard.ts";
import { HOST_RECORD_REFRESH_MS, HOST_RECORD_TTL_MS, OwnHostRecords } from "./ownHostRecords.ts";
import type { ProposalView } from "./proposalBook.ts";
import type { HostedAccount } from "./sharedHosting.ts";
import { StoredCommitteeRecords } from "./storedCommitteeRecords.ts";

export interface CommitteeDriverOptions {
  readonly hosted: readonly HostedAccount[];
  readonly network: string;
  readonly db: NodeDatabase;
  readonly transport: P2PTransport;
  readonly channels: Channels;
  readonly reader: AccountReader;
  /** Hands a certified transfer to the node's core, exactly like a client's. */
  readonly submit: (encoded: EncodedTransfer) => Promise<unknown>;
  readonly penalize: (peer: PeerId, event: "malformedBody") => void;
  readonly log: Logger;
  /**
   * Testing only: "silent" hosts its accounts but never sends a committee message; "equivocate" proposes
   * two requests as leader (src/node/shared/equivocatingOwner.ts).
   */
  readonly byzantineOwner?: string | undefined;
  /** When the node started (ms): intents issued earlier are refused (src/node/shared/intentGuard.ts). */
  readonly startedAtMs: number;
  /** On an open network: keeps co-owners' hosts connected (coOwnerLinks.ts). */
  readonly links?: CoOwnerLinks | undefined;
  /** A step's write failed and the committees stopped: the node cannot keep their write-then-send promise. */
  readonly onFailure: (e: unknown) => void;
}

const COMMITTEE_TICK_MS = 100;
/** How often certified transfers the node refused are offered again. */
const CERTIFIED_RETRY_MS = 1_000;

interface HostEntry {
  readonly peer: PeerId;
  readonly expiresAtMs: number;
}

/**
 * Runs one Committee per hosted shared account inside the node. Committee steps run one at a time:
 * every persist record of a step (or of a batch of queued events) goes to LevelDB in one fsynced batch
 * BEFORE any of its sends leave, its decisions are submitted and its proposals acknowledged — the
 * committee's write-then-send contract. Peers are found by signed owner-host records (kept only for
 * accounts hosted here, one host per owner, newest wins), sent straight to every connected peer and, on an
 * open network, announced to all over the hosts topic (hostRelay.ts), where co-owners' nodes that are not
 * connected learn each other's hosts and link up (coOwnerLinks.ts). A committee message counts only when its
 * sender is the recorded host of an owner of that account, and then as that owner.
 */
export class CommitteeDriver implements SharedAccountsApi {
  private readonly options: CommitteeDriverOptions;
  private readonly accounts = new Map<string, HostedCommittee>();
  private readonly byAddress = new Map<string, HostedCommittee>();
  private readonly ownRecords: OwnHostRecords;
  /** account hex → owner index → host. */
  private readonly hosts = new Map<string, Map<number, HostEntry>>();
  /** Testing only (`--byzantine-owner equivocate`): by account id, at most one per hosted account. */
  private readonly equivocators = new Map<string, EquivocatingOwner>();
  /** account hex → its committee records as stored (compacted in every batch that adds some). */
  private readonly records = new Map<string, StoredCommitteeRecords>();
  /** Certified transfers, offered to the node until its ledger applies them (certifiedSubmissions.ts). */
  private readonly certified: CertifiedSubmitter;
  /** account hex → equivocations already reported. */
  private readonly evidenceSeen = new Map<string, number>();
  /** Events waiting for the next step; peers' are bounded per hosted account (committeeEventQueue.ts). */
  private readonly queue = new CommitteeEventQueue<HostedCommittee>((hosted) => hosted.account.address);
  private stepping: Promise<void> | undefined;
  /** Every LevelDB batch of the driver, in order: a later one never lands before an earlier one. */
  private writing: Promise<void> = Promise.resolve();
  private readonly timers = new IntervalTimers();
  private stopped = false;
  private readonly intents: IntentGuard;

  constructor(options: CommitteeDriverOptions) {
    this.options = options;
    this.intents = new IntentGuard(options.startedAtMs);
    this.ownRecords = new OwnHostRecords(options.hosted, options.transport.peerId);
    this.certified = new CertifiedSubmitter({
      submit: options.submit,
      nextSeq: async (address) => (await options.reader.account(address)).nextSeq,
      log: options.log,
    });
  }

  /** Restores each committee from its records (the account's ledger nextSeq is its first seq). */
  async start(): Promise<void> {
    for (const account of this.options.hosted) {
      const { nextSeq } = await this.options.reader.account(account.address);
      const hosted = new HostedCommittee(account, this.options.network, nextSeq);
      hosted.reload(await proposalRecords.load(this.options.db, account.idHex));
      const { entries, next } = await committeeRecords.load(this.options.db, account.idHex);
      const stored = new StoredCommitteeRecords(account.idHex, entries, next);
      this.records.set(account.idHex, stored);
      this.accounts.set(account.idHex, hosted);
      this.byAddress.set(account.address, hosted);
      this.hosts.set(account.idHex, new Map());
      const restored = hosted.restore(stored.records());
      // After `byAddress` is set: a verdict from now on arrives as an event, an earlier one is read here.
      await hosted.reconcile(this.options.reader);
      this.options.log.info(
        {
          account: account.address,
          owner: account.self,
          seq: hosted.committee.currentSeq,
          records: entries.length,
        },
        "shared account hosted",
      );
      await this.carryOut(hosted, restored);
      hosted.resubmit();
      this.kick(hosted);
    }
    this.timers.every(COMMITTEE_TICK_MS, () => {
      if (this.stepping !== undefined) return;
      for (const hosted of this.accounts.values())
        this.enqueueOwn(hosted, { type: "tick", nowMs: Date.now() });
    });
    // Refused submissions (the node still starting, its table for the account full) go again.
    this.timers.every(CERTIFIED_RETRY_MS, () => {
      this.certified.retry();
    });
    this.timers.every(HOST_RECORD_REFRESH_MS, () => {
      for (const peer of this.options.transport.connectedPeers()) this.sendHosts(peer);
      this.syncLinks(Date.now());
    });
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.timers.stop();
    this.certified.stop();
    return this.stepping ?? Promise.resolve();
  }

  /** Peers' committee messages dropped because their account's share of the queue was full (for `/metrics`). */
  droppedPeerEvents(): { account: string; count: number }[] {
    const dropped = this.queue.droppedPeerEvents();
    return [...this.accounts.values()].map(({ account }) => ({
      account: account.address,
      count: dropped.get(account.address) ?? 0,
    }));
  }

  /** Equivocation proofs each hosted committee holds against co-owners (for `/metrics`). */
  equivocations(): { account: string; count: number }[] {
    return [...this.accounts.values()].map((h) => ({
      account: h.account.address,
      count: h.committee.counters().equivocations,
    }));
  }

  proposals(address: string): ProposalView[] | undefined {
    return this.byAddress.get(address)?.book.list();
  }

  evidence(address: string): SharedEvidence | undefined {
    const hosted = this.byAddress.get(address);
    if (hosted === undefined) return undefined;
    const { owners } = hosted.account.definition;
    return {
      equivocations: hosted.committee.counters().equivocations,
      proofs: hosted.committee.evidence().map((proof) => equivocationToJson(proof, owners)),
    };
  }

  definitionOf(address: string): { owners: string[]; label: string } | undefined {
    const definition = this.byAddress.get(address)?.account.definition;
    if (definition === undefined) return undefined;
    return { owners: definition.owners.map(toHex), label: definition.label };
  }

  /**
   * `POST /v1/shared/:address/proposals`: undefined if no owner of `address` is hosted here. Only an intent
   * signed by the hosted owner's key, fresh and not seen before, is proposed.
   */
  async propose(address: string, request: SignedProposal): Promise<string | undefined> {
    const hosted = this.byAddress.get(address);
    if (hosted === undefined) return undefined;
    authorizeIntent(hosted.account, this.intents, address, request, Date.now());
    const { to, amount, memo } = request;
    const id = await hosted.propose(this.options.reader, to, amount, memo);
    // Accepted only once durable: a restart then re-submits it.
    await this.write(hosted.takeWrites());
    this.kick(hosted);
    return id;
  }

  /** Our host records go to every peer as it connects (and every 10 s). */
  onPeerConnect(peer: PeerId): void {
    this.sendHosts(peer);
  }

  /** The ledger resolved a transfer: a hosted account's proposal may be applied or rejected. */
  onTransfer(event: { id: string; source: string; status: string }): void {
    if (event.status !== "applied" && event.status !== "rejected") return;
    const hosted = this.byAddress.get(event.source);
    if (hosted === undefined) return;
    hosted.onResolved(event.id, event.status);
    // The account's next seq moved: the window of certified transfers to submit moves with it.
    void this.certified.submitDue(hosted.account.address);
  }

  /** A proposal was queued: run its submit through the committee. */
  kick(hosted: HostedCommittee): void {
    for (const proposal of hosted.outbox.splice(0))
      this.enqueueOwn(hosted, { type: "submit", proposal, nowMs: Date.now() });
  }

  handler(): BoundHandler<NodeEvent> {
    return bindHandler<CommitteeChannelMessage, never, never, NodeEvent>({
      spec: COMMITTEES_CHANNEL,
      onMessage: (from, message, nowMs) => {
        if (message.kind === "hosts") this.onHosts(from, message.records, nowMs);
        else this.onCommittee(from, message.account, message.payload, nowMs);
        return undefined;
      },
    });
  }

  /** The records this node announces (none from a silent owner, for tests). */
  hostRecords(nowMs: number): readonly OwnerHostRecord[] {
    if (this.accounts.size === 0 || this.options.byzantineOwner === "silent") return [];
    return this.ownRecords.at(nowMs);
  }

  private sendHosts(peer: PeerId): void {
    const records = this.hostRecords(Date.now());
    if (records.length === 0) return;
    const message = { kind: "hosts", records } as const;
    this.options.transport.send(peer, this.options.channels.encodeMessage(COMMITTEES_CHANNEL.id, message));
  }

  /** Records from the hosts topic (the announcement was judged by the relay; each record is checked here). */
  onRelayedHosts(records: readonly OwnerHostRecord[], nowMs: number): void {
    this.onHosts(undefined, records, nowMs);
  }

  /**
   * Keeps the records of accounts hosted here, one host per co-owner, the one expiring last. `from` is the
   * peer that sent them directly, scored down for a bad owner signature; relayed records have no such peer
   * (the announcement's host signed them in, and relays cannot check owners' keys of accounts they do not host).
   */
  private onHosts(from: PeerId | undefined, records: readonly OwnerHostRecord[], nowMs: number): void {
    let changed = false;
    for (const record of records) {
      const accountHex = toHex(record.account);
      const hosted = this.accounts.get(accountHex);
      const table = this.hosts.get(accountHex);
      if (hosted === undefined || table === undefined) continue; // not ours: nothing kept
      const owner = hosted.account.definition.owners.findIndex((o) => bytesEqual(o, record.owner));
      if (owner < 0 || owner === hosted.account.self) continue;
      if (record.expiresAtMs <= nowMs || record.expiresAtMs > nowMs + 2 * HOST_RECORD_TTL_MS) continue;
      const known = table.get(owner);
      if (known !== undefined && known.expiresAtMs >= record.expiresAtMs) continue;
      if (!sodiumVerifier.verify(record.signature, hostRecordSigningBytes(record), record.owner)) {
        if (from !== undefined) this.options.penalize(from, "malformedBody");
        continue;
      }
      if (known?.peer !== record.host)
        this.options.log.info({ account: hosted.account.address, owner, host: record.host }, "owner host");
      // A new host, or the same one back after its record lapsed: the links follow at once.
      if (known === undefined || known.peer !== record.host || known.expiresAtMs <= nowMs) changed = true;
      table.set(owner, { peer: record.host, expiresAtMs: record.expiresAtMs });
    }
    if (changed) this.syncLinks(nowMs);
  }

  /** Co-owners' hosts with unexpired records: the peers `links` keeps connected. */
  private syncLinks(nowMs: number): void {
    const links = this.options.links;
    if (links === undefined) return;
    const current: CoOwnerHost[] = [];
    for (const [account, table] of this.hosts) {
      for (const [owner, { peer, expiresAtMs }] of table)
        if (expiresAtMs > nowMs) current.push({ account, owner, peer });
    }
    links.sync(current);
  }

  private onCommittee(from: PeerId, account: Uint8Array, payload: Uint8Array, nowMs: number): void {
    const accountHex = toHex(account);
    const hosted = this.accounts.get(accountHex);
    const table = this.hosts.get(accountHex);
    if (hosted === undefined || table === undefined) return;
    let owner = -1;
    for (const [index, entry] of table) {
      if (entry.peer === from && entry.expiresAtMs > nowMs) owner = index;
    }
    if (owner < 0) return; // not the recorded host of any owner: ignored
    let message: ReturnType<typeof decodeCommitteeMessage>;
    try {
      message = decodeCommitteeMessage(payload);
    } catch {
      this.options.penalize(from, "malformedBody");
      return;
    }
    if (this.stopped) return;
    // Beyond its account's share, or its owner's share of that, the message is dropped and counted against
    // that account only (the committee re-sends its votes and certificates on every timeout).
    const event = { type: "message", from: owner, message, nowMs } as const;
    const coOwners = hosted.account.definition.owners.length - 1;
    if (this.queue.offerPeer(hosted, owner, coOwners, event, payload.length)) this.startStep();
  }

  /** Own events (ticks, this owner's submissions) always queue. */
  private enqueueOwn(account: HostedCommittee, event: CommitteeEvent): void {
    if (this.stopped) return;
    this.queue.pushOwn(account, event);
    this.startStep();
  }

  private startStep(): void {
    if (this.stepping === undefined) this.stepping = this.step();
  }

  /** Every queued event through its committee, one fsynced write, then the sends and decisions. */
  private async step(): Promise<void> {
    try {
      while (this.queue.size > 0 && !this.stopped) {
        const batch = this.queue.nextBatch();
        const results = batch.map(({ account, event }) => ({
          account,
          actions: account.committee.handle(event),
        }));
        const writes: BatchOp[] = [];
        for (const { account, actions } of results) writes.push(...this.recordOps(account, actions));
        // The records this batch made useless go in the same batch: a crash keeps both or neither.
        for (const account of new Set(results.flatMap((r) => (hasPersist(r.actions) ? [r.account] : []))))
          writes.push(...this.compactionOps(account));
        // A decision's changes to the pending proposals go in the same batch as its record.
        const certified = results.map(({ account, actions }) => ({
          account,
          transfers: this.decide(account, actions),
        }));
        for (const account of this.accounts.values()) writes.push(...account.takeWrites());
        await this.write(writes);
        for (const { account, actions } of results) this.deliver(account, actions);
        for (const { account, transfers } of certified) this.submitCertified(account, transfers);
        for (const account of new Set(batch.map((b) => b.account))) this.reportEvidence(account);
      }
    } catch (e) {
      this.stopped = true;
      this.options.onFailure(e);
    } finally {
      this.stepping = undefined;
    }
  }

  /** New equivocation proofs against a co-owner are worth an operator's attention (warn, with the total). */
  private reportEvidence(hosted: HostedCommittee): void {
    const { equivocations } = hosted.committee.counters();
    const known = this.evidenceSeen.get(hosted.account.idHex) ?? 0;
    if (equivocations <= known) return;
    this.evidenceSeen.set(hosted.account.idHex, equivocations);
    const latest = hosted.committee.evidence().at(-1);
    this.options.log.warn(
      { account: hosted.account.address, equivocations, kind: latest?.kind },
      "committee equivocation evidence",
    );
  }

  private recordOps(hosted: HostedCommittee, actions: readonly CommitteeAction[]): BatchOp[] {
    return this.records.get(hosted.account.idHex)?.put(actions) ?? [];
  }

  /** Deletes for the account's records its committee's restore no longer needs. */
  private compactionOps(hosted: HostedCommittee): BatchOp[] {
    return this.records.get(hosted.account.idHex)?.compact(hosted.retention) ?? [];
  }

  /**
   * For `restore`'s actions (no new records) at start, with the compaction of what was loaded (a database
   * written before compaction existed shrinks here).
   */
  private async carryOut(hosted: HostedCommittee, actions: CommitteeAction[]): Promise<void> {
    const writes = [...this.recordOps(hosted, actions), ...this.compactionOps(hosted)];
    const certified = this.decide(hosted, actions);
    await this.write([...writes, ...hosted.takeWrites()]);
    this.deliver(hosted, actions);
    // At start the node is not running yet: these are refused once, then go with the retry timer.
    this.submitCertified(hosted, certified);
  }

  private write(ops: BatchOp[]): Promise<void> {
    const done = this.writing.then(() => writeBatch(this.options.db, ops));
    this.writing = done.catch(() => undefined);
    return done;
  }

  /** The decisions' effect on this owner's proposals (before the batch); the certified transfers to submit. */
  private decide(hosted: HostedCommittee, actions: readonly CommitteeAction[]): EncodedTransfer[] {
    const certified: EncodedTransfer[] = [];
    for (const action of actions) {
      if (action.type !== "decided") continue;
      const transfer = hosted.onDecided(action);
      if (transfer !== undefined) certified.push(transfer);
    }
    return certified;
  }

  /** Once their decisions are durable: held until the ledger applies them, and offered now. */
  private submitCertified(hosted: HostedCommittee, transfers: readonly EncodedTransfer[]): void {
    if (transfers.length === 0) return;
    for (const transfer of transfers) this.certified.add(hosted.account.address, transfer);
    void this.certified.submitDue(hosted.account.address);
  }

  private deliver(hosted: HostedCommittee, actions: readonly CommitteeAction[]): void {
    for (const action of actions) {
      if (action.type === "send") this.send(hosted, action.to, action.message);
      else if (action.type === "decided") this.kick(hosted);
      else if (action.type === "submitResult" && action.outcome !== "accepted") {
        this.options.log.warn(
          { account: hosted.account.address, outcome: action.outcome },
          "proposal not queued",
        );
      }
    }
  }

  private send(hosted: HostedCommittee, to: readonly number[] | "all", message: CommitteeMessage): void {
    if (this.options.byzantineOwner === "silent") return;
    const table = this.hosts.get(hosted.account.idHex);
    if (table === undefined) return;
    const owners = to === "all" ? [...table.keys()].sort((a, b) => a - b) : to;
    if (this.options.byzantineOwner !== "equivocate") {
      this.sendTo(hosted, table, owners, message);
      return;
    }
    const sends = this.equivocator(hosted).rewrite(owners, message);
    if (sends.length > 1 && message.kind === "propose") {
      const { seq, round } = message;
      this.options.log.warn({ account: hosted.account.address, seq, round }, "equivocating (testing)");
    }
    for (const send of sends) this.sendTo(hosted, table, send.to, send.message);
  }

  /** Testing only: the equivocating owner of a hosted account, one per account (the node's hosted set). */
  private equivocator(hosted: HostedCommittee): EquivocatingOwner {
    let owner = this.equivocators.get(hosted.account.idHex);
    if (owner === undefined) {
      owner = transferEquivocator(hosted.account);
      this.equivocators.set(hosted.account.idHex, owner);
    }
    return owner;
  }

  private sendTo(
    hosted: HostedCommittee,
    table: Map<number, HostEntry>,
    owners: readonly number[],
    message: CommitteeMessage,
  ): void {
    const nowMs = Date.now();
    const payload = encodeCommitteeMessage(message);
    const bytes = this.options.channels.encodeMessage(COMMITTEES_CHANNEL.id, {
      kind: "committee",
      account: hosted.account.id,
      payload,
    });
    for (const owner of owners) {
      const entry = table.get(owner);
      if (entry !== undefined && entry.expiresAtMs > nowMs) this.options.transport.send(entry.peer, bytes);
    }
  }
}

function hasPersist(actions: readonly CommitteeAction[]): boolean {
  return actions.some((a) => a.type === "persist");
}
