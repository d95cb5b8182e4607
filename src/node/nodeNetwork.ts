import type { Logger } from "pino";
import type { ChannelAction, Channels } from "../channels/channels.ts";
import type { InboundItem } from "../channels/inboundScheduler.ts";
import type { PeerId } from "../core/peerId.ts";
import type { P2PTransport } from "../p2p/transport.ts";
import { BROADCAST_CHANNEL } from "../protocols/broadcast/broadcastChannel.ts";
import { STATUS_CHANNEL } from "../protocols/status/statusChannel.ts";
import type { StatusResponse } from "../protocols/status/statusMessages.ts";
import { checkCompatible, type StatusIdentity } from "../protocols/status/statusProtocol.ts";
import { snapshotTotals } from "../protocols/status/watermarkSummary.ts";
import type { NodeAction, NodeEvent } from "./core/nodeEvents.ts";

export interface NodeNetworkOptions {
  readonly transport: P2PTransport;
  readonly channels: Channels;
  readonly identity: StatusIdentity;
  readonly log: Logger;
  /** Called when a peer's message was admitted: the processing loop has work. */
  readonly onAdmitted: () => void;
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

  constructor(options: NodeNetworkOptions) {
    this.transport = options.transport;
    this.channels = options.channels;
    this.identity = options.identity;
    this.log = options.log;
    this.onAdmitted = options.onAdmitted;
  }

  /** The transport's message hook: admit or refuse one message of a frame. */
  readonly offer = (from: PeerId, bytes: Uint8Array): void => {
    const nowMs = Date.now();
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

  /** Carries out the core's outbound actions (sends and answers); others are not this class's business. */
  send(action: NodeAction): void {
    if (action.type === "send") {
      const bytes = this.channels.encodeMessage(BROADCAST_CHANNEL.id, action.message);
      for (const to of action.to) this.transport.send(to, bytes);
    } else if (action.type === "respondStatus") {
      this.transport.send(
        action.to,
        this.channels.encodeResponse(action.to, STATUS_CHANNEL.id, action.requestId, action.response),
      );
    }
  }

  /** Asks a peer for its status (network, genesis, protocols, watermarks): on every connection. */
  askStatus(peer: PeerId): void {
    const opened = this.channels.request(peer, STATUS_CHANNEL.id, {}, Date.now());
    if (opened.ok) this.transport.send(peer, opened.bytes);
  }

  /** The transport reset a stream of `peer` for breaking the frame format: as bad as a malformed envelope. */
  readonly onViolation = (peer: PeerId): void => {
    const nowMs = Date.now();
    this.carryOut(this.channels.penalize(peer, "malformedEnvelope", nowMs), nowMs);
  };

  tick(nowMs: number): void {
    for (const expired of this.channels.tick(nowMs).expired) {
      this.log.debug({ peer: expired.to, protocol: expired.protocolId }, "request timed out");
    }
  }

  private toEvent(item: InboundItem, nowMs: number): NodeEvent | undefined {
    if (item.protocol.code === BROADCAST_CHANNEL.code && item.kind === "message") {
      const decoded = this.channels.decodeItem(item, BROADCAST_CHANNEL.message!, nowMs);
      if (decoded.ok) return { type: "peerMessage", from: item.from, message: decoded.value, nowMs };
      this.carryOut(decoded.actions, nowMs);
      return undefined;
    }
    if (item.protocol.code === STATUS_CHANNEL.code) {
      const spec = STATUS_CHANNEL.request!;
      if (item.kind === "request") {
        const decoded = this.channels.decodeItem(item, spec.request, nowMs);
        if (decoded.ok)
          return {
            type: "statusRequest",
            from: item.from,
            requestId: item.requestId,
            request: decoded.value,
            nowMs,
          };
        this.carryOut(decoded.actions, nowMs);
      } else if (item.kind === "response") {
        const decoded = this.channels.decodeItem(item, spec.response, nowMs);
        if (decoded.ok) this.onStatus(item.from, decoded.value, nowMs);
        else this.carryOut(decoded.actions, nowMs);
      } else if (item.kind === "error") {
        this.log.debug({ peer: item.from, error: item.error }, "status request refused");
      }
    }
    return undefined;
  }

  /** A peer of another network or genesis is no use to us: say so in the log and cut it off. */
  private onStatus(peer: PeerId, status: StatusResponse, nowMs: number): void {
    const verdict = checkCompatible(this.identity, status);
    const totals = snapshotTotals(status.watermarks);
    if (verdict.kind === "compatible") {
      this.log.debug({ peer, accounts: totals.accounts, seqSum: totals.seqSum.toString() }, "peer status");
      return;
    }
    this.log.warn({ peer, verdict }, "peer is not on this network; disconnecting");
    this.carryOut(this.channels.penalize(peer, "contradiction", nowMs), nowMs);
    void this.transport.disconnect(peer).catch(() => {});
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
