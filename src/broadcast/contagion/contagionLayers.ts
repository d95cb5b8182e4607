import { GrowthSweep } from "../../core/growthSweep.ts";
import type { PeerId } from "../../core/peerId.ts";
import type { RandomSource } from "../../core/random.ts";
import { randomIndex } from "../../sampling/randomDraw.ts";
import type { SamplingOracle } from "../../sampling/samplingOracle.ts";
import type { LiveInstances } from "../instance/liveInstances.ts";
import type { BroadcastAction, SubscriptionLayer } from "../types.ts";
import { type ContagionCounters, countedSend } from "./contagionCounters.ts";
import { GossipNeighbours } from "./contagionGossip.ts";
import type { ContagionInstance } from "./contagionInstance.ts";
import type { ContagionParams } from "./contagionParams.ts";
import { ContagionSamples, type SampleMultiset, type SampleReplacement } from "./contagionSamples.ts";

/**
 * Samples are drawn afresh once the view has grown by this share since the last full draw. Samples drawn over
 * part of a small network's view weigh the peers they miss at nothing and the others at more than their
 * share, so two nodes missing different peers can each see a quorum that the other side of a split does not
 * (the earlier rule, "doubled", left a node of a 7-node network that drew from 4 of its 6 peers at 4 for
 * good). From one peer to a full view of 100 this is at most 40 redraws.
 */
const REDRAW_GROWTH = 1 / 8;

/** Draws of each sample redrawn per scheduled refresh: every draw is renewed within ≈ 16 intervals. */
const REFRESH_SHARE = 1 / 16;

export interface SampledLayersOptions {
  readonly self: PeerId;
  readonly oracle: SamplingOracle;
  readonly params: ContagionParams;
  readonly random: RandomSource;
  readonly refreshIntervalMs: number;
  readonly peerDownGraceMs: number;
  /** Down peers leave the samples only while they weigh at most this share of each (see `replaceDownPeers`). */
  readonly maxDownShareReplaced: number;
  /**
   * An open network's node takes no decision (ready, delivery) until its view has not grown by
   * `REDRAW_GROWTH` for this long (0: never waits). A node whose view is still filling samples part of the
   * network; its echoes, which do not depend on samples, go out meanwhile.
   */
  readonly viewSettleMs: number;
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
  /**
   * Peers the transport ever reported up. Only they can depart (`departure`): an identity whose record expired
   * without this node ever reaching it (a minted identity with no node behind it) was never part of the
   * network this node saw, and is replaced however many there are. Swept past 4,096 entries (then each
   * doubling) of peers neither members nor sampled.
   */
  private readonly seenUp = new Map<PeerId, true>();
  private readonly seenUpSweep = new GrowthSweep(4_096);
  private nextRefreshMs: number | undefined;
  /** The oracle's population when the samples were last drawn in full. */
  private drawnFromSize = 0;
  /**
   * The settle clock: when the view last grew by `REDRAW_GROWTH` past its size at the previous such growth.
   * A view that shrinks and grows back (a record that lapsed for a moment under load) does not restart it.
   */
  private grewToSize = 0;
  private grewAtMs = 0;
  /** The view's size when the samples settled; undefined while they are not (see `viewSettleMs`). */
  private settledAtSize: number | undefined;

  constructor(options: SampledLayersOptions) {
    this.options = options;
    if (options.oracle.mayGrow !== true || options.viewSettleMs === 0) this.settledAtSize = 0;
  }

  /** Whether this node may decide: a static member list always; an open view once it stopped filling. */
  get settled(): boolean {
    return this.settledAtSize !== undefined;
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
    this.drawnFromSize = oracle.size;
    this.noteGrowth(oracle.size, nowMs);
    countedSend(count, out, gossip.drawnPeers(), { kind: "subscribe", layer: "gossip" });
    countedSend(count, out, samples.echoPeers(), { kind: "subscribe", layer: "echo" });
    countedSend(count, out, samples.readyPeers(), { kind: "subscribe", layer: "ready" });
    if (refreshIntervalMs > 0) this.nextRefreshMs = nowMs + refreshIntervalMs;
    return samples;
  }

  quorumsReachable(isUp: (peer: PeerId) => boolean): boolean {
    if (this.options.oracle.size === 0) return this.options.oracle.mayGrow !== true;
    const drawn = this.drawn;
    if (drawn === undefined || !this.settled) return false;
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

  /** Distinct peers sampled per layer, and the largest share of a sample departed peers hold (`departure`). */
  sampleStats(): { sampledPeers: Record<SubscriptionLayer, number>; departedShare: number } {
    return { sampledPeers: this.sampledPeers(), departedShare: this.started ? this.departure().share : 0 };
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
    if (!this.seenUp.has(peer)) {
      const { oracle } = this.options;
      this.seenUpSweep.beforeAdd(this.seenUp, (p) => !oracle.isMember(p) && !this.isSampled(p));
      this.seenUp.set(peer, true);
    }
    if (!this.downSince.delete(peer)) return;
    for (const layer of this.sampledLayers(peer)) {
      countedSend(this.options.count, out, [peer], { kind: "subscribe", layer });
    }
  }

  /**
   * Timer: replaces peers down past the grace period and peers that are no longer members, redraws everything
   * if the oracle's population has grown by `REDRAW_GROWTH`, settles, then refreshes a share of the samples
   * if the interval is due. With a static member list only the first and the last ever apply.
   */
  onTick(nowMs: number, out: BroadcastAction[]): void {
    this.replaceDownPeers(nowMs, out);
    this.replaceNonMembers(nowMs, out);
    this.redrawIfGrown(nowMs, out);
    this.settle(nowMs, out);
    this.refreshOne(nowMs, out);
  }

  /**
   * Settles once the view has not grown by `REDRAW_GROWTH` for `viewSettleMs` (see `grewToSize`), and
   * re-examines the live instances, whose decisions waited. A settled view that doubles (an island that
   * found a larger network) unsettles it again.
   */
  private settle(nowMs: number, out: BroadcastAction[]): void {
    const size = this.options.oracle.size;
    this.noteGrowth(size, nowMs);
    if (this.settledAtSize !== undefined) {
      if (this.settledAtSize > 0 && size >= 2 * this.settledAtSize) this.settledAtSize = undefined;
      return;
    }
    if (size === 0 || nowMs - this.grewAtMs < this.options.viewSettleMs) return;
    this.settledAtSize = size;
    const { live, progress } = this.options;
    for (const inst of [...live.values()]) progress(inst, nowMs, out);
  }

  private noteGrowth(size: number, nowMs: number): void {
    if (size === 0 || size < this.grewToSize * (1 + REDRAW_GROWTH)) return;
    this.grewToSize = size;
    this.grewAtMs = nowMs;
  }

  /** Distinct peers of each layer now (the node's peers API). */
  samplePeers(): { gossip: PeerId[]; echo: PeerId[]; ready: PeerId[]; delivery: PeerId[] } {
    const drawn = this.drawn;
    if (drawn === undefined) return { gossip: [], echo: [], ready: [], delivery: [] };
    return {
      gossip: drawn.gossip.drawnPeers(),
      echo: drawn.samples.echoPeers(),
      ready: [...drawn.samples.ready.peers()],
      delivery: [...drawn.samples.delivery.peers()],
    };
  }

  /**
   * An open network's sampled peer whose record expired is replaced at once, not after a grace period, while
   * the departed peers weigh at most `maxDownShareReplaced` of every sample or this node and the peers it still
   * samples are a strict majority of everyone it samples. Past both, the node is as likely cut off with a
   * minority as watching peers leave: its records of the other side expire after one TTL however long the cut
   * lasts, and replacing them would move its samples onto its own side, where a minority meets its thresholds
   * alone (a 20-node open network cut 8 / 12 past the TTL forked that way). Two disjoint sides cannot both hold
   * a majority of the same peers, so at most one side goes on; the other keeps its samples and waits for the
   * heal. A peer this node never reached (`seenUp`) does not count as departed, and gossip links, which are
   * no quorum, are always replaced.
   */
  private replaceNonMembers(nowMs: number, out: BroadcastAction[]): void {
    const { oracle } = this.options;
    // A static member list never loses a member: nothing to look for.
    if (oracle.mayGrow !== true) return;
    const sampled = [...this.gossip.drawnPeers(), ...this.samples.echoPeers(), ...this.samples.readyPeers()];
    const left = [...new Set(sampled)].filter((peer) => !oracle.isMember(peer));
    if (left.length === 0) return;
    const departure = this.departure();
    const samplesToo = departure.share <= this.options.maxDownShareReplaced || departure.majorityRemains;
    for (const peer of left) {
      if (samplesToo) this.replacePeer(peer, nowMs, out);
      else if (this.gossip.isDrawn(peer)) this.replaceGossipLink(peer, out);
    }
  }

  /**
   * Whether departed peers (`departure`) hold more of the samples than the crash allowance,
   * `maxDownShareReplaced`: then neither the scheduled refresh nor a full redraw runs, since both draw from the view,
   * which has lost the departed, and would move the samples onto the side this node still hears as surely as
   * replacing them would.
   */
  private holdingDeparted(): boolean {
    return this.departure().share > this.options.maxDownShareReplaced;
  }

  /**
   * Samples drawn while an open network's view was still filling (a joining node; the first node of a
   * network, drawn from nobody) would leave most of the network out for good: once the population has grown
   * by `REDRAW_GROWTH` since the last full draw, draw everything afresh, re-weighing the live instances.
   */
  private redrawIfGrown(nowMs: number, out: BroadcastAction[]): void {
    const size = this.options.oracle.size;
    // Peers that left were replaced by draws from the smaller view: the samples are now drawn from it, and a
    // member coming back (a restarted node whose record had expired) is drawn in once the view grows again.
    if (size < this.drawnFromSize) this.drawnFromSize = size;
    if (size === 0 || (this.drawnFromSize > 0 && size < this.drawnFromSize * (1 + REDRAW_GROWTH))) return;
    // A view that grows while departed peers are held (joiners on this side of a cut) waits for the heal.
    if (this.holdingDeparted()) return;
    this.drawnFromSize = size;
    const { oracle, params, random, count } = this.options;
    const { samples, gossip } = this;
    count.samplesReplaced++;
    const neighbours = gossip.redrawAll(oracle, params.G, random);
    for (const peer of neighbours.removed)
      countedSend(count, out, [peer], { kind: "unsubscribe", layer: "gossip" });
    for (const peer of neighbours.added) {
      countedSend(count, out, [peer], { kind: "subscribe", layer: "gossip" });
      this.options.replayPayloads(peer, out);
    }
    this.resample(() => samples.redrawAll(oracle), new Set(neighbours.added), nowMs, out);
  }

  private isSampled(peer: PeerId): boolean {
    return this.drawn !== undefined && this.sampledLayers(peer).length > 0;
  }

  /** The layers in which this node drew `peer` (and subscribed to it). */
  private sampledLayers(peer: PeerId): SubscriptionLayer[] {
    const layers: SubscriptionLayer[] = [];
    if (this.gossip.isDrawn(peer)) layers.push("gossip");
    if (this.samples.inEcho(peer)) layers.push("echo");
    if (this.samples.inReady(peer)) layers.push("ready");
    return layers;
  }

  /**
   * Peers down past the grace period leave the gossip links at once, and the samples only while the departed
   * peers (`departure`) now weigh at most `maxDownShareReplaced` of every sample. A node cut off from more
   * than that is as likely on one side of a partition as missing crashed peers, and each replacement moves
   * weight to the peers it still reaches: replaced again and again, a minority's samples would end up on its
   * own side, and it would meet its thresholds alone (a 20-node network cut 8 / 12 for two grace periods
   * forked that way).
   */
  private replaceDownPeers(nowMs: number, out: BroadcastAction[]): void {
    // With a single other member there is nobody to draw instead: keep it, and wait for it.
    if (this.options.oracle.size <= 1 || this.downSince.size === 0) return;
    const samplesToo = this.departure().share <= this.options.maxDownShareReplaced;
    for (const [peer, sinceMs] of this.downSince) {
      if (nowMs - sinceMs < this.options.peerDownGraceMs) continue;
      if (samplesToo) {
        if (this.sampledLayers(peer).length > 0) this.replacePeer(peer, nowMs, out);
      } else if (this.gossip.isDrawn(peer)) this.replaceGossipLink(peer, out);
    }
  }

  /**
   * The sampled peers that departed (down now, or no longer members after the transport reported them up):
   * the largest share of the echo, ready or delivery sample's draws they hold, and whether this node and the
   * distinct peers it samples that have not departed are a strict majority of itself and every distinct peer
   * it samples.
   */
  private departure(): { share: number; majorityRemains: boolean } {
    const { oracle } = this.options;
    const departed = (peer: PeerId) =>
      this.downSince.has(peer) || (!oracle.isMember(peer) && this.seenUp.has(peer));
    const samples = [this.samples.echo, this.samples.ready, this.samples.delivery];
    let largest = 0;
    const distinct = new Set<PeerId>();
    for (const sample of samples) {
      let gone = 0;
      for (const peer of sample.peers()) {
        distinct.add(peer);
        if (departed(peer)) gone += sample.multiplicity(peer);
      }
      if (sample.draws > 0) largest = Math.max(largest, gone / sample.draws);
    }
    let gonePeers = 0;
    for (const peer of distinct) if (departed(peer)) gonePeers++;
    return { share: largest, majorityRemains: 2 * gonePeers < distinct.size + 1 };
  }

  /** A gossip link to a peer that is down goes to a fresh draw; the link is no quorum, so this is always safe. */
  private replaceGossipLink(peer: PeerId, out: BroadcastAction[], keepIfNone = false): void {
    const { count, oracle } = this.options;
    const fresh = this.gossip.replace(peer, oracle, keepIfNone);
    if (keepIfNone && fresh === undefined) return;
    countedSend(count, out, [peer], { kind: "unsubscribe", layer: "gossip" });
    if (fresh === undefined) return;
    countedSend(count, out, [fresh], { kind: "subscribe", layer: "gossip" });
    this.options.replayPayloads(fresh, out);
  }

  /**
   * Scheduled refresh, per interval: one gossip link to a fresh draw, and `REFRESH_SHARE` of each sample's draws
   * redrawn, each draw picked uniformly among the sample's draws. Redrawing single draws keeps a sample
   * independent uniform draws. The earlier refresh redrew every draw of one distinct peer at a time, and that
   * walk drifts the peers' weights far apart (after 50 refreshes, three peers of six held up to 98 % of a
   * sample): a few peers could then meet a threshold meant for most of them, and a 7-node simulation forked on
   * a double spend in 5 of 200 runs.
   */
  private refreshOne(nowMs: number, out: BroadcastAction[]): void {
    if (this.nextRefreshMs === undefined || nowMs < this.nextRefreshMs) return;
    this.nextRefreshMs = nowMs + this.options.refreshIntervalMs;
    const { oracle, random, count } = this.options;
    const links = this.gossip.drawnPeers();
    if (links.length > 0) this.replaceGossipLink(links[randomIndex(random, links.length)]!, out, true);
    if (this.holdingDeparted()) return;
    count.samplesReplaced++;
    this.resample(() => this.samples.refresh(REFRESH_SHARE, oracle, random), new Set(), nowMs, out);
  }

  /** A resampling step (`change`) and what follows: unsubscribe who left a layer, subscribe, re-weigh. */
  private resample(
    change: () => SampleReplacement,
    drawn: Set<PeerId>,
    nowMs: number,
    out: BroadcastAction[],
  ): void {
    const { samples } = this;
    const { count } = this.options;
    const echoBefore = new Set(samples.echoPeers());
    const readyBefore = new Set(samples.readyPeers());
    const replacement = change();
    const echoAfter = new Set(samples.echoPeers());
    const readyAfter = new Set(samples.readyPeers());
    for (const peer of echoBefore) {
      if (!echoAfter.has(peer)) countedSend(count, out, [peer], { kind: "unsubscribe", layer: "echo" });
    }
    for (const peer of readyBefore) {
      if (!readyAfter.has(peer)) countedSend(count, out, [peer], { kind: "unsubscribe", layer: "ready" });
    }
    this.applySampleChange(replacement, readyBefore, drawn, nowMs, out);
  }

  /**
   * Replaces every draw of a departed `peer` (down past the grace period, or no longer a member) in every
   * layer by a fresh draw from the others, moves the subscriptions accordingly, and re-weighs the votes of
   * live instances: the replaced peer's stop counting, a peer drawn once more counts once more. Thresholds may
   * be crossed by the re-weighing, so every live instance is re-examined.
   */
  private replacePeer(peer: PeerId, nowMs: number, out: BroadcastAction[]): void {
    const { samples, gossip } = this;
    const { oracle, count } = this.options;
    const left = this.sampledLayers(peer);
    if (left.length === 0) return;
    count.samplesReplaced++;
    const fresh = left.includes("gossip") ? gossip.replace(peer, oracle) : undefined;
    for (const layer of left) countedSend(count, out, [peer], { kind: "unsubscribe", layer });
    const drawn = new Set<PeerId>();
    if (fresh !== undefined) {
      drawn.add(fresh);
      countedSend(count, out, [fresh], { kind: "subscribe", layer: "gossip" });
      // A new link carries the payloads still in flight, as a late subscriber's would (Alg. 6, line 18).
      this.options.replayPayloads(fresh, out);
    }
    // `replace` redraws all three samples at once: note who already had a ready subscription before it.
    const readyBefore = new Set(samples.readyPeers());
    const change = samples.replace(peer, oracle);
    this.applySampleChange(change, readyBefore, drawn, nowMs, out);
  }

  /**
   * After samples changed: subscribes where a peer newly entered a layer, and re-weighs the votes of live
   * instances (a peer no longer drawn stops counting, one drawn once more counts once more). Thresholds may
   * be crossed by the re-weighing, so every live instance is re-examined.
   */
  private applySampleChange(
    change: SampleReplacement,
    readyBefore: ReadonlySet<PeerId>,
    drawn: Set<PeerId>,
    nowMs: number,
    out: BroadcastAction[],
  ): void {
    const { samples } = this;
    const { count, live } = this.options;
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
