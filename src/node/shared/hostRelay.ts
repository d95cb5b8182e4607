import { type GossipSub, TopicValidatorResult } from "@libp2p/gossipsub";
import type { PrivateKey } from "@libp2p/interface";
import type { Logger } from "pino";
import type { PeerId } from "../../core/peerId.ts";
import type { OwnerHostRecord } from "../../protocols/committees/committeeChannelMessages.ts";
import { hostAnnouncementSigned, signHostAnnouncement } from "../../protocols/committees/hostAnnouncement.ts";
import { HostAnnouncementGate } from "../../protocols/committees/hostAnnouncementGate.ts";
import { IntervalTimers } from "../intervalTimers.ts";

export interface HostRelayOptions {
  readonly self: PeerId;
  readonly topic: string;
  /** The transport's gossipsub (there once the transport started, on an open network). */
  readonly pubsub: () => GossipSub | undefined;
  readonly privateKey: PrivateKey;
  /** A known identity (a valid node record): only such hosts' announcements travel. */
  readonly isKnownHost: (host: PeerId) => boolean;
  /** Hosts the relay remembers at once (the record book's bound). */
  readonly maxHosts: number;
  /** This node's current host records; none (a silent owner, for tests) publishes nothing. */
  readonly ownRecords: (nowMs: number) => readonly OwnerHostRecord[];
  /** Records of an accepted announcement, before it is relayed on. */
  readonly onRecords: (records: readonly OwnerHostRecord[], nowMs: number) => void;
  /** A relaying peer handed us an announcement only a broken or lying node passes on. */
  readonly penalize: (peer: PeerId) => void;
  readonly log: Logger;
}

/** A hosting node announces its records every 20 s; they live 60 s, so two lost announcements lose nothing. */
export const HOST_ANNOUNCE_INTERVAL_MS = 20_000;
/**
 * A second announcement this long after start: the first, made as the node starts, often finds no gossipsub
 * peer yet. Past the relays' 10 s interval, so it is not refused as too fast where the first did arrive.
 */
const SECOND_ANNOUNCE_MS = 11_000;
const SWEEP_INTERVAL_MS = 10_000;

/**
 * Host records over gossipsub, for an open network where co-owners' nodes need not be connected: this node
 * publishes its own host records, signed as an announcement, every 20 s; and it judges every announcement
 * that reaches it (HostAnnouncementGate: one per host identity per 10 s, fresh, signed by the host) before
 * gossipsub relays it on, handing the records to the committee driver, which keeps those of accounts it
 * hosts. Every node relays, hosting or not: that is what lets two hosts meet through the rest.
 */
export class HostRelay {
  private readonly options: HostRelayOptions;
  private readonly gate: HostAnnouncementGate;
  private readonly timers = new IntervalTimers();
  private second: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(options: HostRelayOptions) {
    this.options = options;
    this.gate = new HostAnnouncementGate({
      self: options.self,
      isKnownHost: options.isKnownHost,
      signed: hostAnnouncementSigned,
      maxHosts: options.maxHosts,
    });
  }

  start(): void {
    const pubsub = this.options.pubsub();
    if (pubsub === undefined) return;
    pubsub.topicValidators.set(this.options.topic, (peer, message) =>
      this.judge(peer.toString(), message.data),
    );
    pubsub.subscribe(this.options.topic);
    void this.announce();
    // Then every 20 s from the second one on: never two within the relays' 10 s.
    this.second = setTimeout(() => {
      if (this.stopped) return;
      void this.announce();
      this.timers.every(HOST_ANNOUNCE_INTERVAL_MS, () => void this.announce());
    }, SECOND_ANNOUNCE_MS);
    this.second.unref();
    this.timers.every(SWEEP_INTERVAL_MS, () => this.gate.sweep(Date.now()));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.second);
    this.timers.stop();
  }

  private judge(from: PeerId, wire: Uint8Array): TopicValidatorResult {
    const nowMs = Date.now();
    const verdict = this.gate.judge(wire, nowMs);
    if (verdict.verdict === "accept") {
      this.options.onRecords(verdict.announcement.records, nowMs);
      return TopicValidatorResult.Accept;
    }
    if (verdict.verdict === "ignore") return TopicValidatorResult.Ignore;
    this.options.log.debug({ peer: from, reason: verdict.reason }, "host announcement rejected");
    this.options.penalize(from);
    return TopicValidatorResult.Reject;
  }

  private async announce(): Promise<void> {
    const nowMs = Date.now();
    const records = this.options.ownRecords(nowMs);
    const pubsub = this.options.pubsub();
    if (records.length === 0 || pubsub === undefined || this.stopped) return;
    try {
      const wire = await signHostAnnouncement(records, nowMs, this.options.privateKey);
      if (!this.stopped) await pubsub.publish(this.options.topic, wire);
    } catch (err) {
      this.options.log.debug({ err }, "publishing our host records failed");
    }
  }
}

/** One topic per network and genesis, as the node records' (src/node/membershipDriver.ts). */
export function hostTopic(network: string, genesisHash: string): string {
  return `/tally/${network}/${genesisHash.slice(0, 16)}/hosts/1`;
}
