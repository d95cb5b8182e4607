import type { Logger } from "pino";
import { type BroadcastWireMessage, isPayloadMessage, isVote } from "../broadcast/messageCodec.ts";
import type { ChannelAction, Channels } from "../channels/channels.ts";
import type { InboundItem } from "../channels/inboundScheduler.ts";
import type { ScoreEvent } from "../channels/peerScores.ts";
import { type BoundHandler, bindHandler, type ProtocolHandler } from "../channels/protocolHandler.ts";
import type { PeerId } from "../core/peerId.ts";
import type { P2PTransport } from "../p2p/transport.ts";
import { BROADCAST_CHANNEL } from "../protocols/broadcast/broadcastChannel.ts";
import { OutboundPayloads } from "../protocols/broadcast/outboundPayloads.ts";
import { OutboundVotes } from "../protocols/broadcast/outboundVotes.ts";
import { STATUS_CHANNEL } from "../protocols/status/statusChannel.ts";
import type { StatusRequest, StatusResponse } from "../protocols/status/statusMessages.ts";
import { checkCompatible, type StatusIdentity } from "../protocols/status/statusProtocol.ts";
import { snapshotTotals } from "../protocols/status/watermarkSummary.ts";
import { SYNC_CHANNEL } from "../protocols/sync/syncChannel.ts";
import type { SyncRequest, SyncResponse } from "../protocols/sync/syncMessages.ts";
import type { NodeAction, NodeEvent } from "./core/nodeEvents.ts";
import type { PeerIntroductions } from "./peerIntroductions.ts";

export interface NodeNetworkOptions {
  readonly transport: P2PTransport;
  readonly channels: Channels;
  readonly identity: StatusIdentity;
  readonly log: Logger;
  /** Called when a peer's message was admitted: the processing loop has work. */
  readonly onAdmitted: () => void;
  /** Events that arise outside `takeEvents` (a sync request that timed out or could not be sent). */
  readonly emit: (event: NodeEvent) => void;
  /** Answers a peer's sync request from durable state (src/node/syncServer.ts). */
  readonly serveSync: (request: SyncRequest) => Promise<SyncResponse>;
  /** Open network: members-only messages wait until the peer has our record (peerIntroductions.ts). */
  readonly introductions?: PeerIntroductions | undefined;
  /** Protocols handled outside the core (open membership's exchanges). */
  readonly extraHandlers?: readonly BoundHandler<NodeEvent>[];
  /** The wall clock, ms; default `Date.now` (the cluster bench's replayable mode passes a virtual one). */
  readonly now?: () => number;
}

/** Catch-up's outstanding requests: at most SYNC_CHANNEL's bound per peer, so at most that × members. */
interface SyncAsk {
  readonly ask: number;
  readonly to: PeerId;
}

/**
 * The node's side of its peer connections: every inbound message goes through the channel layer's admission
 * (per-peer budgets, fair scheduling, scores and bans) before it becomes a core event; outbound messages are
 * wrapped in their protocol's envelope. Channel verdicts are carried out here: error replies are sent, banned
 * peers are cut off by the transport.
 */
export class NodeNetwork {
  private readonly transport: P2PTransport;
  private readonly channels: Channels;
  private readonly identity: StatusIdentity;
  private readonly log: Logger;
  private readonly onAdmitted: () => void;
  private readonly handlers: Map<number, BoundHandler<NodeEvent>>;
  private readonly emit: (event: NodeEvent) => void;
  private readonly serveSync: (request: SyncRequest) => Promise<SyncResponse>;
  private readonly introductions: PeerIntroductions | undefined;
  private readonly now: () => number;
  /** `${peer}/${requestId}` → catch-up's ask id. */
  private readonly syncAsks = new Map<string, SyncAsk>();
  /** Votes of the current processing step, sent as batches by `flushStep`. */
  private readonly outboundVotes = new OutboundVotes();
  /** Payload messages (send, payload, gossip) of the current processing step, batched likewise. */
  private readonly outboundPayloads = new OutboundPayloads();
  /**
   * Sync answers being read from disk, per requester (bounded by the channel's request slots per peer). When
   * the requester's connection ends they are cut: a restarted peer made no such request, and would score
   * the answers as unsolicited — a correct node that just lost its database banned its bootstrap peer so.
   */
  private readonly answering = new Map<PeerId, { inFlight: number; cut: boolean }>();

  constructor(options: NodeNetworkOptions) {
    this.transport = options.transport;
    this.channels = options.channels;
    this.identity = options.identity;
    this.log = options.log;
    this.onAdmitted = options.onAdmitted;
    this.emit = options.emit;
    this.serveSync = options.serveSync;
    this.introductions = options.introductions;
    this.now = options.now ?? Date.now;
    this.handlers = this.bindHandlers();
    for (const handler of options.extraHandlers ?? []) this.handlers.set(handler.spec.code, handler);
  }

  /** The transport's message hook: admit or refuse one message of a frame. */
  readonly offer = (from: PeerId, bytes: Uint8Array): void => {
    const nowMs = this.now();
    const before = this.channels.bufferedMessages;
    this.carryOut(this.channels.offer(from, bytes, nowMs), nowMs);
    if (this.channels.bufferedMessages > before) this.onAdmitted();
  };

  /** Up to `max` admitted peer messages, fairly across peers, as core events (bodies decoded here). */
  takeEvents(max: number, nowMs: number): NodeEvent[] {
    const events: NodeEvent[] = [];
    for (const item of this.channels.take(max, nowMs)) {
      const event = this.toEvent(item, nowMs);
      if (event !== undefined) events.push(event);
    }
    return events;
  }

  /**
   * Carries out the core's outbound actions (sends and answers); others are not this class's business. Votes
   * and payload messages wait until `flushStep` at the end of the step, so one may reach a peer after a
   * subscription the core emitted later, and a payload ahead of a vote emitted earlier in the same step: the
   * broadcast cores take messages in any order (the network is asynchronous; the simulator reorders them).
   */
  send(action: NodeAction): void {
    if (action.type === "send") {
      const message = action.message;
      if (isVote(message)) {
        for (const to of action.to) this.outboundVotes.add(to, message);
        return;
      }
      if (isPayloadMessage(message)) {
        for (const to of action.to) this.outboundPayloads.add(to, message);
        return;
      }
      const bytes = this.channels.encodeMessage(BROADCAST_CHANNEL.id, message);
      for (const to of action.to) this.sendToMember(to, bytes);
    } else if (action.type === "askStatus") {
      this.askStatus(action.to);
    } else if (action.type === "penalize") {
      const nowMs = this.now();
      const event = action.event ?? "contradiction";
      if (event === "contradiction")
        this.log.warn({ peer: action.peer, why: action.why }, "catch-up: peer contradicted the sample");
      else this.log.debug({ peer: action.peer, why: action.why }, "peer sent a forged payload");
      this.carryOut(this.channels.penalize(action.peer, event, nowMs), nowMs);
    } else if (action.type === "syncAsk") {
      const nowMs = this.now();
      const opened = this.channels.request(action.to, SYNC_CHANNEL.id, action.request, nowMs);
      if (!opened.ok) {
        this.emit({ type: "syncFailed", ask: action.ask, from: action.to, nowMs });
        return;
      }
      this.syncAsks.set(`${action.to}/${opened.requestId}`, { ask: action.ask, to: action.to });
      this.sendToMember(action.to, opened.bytes);
    } else if (action.type === "respondStatus") {
      this.transport.send(
        action.to,
        this.channels.encodeResponse(action.to, STATUS_CHANNEL.id, action.requestId, action.response),
      );
    }
  }

  /** Sends every waiting payload and vote, in batches: the end of a processing step. */
  flushStep(): void {
    if (this.outboundPayloads.peers > 0)
      for (const [to, batches] of this.outboundPayloads.takeAll()) this.sendBatches(to, batches);
    if (this.outboundVotes.peers > 0)
      for (const [to, batches] of this.outboundVotes.takeAll()) this.sendBatches(to, batches);
  }

  private sendBatches(to: PeerId, batches: readonly BroadcastWireMessage[]): void {
    for (const batch of batches)
      this.sendToMember(to, this.channels.encodeMessage(BROADCAST_CHANNEL.id, batch));
  }

  /** Asks a peer for its status (network, genesis, protocols, watermarks): on every connection. */
  askStatus(peer: PeerId): void {
    const opened = this.channels.request(peer, STATUS_CHANNEL.id, {}, this.now());
    if (opened.ok) this.transport.send(peer, opened.bytes);
  }

  /** Scores a peer down for something seen outside the channels (an invalid node record on gossipsub). */
  penalize(peer: PeerId, event: ScoreEvent, count = 1): void {
    const nowMs = this.now();
    this.carryOut(this.channels.penalize(peer, event, nowMs, count), nowMs);
  }

  /** The transport reset a stream of `peer` for breaking the frame format: as bad as a malformed envelope. */
  readonly onViolation = (peer: PeerId): void => {
    const nowMs = this.now();
    this.carryOut(this.channels.penalize(peer, "malformedEnvelope", nowMs), nowMs);
  };

  tick(nowMs: number): void {
    this.introductions?.tick(nowMs);
    for (const expired of this.channels.tick(nowMs).expired) {
      this.log.debug({ peer: expired.to, protocol: expired.protocolId }, "request timed out");
      if (expired.protocolId === SYNC_CHANNEL.id) {
        const ask = this.takeSyncAsk(expired.to, expired.requestId);
        if (ask !== undefined) this.emit({ type: "syncFailed", ask, from: expired.to, nowMs });
      }
    }
  }

  /** Members-only traffic: on an open network, only once the peer has our record. */
  private sendToMember(to: PeerId, bytes: Uint8Array): void {
    if (this.introductions === undefined) this.transport.send(to, bytes);
    else this.introductions.send(to, bytes, this.now());
  }

  private toEvent(item: InboundItem, nowMs: number): NodeEvent | undefined {
    const handler = this.handlers.get(item.protocol.code);
    if (handler === undefined) return undefined;
    const { out, actions } = handler.handle(this.channels, item, nowMs);
    if (actions !== undefined) this.carryOut(actions, nowMs);
    return out;
  }

  /**
   * The protocols this node speaks and what it does with each: broadcast messages and status requests become
   * core events; status answers are judged here (a peer of another network is cut off).
   */
  private bindHandlers(): Map<number, BoundHandler<NodeEvent>> {
    const broadcast: ProtocolHandler<BroadcastWireMessage, unknown, unknown, NodeEvent> = {
      spec: BROADCAST_CHANNEL,
      onMessage: (from, message, nowMs) => ({ type: "peerMessage", from, message, nowMs }),
    };
    const status: ProtocolHandler<never, StatusRequest, StatusResponse, NodeEvent> = {
      spec: STATUS_CHANNEL,
      onRequest: (from, requestId, request, nowMs) => ({
        type: "statusRequest",
        from,
        requestId,
        request,
        nowMs,
      }),
      onResponse: (from, _requestId, response, nowMs) =>
        this.onStatus(from, response, nowMs)
          ? { type: "peerStatus", from, snapshot: response.watermarks, nowMs }
          : undefined,
      onError: (from, _requestId, error) => this.log.debug({ peer: from, error }, "status request refused"),
    };
    const sync: ProtocolHandler<never, SyncRequest, SyncResponse, NodeEvent> = {
      spec: SYNC_CHANNEL,
      onRequest: (from, requestId, request) => {
        void this.answerSync(from, requestId, request);
        return undefined;
      },
      onResponse: (from, requestId, response, nowMs) => {
        const ask = this.takeSyncAsk(from, requestId);
        return ask === undefined ? undefined : { type: "syncAnswer", ask, from, response, nowMs };
      },
      onError: (from, requestId, error, nowMs) => {
        this.log.debug({ peer: from, error }, "sync request refused");
        const ask = this.takeSyncAsk(from, requestId);
        if (ask !== undefined) this.emit({ type: "syncFailed", ask, from, nowMs });
      },
    };
    return new Map(
      [bindHandler(broadcast), bindHandler(status), bindHandler(sync)].map((h) => [h.spec.code, h]),
    );
  }

  private takeSyncAsk(peer: PeerId, requestId: number): number | undefined {
    const key = `${peer}/${requestId}`;
    const ask = this.syncAsks.get(key);
    this.syncAsks.delete(key);
    return ask?.ask;
  }

  /** Served off the processing loop (disk reads); the channel's slot bounds how many run per peer. */
  private async answerSync(from: PeerId, requestId: number, request: SyncRequest): Promise<void> {
    let answers = this.answering.get(from);
    if (answers === undefined) {
      answers = { inFlight: 0, cut: false };
      this.answering.set(from, answers);
    }
    answers.inFlight++;
    try {
      const response = await this.serveSync(request);
      if (answers.cut) return;
      this.transport.send(from, this.channels.encodeResponse(from, SYNC_CHANNEL.id, requestId, response));
    } catch (e) {
      this.log.warn({ err: e, peer: from }, "sync request failed");
    } finally {
      if (--answers.inFlight === 0 && this.answering.get(from) === answers) this.answering.delete(from);
    }
  }

  /** The peer's last connection closed: answers still being prepared for it are dropped (see `answering`). */
  peerDisconnected(peer: PeerId): void {
    const answers = this.answering.get(peer);
    if (answers === undefined) return;
    answers.cut = true;
    this.answering.delete(peer);
  }

  /** A peer of another network or genesis is no use to us: say so in the log and cut it off. */
  private onStatus(peer: PeerId, status: StatusResponse, nowMs: number): boolean {
    const verdict = checkCompatible(this.identity, status);
    const totals = snapshotTotals(status.watermarks);
    if (verdict.kind === "compatible") {
      this.log.debug({ peer, accounts: totals.accounts, seqSum: totals.seqSum.toString() }, "peer status");
      return true;
    }
    this.log.warn({ peer, verdict }, "peer is not on this network; disconnecting");
    this.carryOut(this.channels.penalize(peer, "contradiction", nowMs), nowMs);
    void this.transport.disconnect(peer).catch(() => {});
    return false;
  }

  private carryOut(actions: readonly ChannelAction[], nowMs: number): void {
    for (const action of actions) {
      if (action.type === "reply") this.transport.send(action.to, action.bytes);
      else if (action.type === "throttle") this.transport.throttle(action.peer, action.untilMs);
      else {
        this.log.warn(
          { peer: action.peer, forMs: action.untilMs - nowMs },
          "peer scored below threshold; banned",
        );
        this.transport.ban(action.peer, action.untilMs, "channel score below threshold");
      }
    }
  }
}
