import { TopicValidatorResult } from "@libp2p/gossipsub";
import type { PrivateKey } from "@libp2p/interface";
import type { Logger } from "pino";
import type { Channels } from "../channels/channels.ts";
import { DEFAULT_PEER_SCORE_OPTIONS } from "../channels/peerScores.ts";
import { type BoundHandler, bindHandler } from "../channels/protocolHandler.ts";
import type { PeerId } from "../core/peerId.ts";
import { mintIdentityProof } from "../membership/identityProof.ts";
import { signNodeRecord } from "../membership/nodeRecord.ts";
import type { OpenMembership, RecordVerdict } from "../membership/openMembership.ts";
import { dialableAddrs } from "../p2p/announceAddrs.ts";
import type { P2PTransport } from "../p2p/transport.ts";
import { MEMBERSHIP_CHANNEL } from "../protocols/membership/membershipChannel.ts";
import type { RecordList } from "../protocols/membership/membershipMessages.ts";
import type { NodeEvent } from "./core/nodeEvents.ts";
import { IntervalTimers } from "./intervalTimers.ts";
import type { PeerKeeper } from "./peerKeeper.ts";

export interface MembershipDriverOptions {
  readonly membership: OpenMembership;
  readonly transport: P2PTransport;
  /** Who keeps which peers connected: the driver holds the bootstrap and view reasons. */
  readonly keeper: PeerKeeper;
  readonly channels: Channels;
  readonly privateKey: PrivateKey;
  readonly network: string;
  readonly genesisHash: string;
  readonly identityDifficulty: number;
  readonly recordTtlMs: number;
  readonly recordRefreshMs: number;
  /** Bootstrap multiaddrs (with /p2p/): asked first, and whenever the view is empty. */
  readonly bootstrap: readonly string[];
  readonly log: Logger;
  /** The view changed: the broadcast's samples and catch-up see new peers. */
  readonly onViewChange?: () => void;
  /**
   * Scores a peer down (and bans it at the threshold): `malformedBody` for a record only a broken or lying
   * node produces, `budgetOverrun` when `OpenMembership` says a sender over its announcement budget is due one.
   * `count` is as in `Channels.penalize`: for `budgetOverrun`, budget drops.
   */
  readonly penalize: (peer: PeerId, event: "malformedBody" | "budgetOverrun", count?: number) => void;
  /** `peer` answered our exchange, so it has judged our record: members-only traffic to it may flow. */
  readonly onIntroduced: (peer: PeerId) => void;
}

/** Records pushed or answered per exchange: ours and the view's. */
const RECORDS_PER_EXCHANGE = 33;
const EXPIRY_CHECK_MS = 1_000;

/**
 * The I/O of open membership: announces this node's signed record on the network's gossipsub topic and
 * refreshes it; judges every record that arrives there (gossipsub's validator) or in a sampler exchange
 * through `OpenMembership`; runs the sampler's rounds over the membership channel; and keeps the transport
 * connected to the sampler's view. No decision is taken here.
 */
export class MembershipDriver {
  private readonly options: MembershipDriverOptions;
  private readonly membership: OpenMembership;
  private readonly transport: P2PTransport;
  private readonly topic: string;
  private readonly keeper: PeerKeeper;
  private readonly bootstrapPeers: PeerId[];
  private identityNonce: Uint8Array | undefined;
  private readonly timers = new IntervalTimers();
  private stopped = false;

  constructor(options: MembershipDriverOptions) {
    this.options = options;
    this.membership = options.membership;
    this.transport = options.transport;
    this.keeper = options.keeper;
    this.topic = recordTopic(options.network, options.genesisHash);
    this.bootstrapPeers = options.bootstrap.map(peerIdOfAddr).filter((p) => p !== this.transport.peerId);
  }

  /** The membership channel's handler, for the node's protocol table. */
  handler(): BoundHandler<NodeEvent> {
    return bindHandler<never, RecordList, RecordList, NodeEvent>({
      spec: MEMBERSHIP_CHANNEL,
      onRequest: (from, requestId, request, nowMs) => {
        this.receiveAll(request.records, from, nowMs);
        const answer = { records: this.membership.exchangeRecords(RECORDS_PER_EXCHANGE) };
        this.transport.send(
          from,
          this.options.channels.encodeResponse(from, MEMBERSHIP_CHANNEL.id, requestId, answer),
        );
        return undefined;
      },
      onResponse: (from, _requestId, response, nowMs) => {
        this.receiveAll(response.records, from, nowMs);
        this.options.onIntroduced(from);
        return undefined;
      },
      onError: (from, _requestId, error) => this.options.log.debug({ peer: from, error }, "exchange refused"),
    });
  }

  /** After the transport started: mint the identity, announce, and start the sampler's rounds. */
  async start(): Promise<void> {
    const { identityDifficulty, genesisHash, recordRefreshMs } = this.options;
    const began = Date.now();
    this.identityNonce = mintIdentityProof(this.transport.peerId, genesisHash, identityDifficulty);
    this.options.log.info(
      { difficulty: identityDifficulty, ms: Date.now() - began },
      "membership: identity proof minted",
    );
    const pubsub = this.transport.pubsub;
    if (pubsub === undefined) throw new Error("open membership needs the transport's gossipsub");
    pubsub.topicValidators.set(this.topic, (peer, message) =>
      this.judgeAnnouncement(peer.toString(), message.data),
    );
    pubsub.subscribe(this.topic);
    for (const addr of this.options.bootstrap) {
      const peer = peerIdOfAddr(addr);
      if (peer !== this.transport.peerId) this.keeper.keep(peer, addr, "bootstrap");
    }
    await this.announce();
    for (const peer of this.bootstrapPeers) this.exchange(peer);
    const roundMs = samplerRoundMs(recordRefreshMs);
    this.timers.every(recordRefreshMs, () => void this.announce());
    this.timers.every(roundMs, () => this.round());
    this.timers.every(EXPIRY_CHECK_MS, () => this.expire());
  }

  stop(): void {
    this.stopped = true;
    this.timers.stop();
  }

  /** Signs a fresh record (seq = now: monotonic across restarts without storing it) and publishes it. */
  private async announce(): Promise<void> {
    const { network, genesisHash, recordTtlMs } = this.options;
    const nowMs = Date.now();
    const wire = await signNodeRecord(
      {
        peerId: this.transport.peerId,
        addrs: this.transport.multiaddrs.slice(0, 8),
        network,
        genesisHash,
        seq: nowMs,
        expiresAtMs: nowMs + recordTtlMs,
        identityNonce: this.identityNonce!,
      },
      this.options.privateKey,
    );
    this.membership.setOwnRecord(wire);
    if (this.stopped) return;
    await this.transport.pubsub?.publish(this.topic, wire).catch((err: unknown) => {
      this.options.log.debug({ err }, "membership: publishing our record failed");
    });
  }

  private judgeAnnouncement(sender: PeerId, wire: Uint8Array): TopicValidatorResult {
    const verdict = this.judge(wire, sender, Date.now());
    if (verdict.verdict === "accept") return TopicValidatorResult.Accept;
    return verdict.verdict === "reject" ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore;
  }

  private receiveAll(records: readonly Uint8Array[], sender: PeerId, nowMs: number): void {
    for (const wire of records) this.judge(wire, sender, nowMs);
  }

  private judge(wire: Uint8Array, sender: PeerId, nowMs: number): RecordVerdict {
    const verdict = this.membership.receive(wire, sender, nowMs);
    if (verdict.verdict === "reject") {
      this.options.log.debug({ peer: sender, reason: verdict.reason }, "membership: record rejected");
      this.options.penalize(sender, "malformedBody");
    } else if (verdict.verdict === "ignore" && verdict.penalty === "budgetOverrun") {
      // The score counts `budgetOverrun` in drops (−5 per 256): one penalty is one whole event, not one drop
      // — reported as a single drop, 64 × 256 excess records cost 5 points and a flood was never banned.
      this.options.penalize(sender, "budgetOverrun", DEFAULT_PEER_SCORE_OPTIONS.budgetDropsPerEvent);
    } else if (verdict.verdict === "accept" && verdict.isNew) {
      this.options.log.info({ peer: verdict.record.peerId }, "membership: new member");
      this.syncConnections();
    }
    return verdict;
  }

  private round(): void {
    // With an empty view the membership names a bootstrap peer instead.
    const { exchangeWith } = this.membership.round(this.bootstrapPeers);
    this.syncConnections();
    if (exchangeWith !== undefined) this.exchange(exchangeWith);
  }

  /** Pushes our record to `peer` (unless an exchange with it is already in flight). */
  introduce(peer: PeerId): void {
    this.exchange(peer);
  }

  private exchange(peer: PeerId): void {
    const request = { records: this.membership.exchangeRecords(RECORDS_PER_EXCHANGE) };
    const opened = this.options.channels.request(peer, MEMBERSHIP_CHANNEL.id, request, Date.now());
    if (opened.ok) this.transport.send(peer, opened.bytes);
  }

  private expire(): void {
    const gone = this.membership.expire(Date.now());
    if (gone.length === 0) return;
    this.options.log.info({ peers: gone }, "membership: records expired");
    this.syncConnections();
  }

  /**
   * Keeps the view's peers connected, and no longer for the view those that left it (the keeper holds on to a
   * peer another part of the node still wants: a bootstrap peer, a co-owner's host); says when it changed.
   */
  private syncConnections(): void {
    const view = new Set(this.membership.viewPeers());
    let changed = false;
    const ours = this.transport.multiaddrs;
    for (const peer of view) {
      if (this.keeper.isKept(peer, "view")) continue;
      const addr = dialableAddrs(this.membership.addressesOf(peer), ours)[0];
      if (addr === undefined) continue;
      this.keeper.keep(peer, addr, "view");
      changed = true;
    }
    for (const peer of this.keeper.keptFor("view")) {
      if (view.has(peer)) continue;
      this.keeper.release(peer, "view");
      changed = true;
    }
    if (changed) this.options.onViewChange?.();
  }
}

/** One topic per network and genesis: records of another network never share a mesh with ours. */
export function recordTopic(network: string, genesisHash: string): string {
  return `/tally/${network}/${genesisHash.slice(0, 16)}/records/1`;
}

/**
 * Basalt's round period: twice per record refresh, between 1 s and 30 s. Faster rounds spread records and
 * reseed slots sooner at one small exchange each; the refresh period already says how fast the network
 * is meant to notice change.
 */
export function samplerRoundMs(recordRefreshMs: number): number {
  return Math.min(30_000, Math.max(1_000, Math.round(recordRefreshMs / 2)));
}

function peerIdOfAddr(addr: string): PeerId {
  const i = addr.lastIndexOf("/p2p/");
  return i < 0 ? "" : addr.slice(i + 5);
}
