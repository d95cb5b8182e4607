import type { PeerId } from "../../core/peerId.ts";
import type { LiveInstances } from "../instance/liveInstances.ts";
import type { OwnCommitmentIndex } from "../instance/ownCommitments.ts";
import { PeerBudget } from "../instance/peerBudget.ts";
import type { BroadcastAction, SubscriptionLayer } from "../types.ts";
import { type ContagionCounters, countedSend } from "./contagionCounters.ts";
import type { ContagionInstance, OwnCommitments } from "./contagionInstance.ts";
import type { SampledLayers } from "./contagionLayers.ts";
import { SubscriberSet } from "./contagionSubscribers.ts";

export interface SubscriptionsOptions {
  readonly replaysPerPeerPerSecond: number;
  readonly replayBurst: number;
  /** Instances replayed to a new subscriber at most (the most recently active). */
  readonly maxReplayedInstances: number;
  readonly layers: SampledLayers;
  readonly live: LiveInstances<ContagionInstance>;
  readonly committed: OwnCommitmentIndex<OwnCommitments>;
  readonly count: ContagionCounters;
}

/**
 * The peers that sampled this node, per layer (gossip: the reciprocated neighbours, kept by the gossip
 * layer; echo and ready: the subscriber sets), and what a new subscriber is owed: a replay of this node's
 * current state of that layer for undelivered instances.
 */
export class Subscriptions {
  readonly echo = new SubscriberSet();
  readonly ready = new SubscriberSet();
  private readonly options: SubscriptionsOptions;
  private readonly replayBudget: PeerBudget;

  constructor(options: SubscriptionsOptions) {
    this.options = options;
    this.replayBudget = new PeerBudget({
      perSecond: options.replaysPerPeerPerSecond,
      burst: options.replayBurst,
    });
  }

  /**
   * Algorithm 6 line 17, Algorithm 8 line 21, Algorithm 9 line 24: remember the subscriber and replay this
   * node's current state of the layer for live instances. A repeated subscription replays again (the peer
   * may have restarted), within a per-peer replay budget. `from` is a member (checked by the caller): every
   * member is accepted, once per layer (contagionSubscribers.ts says why there is no smaller cap).
   */
  onSubscribe(from: PeerId, layer: SubscriptionLayer, nowMs: number, out: BroadcastAction[]): void {
    const { layers, live, committed, count } = this.options;
    if (layer === "gossip") layers.gossip.addReciprocal(from);
    else (layer === "echo" ? this.echo : this.ready).add(from);
    // Nothing to replay costs nothing: no budget taken, so the N subscriptions of a network's start leave
    // no per-peer bucket behind (they were 40 % of a simulated node's memory).
    const nothingToReplay = layer === "gossip" ? live.size === 0 : committed.size === 0;
    if (nothingToReplay) return;
    if (!this.replayBudget.take(from, nowMs)) {
      count.dropped.rateLimited++;
      return;
    }
    if (layer === "gossip") this.replayPayloads(from, out);
    else this.replayVotes(from, layer, out);
  }

  onUnsubscribe(from: PeerId, layer: SubscriptionLayer): void {
    if (layer === "gossip") this.options.layers.gossip.deleteReciprocal(from);
    else (layer === "echo" ? this.echo : this.ready).delete(from);
  }

  /** The payloads of live instances this node relayed, to a new gossip neighbour (most recent first). */
  replayPayloads(peer: PeerId, out: BroadcastAction[]): void {
    const recent = lastOf(this.options.live.values(), this.options.maxReplayedInstances);
    for (const inst of recent) {
      const payload = inst.first === undefined ? undefined : inst.payloads.get(inst.first);
      if (payload !== undefined) countedSend(this.options.count, out, [peer], { kind: "gossip", payload });
    }
  }

  /** This node's ECHOs or READYs of undelivered instances, to a new subscriber. */
  private replayVotes(peer: PeerId, layer: "echo" | "ready", out: BroadcastAction[]): void {
    const recent = lastOf(this.options.committed.values(), this.options.maxReplayedInstances);
    for (const own of recent) {
      const digests = layer === "echo" ? (own.echo === undefined ? [] : [own.echo]) : own.ready;
      for (const digest of digests) {
        countedSend(this.options.count, out, [peer], { kind: layer, instance: own.ref, digest });
      }
    }
  }
}

/** The last `count` items of an insertion-ordered collection (the most recently active ones). */
function lastOf<T>(items: Iterable<T>, count: number): T[] {
  if (count === 0) return [];
  return [...items].slice(-count);
}
