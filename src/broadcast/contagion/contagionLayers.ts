import type { PeerId } from "../../core/peerId.ts";
import type { RandomSource } from "../../core/random.ts";
import type { SamplingOracle } from "../../sampling/samplingOracle.ts";
import type { LiveInstances } from "../instance/liveInstances.ts";
import type { BroadcastAction, SubscriptionLayer } from "../types.ts";
import { type ContagionCounters, countedSend } from "./contagionCounters.ts";
import { GossipNeighbours } from "./contagionGossip.ts";
import type { ContagionInstance } from "./contagionInstance.ts";
import type { ContagionParams } from "./contagionParams.ts";
import { ContagionSamples, type SampleMultiset } from "./contagionSamples.ts";

export interface SampledLayersOptions {
  readonly self: PeerId;
  readonly oracle: SamplingOracle;
  readonly params: ContagionParams;
  readonly random: RandomSource;
  readonly refreshIntervalMs: number;
  readonly peerDownGraceMs: number;
  readonly live: LiveInstances<ContagionInstance>;
  readonly count: ContagionCounters;
  /** A new gossip neighbour gets the payloads still in flight, as a late subscriber's would. */
  readonly replayPayloads: (peer: PeerId, out: BroadcastAction[]) => void;
  /** Re-examines an instance whose votes were re-weighed. */
  readonly progress: (inst: ContagionInstance, nowMs: number, out: BroadcastAction[]) => void;
}

/**
 * The samples this node draws from Ω for the three layers (gossip neighbours; echo, ready and delivery
 * samples), and their upkeep: drawn once at start, a peer replaced by a fresh draw when it stays down past
 * a grace period, one peer refreshed per interval. Each change moves the subscriptions with it.
 */
export class SampledLayers {
  private readonly options: SampledLayersOptions;
  /** Drawn at `start` (or on the first event): the oracle of a permissionless network may need time to fill. */
  private drawn: { readonly samples: ContagionSamples; readonly gossip: GossipNeighbours } | undefined;
  /** Members the transport reports down, since when: sampled ones are replaced past the grace period. */
  private readonly downSince = new Map<PeerId, number>();
  private nextRefreshMs: number | undefined;

  constructor(options: SampledLayersOptions) {
    this.options = options;
  }

  get started(): boolean {
    return this.drawn !== undefined;
  }

  get samples(): ContagionSamples {
    return this.drawn!.samples;
  }

  get gossip(): GossipNeighbours {
    return this.drawn!.gossip;
  }

  /** Algorithms 6–9, "upon Init": draw the samples and subscribe, once per peer and layer. */
  start(nowMs: number, out: BroadcastAction[]): ContagionSamples {
    const { oracle, params, random, count, refreshIntervalMs } = this.options;
    const { G, E, R, D } = params;
    const samples = new ContagionSamples(oracle, { E, R, D });
    const gossip = new GossipNeighbours(oracle, G, random);
    this.drawn = { samples, gossip };
    countedSend(count, out, gossip.drawnPeers(), { kind: "subscribe", layer: "gossip" });
    countedSend(count, out, samples.echoPeers(), { kind: "subscribe", layer: "echo" });
    countedSend(count, out, samples.readyPeers(), { kind: "subscribe", layer: "ready" });
    if (refreshIntervalMs > 0) this.nextRefreshMs = nowMs + refreshIntervalMs;
    return samples;
  }

  quorumsReachable(isUp: (peer: PeerId) => boolean): boolean {
    if (this.options.oracle.size === 0) return true;
    const drawn = this.drawn;
    if (drawn === undefined) return false;
    const weightUp = (sample: SampleMultiset) => {
      let weight = 0;
      for (const peer of sample.peers()) if (isUp(peer)) weight += sample.multiplicity(peer);
      return weight;
    };
    return (
      weightUp(drawn.samples.echo) >= this.options.params.Ehat &&
      weightUp(drawn.samples.delivery) >= this.options.params.Dhat
    );
  }

  /** Distinct peers this node samples, per layer (stats). */
  sampledPeers(): Record<SubscriptionLayer, number> {
    const drawn = this.drawn;
    return {
      gossip: drawn?.gossip.drawnCount ?? 0,
      echo: drawn?.samples.echo.distinct ?? 0,
      ready: drawn?.samples.readyPeers().length ?? 0,
    };
  }

  onPeerDown(peer: PeerId, nowMs: number, out: BroadcastAction[]): void {
    const { self, oracle, peerDownGraceMs } = this.options;
    if (peer === self || !oracle.isMember(peer) || this.downSince.has(peer)) return;
    this.downSince.set(peer, nowMs);
    if (peerDownGraceMs === 0) this.replaceDownPeers(nowMs, out);
  }

  /** A peer that comes back may have restarted and forgotten its subscribers: subscribe again. */
  onPeerUp(peer: PeerId, out: BroadcastAction[]): void {
    if (!this.downSince.delete(peer)) return;
    for (const layer of this.sampledLayers(peer)) {
      countedSend(this.options.count, out, [peer], { kind: "subscribe", layer });
    }
  }

  /** Timer: replaces peers down past the grace period, then refreshes one if the interval is due. */
  onTick(nowMs: number, out: BroadcastAction[]): void {
    this.replaceDownPeers(nowMs, out);
    this.refreshOne(nowMs, out);
  }

  /** The layers in which this node drew `peer` (and subscribed to it). */
  private sampledLayers(peer: PeerId): SubscriptionLayer[] {
    const layers: SubscriptionLayer[] = [];
    if (this.gossip.isDrawn(peer)) layers.push("gossip");
    if (this.samples.inEcho(peer)) layers.push("echo");
    if (this.samples.inReady(peer)) layers.push("ready");
    return layers;
  }

  private replaceDownPeers(nowMs: number, out: BroadcastAction[]): void {
    // With a single other member there is nobody to draw instead: keep it, and wait for it.
    if (this.options.oracle.size <= 1) return;
    for (const [peer, sinceMs] of this.downSince) {
      if (nowMs - sinceMs < this.options.peerDownGraceMs) continue;
      if (this.sampledLayers(peer).length > 0) this.replacePeer(peer, nowMs, out);
    }
  }

  /** Scheduled refresh: one sampled peer, chosen uniformly among the distinct ones, per interval. */
  private refreshOne(nowMs: number, out: BroadcastAction[]): void {
    if (this.nextRefreshMs === undefined || nowMs < this.nextRefreshMs) return;
    this.nextRefreshMs = nowMs + this.options.refreshIntervalMs;
    const candidates = [
      ...new Set([...this.gossip.drawnPeers(), ...this.samples.echoPeers(), ...this.samples.readyPeers()]),
    ];
    if (candidates.length === 0) return;
    const index = Math.min(candidates.length - 1, Math.floor(this.options.random() * candidates.length));
    this.replacePeer(candidates[index]!, nowMs, out);
  }

  /**
   * Replaces every draw of `peer` in every layer by a fresh draw, moves the subscriptions accordingly, and
   * re-weighs the votes of live instances: the replaced peer's stop counting, a peer drawn once more counts
   * once more. Thresholds may be crossed by the re-weighing, so every live instance is re-examined.
   */
  private replacePeer(peer: PeerId, nowMs: number, out: BroadcastAction[]): void {
    const { samples, gossip } = this;
    const { oracle, count, live } = this.options;
    const left = this.sampledLayers(peer);
    if (left.length === 0) return;
    count.samplesReplaced++;
    for (const layer of left) countedSend(count, out, [peer], { kind: "unsubscribe", layer });

    const drawn = new Set<PeerId>();
    if (left.includes("gossip")) {
      const fresh = gossip.replace(peer, oracle);
      if (fresh !== undefined) {
        drawn.add(fresh);
        countedSend(count, out, [fresh], { kind: "subscribe", layer: "gossip" });
        // A new link carries the payloads still in flight, as a late subscriber's would (Alg. 6, line 18).
        this.options.replayPayloads(fresh, out);
      }
    }
    // `replace` redraws all three samples at once: note who already had a ready subscription before it.
    const readyBefore = new Set(samples.readyPeers());
    const change = samples.replace(peer, oracle);

    for (const c of change.echo) {
      if (c.was > 0 || c.now === 0) continue;
      drawn.add(c.peer);
      countedSend(count, out, [c.peer], { kind: "subscribe", layer: "echo" });
    }
    const readyDeltas = new Map<PeerId, { ready: number; delivery: number }>();
    for (const [sample, changes] of [
      ["ready", change.ready],
      ["delivery", change.delivery],
    ] as const) {
      for (const c of changes) {
        const delta = readyDeltas.get(c.peer) ?? { ready: 0, delivery: 0 };
        delta[sample] += c.now - c.was;
        readyDeltas.set(c.peer, delta);
      }
    }
    for (const changed of readyDeltas.keys()) {
      if (!readyBefore.has(changed) && samples.inReady(changed)) {
        drawn.add(changed);
        countedSend(count, out, [changed], { kind: "subscribe", layer: "ready" });
      }
    }
    // A fresh draw that is itself down gets a whole grace period from now, so a partition churns each slot
    // once per period rather than at every tick.
    for (const fresh of drawn) if (this.downSince.has(fresh)) this.downSince.set(fresh, nowMs);

    for (const inst of live.values()) {
      for (const c of change.echo) inst.echoes.reweigh(c.peer, c.was, c.now);
      for (const [changed, delta] of readyDeltas) {
        inst.readies.reweigh(changed, delta.ready, delta.delivery, samples.inReady(changed));
      }
    }
    for (const inst of [...live.values()]) this.options.progress(inst, nowMs, out);
  }
}
