import type { PeerId } from "../../core/peerId.ts";
import type { SamplingOracle } from "../../sampling/samplingOracle.ts";
import { configError } from "../instance/configChecks.ts";
import { snapshotCounters } from "../instance/counters.ts";
import { DeliveredLog } from "../instance/deliveredLog.ts";
import { instanceKey, isWellFormedDigest, isWellFormedInstance } from "../instance/instanceId.ts";
import { type LiveInstance, LiveInstances } from "../instance/liveInstances.ts";
import { OwnCommitmentIndex, unsettledCommitments } from "../instance/ownCommitments.ts";
import { PayloadAnswers } from "../instance/payloadAnswers.ts";
import { inspectSafely } from "../instance/payloadInspection.ts";
import { PeerBudget } from "../instance/peerBudget.ts";
import { Submissions } from "../instance/submissions.ts";
import {
  type BroadcastAction,
  type BroadcastCounters,
  type BroadcastEvent,
  type BroadcastMessage,
  type BroadcastProtocol,
  type BroadcastStats,
  type Commitment,
  type Digest,
  type InstanceRef,
  SUBSCRIPTION_LAYERS,
  type SubscriptionLayer,
} from "../types.ts";
import { type ContagionCounters, createContagionCounters } from "./contagionCounters.ts";
import { EchoTally } from "./contagionEcho.ts";
import { GossipNeighbours } from "./contagionGossip.ts";
import {
  type ContagionOptions,
  type ResolvedContagionOptions,
  resolveContagionOptions,
} from "./contagionOptions.ts";
import type { ContagionParams } from "./contagionParams.ts";
import { ReadyTally } from "./contagionReady.ts";
import {
  ContagionSamples,
  deliveryMultiplicityOf,
  echoMultiplicityOf,
  readyMultiplicityOf,
  type SampleMultiset,
} from "./contagionSamples.ts";
import { SubscriberSet, subscriberCap } from "./contagionSubscribers.ts";

export { CONTAGION_DEFAULTS, type ContagionOptions } from "./contagionOptions.ts";

/** The live state of one undelivered instance; its opener is a sampled peer. */
interface ContagionInstance extends LiveInstance {
  /** The first valid payload this node accepted (Algorithm 6's `delivered`): relayed once, and echoed. */
  first: Digest | undefined;
  /** The first payload, and those of digests this node is ready for or decided: a handful at most. */
  readonly payloads: Map<Digest, Uint8Array>;
  readonly echoes: EchoTally;
  readonly readies: ReadyTally;
  /** The first digest whose READYs reached D̂ in the delivery sample: the one this node delivers. */
  decided: Digest | undefined;
  /**
   * Whether `progress` has looked at the instance since it opened: a vote below every threshold cannot move
   * an examined instance, but a new one may hold commitments restored from before a restart (a pull to start).
   */
  examined: boolean;
}

/** What this node promised in an undelivered instance. */
interface OwnCommitments {
  readonly ref: InstanceRef;
  /** At most one digest per instance, ever: the safety promise of Echo (Algorithm 8). */
  echo?: Digest;
  /** Any number of digests: readiness may spread for more than one (Algorithm 9); kept for liveness. */
  readonly ready: Set<Digest>;
}

/** Drawn at `start` (or on the first event): the oracle of a permissionless network may need time to fill. */
interface Layers {
  readonly samples: ContagionSamples;
  readonly gossip: GossipNeighbours;
}

/**
 * Probabilistic secure broadcast (thesis Ch. 4; Guerraoui et al., "Scalable Byzantine Reliable Broadcast"),
 * one instance per (source account, seq), as a sans-I/O state machine. Three layers, each over samples this
 * node draws once from Ω and reuses for every instance:
 *
 * - Gossip (Algorithm 6, Erdős–Rényi gossip): each node relays the first valid payload it accepts for an
 *   instance once, to its gossip neighbours — Poisson(G) distinct peers it drew, plus the peers that drew it.
 * - Echo (Algorithm 8, probabilistic consistent broadcast): each node echoes that payload's digest, and no
 *   other ever, to its echo subscribers; it echo-delivers once the digest it echoed weighs Ê in its echo
 *   sample E (a multiset: a peer drawn k times counts k times; a peer's first digest counts).
 * - Ready (Algorithm 9, probabilistic secure broadcast): a node becomes ready for a digest when it
 *   echo-delivers it, or when it weighs R̂ in its ready sample R (contagion) — possibly for several digests of
 *   an equivocating introducer — and tells its ready subscribers. It delivers the first digest that weighs D̂
 *   in its delivery sample D, once it holds a payload hashing to it; otherwise it pulls the payload from the
 *   peers that echoed or readied it.
 *
 * Deliberate additions to the single-shot algorithms, each argued where it is implemented: a node that
 * delivers a digest is also ready for it (its subscribers would otherwise never hear from it, since the
 * instance's state is dropped on delivery); a node ready for a digest whose payload it lacks pulls it, so
 * every ready node can serve it; subscriptions can be withdrawn and samples refreshed; memory is bounded.
 *
 * Commitments: the ECHO digest is persisted before it is sent and never contradicted, across restarts. READY
 * commitments are persisted too, but only for liveness — readiness for several digests is legitimate, so a
 * lost one cannot make this node contradict itself.
 */
export class ContagionBroadcast implements BroadcastProtocol {
  readonly mode = "contagion";
  readonly params: ContagionParams;
  private readonly options: ResolvedContagionOptions;
  private readonly self: PeerId;
  private readonly oracle: SamplingOracle;
  private layers: Layers | undefined;
  /**
   * `layers.samples.weightsOf`, held directly: counting a vote starts with this lookup in a node whose state
   * is usually out of the CPU cache (10,000 simulated nodes), and each object hop on the way is a miss.
   */
  private voteWeights: ReadonlyMap<PeerId, number> = new Map();
  private weightBase = 1;
  private readonly echoSubscribers: SubscriberSet;
  private readonly readySubscribers: SubscriberSet;
  private readonly live: LiveInstances<ContagionInstance>;
  private readonly committed = new OwnCommitmentIndex<OwnCommitments>((ref) => ({ ref, ready: new Set() }));
  /** Members the transport reports down, since when: sampled ones are replaced past the grace period. */
  private readonly downSince = new Map<PeerId, number>();
  private nextRefreshMs: number | undefined;
  private readonly delivered: DeliveredLog;
  private readonly answers: PayloadAnswers;
  private readonly submissions: Submissions<ContagionInstance>;
  private readonly replayBudget: PeerBudget;
  private readonly count: ContagionCounters = createContagionCounters();
  private handledAny = false;

  constructor(options: ContagionOptions) {
    this.options = resolveContagionOptions(options);
    this.params = this.options.params;
    this.self = options.self;
    this.oracle = options.oracle;
    const { subscriberCapFactor: factor, subscriberCapSlack: slack } = this.options;
    this.echoSubscribers = new SubscriberSet(subscriberCap(this.params.E, factor, slack));
    this.readySubscribers = new SubscriberSet(subscriberCap(this.params.R + this.params.D, factor, slack));
    this.live = new LiveInstances({
      maxInstances: this.options.maxLiveInstances,
      maxOpenedPerPeer: this.options.maxOpenedPerPeer,
      stallTimeoutMs: this.options.stallTimeoutMs,
      create: newInstance,
      // A decided instance is kept until its payload arrives; a pull for a digest it is merely ready for is
      // not worth a slot forever (some correct node holds every digest that spreads, but may have crashed).
      keepStalled: (inst) => inst.decided !== undefined && inst.pull !== undefined,
      count: this.count,
    });
    this.delivered = new DeliveredLog({
      maxRecords: this.options.maxDeliveredRecords,
      maxPayloads: this.options.retainedDeliveredPayloads,
      isSettled: this.options.isSettled,
    });
    this.answers = new PayloadAnswers({
      live: this.live,
      delivered: this.delivered,
      budget: {
        perSecond: this.options.payloadAnswersPerPeerPerSecond,
        burst: this.options.payloadAnswerBurst,
      },
      count: this.count,
    });
    this.submissions = new Submissions({
      inspect: this.options.inspect,
      delivered: this.delivered,
      committed: this.committed,
      live: this.live,
      // Gossip it (if this node has not yet), then echo it (if it has not yet): Algorithm 6's dispatch.
      introduce: (inst, digest, payload, _echoed, nowMs, out) =>
        this.acceptPayload(inst, digest, payload, undefined, nowMs, out),
    });
    this.replayBudget = new PeerBudget({
      perSecond: this.options.replaysPerPeerPerSecond,
      burst: this.options.replayBurst,
    });
  }

  handle(event: BroadcastEvent): BroadcastAction[] {
    this.handledAny = true;
    const out: BroadcastAction[] = [];
    this.ensureStarted(event.nowMs, out);
    switch (event.type) {
      case "start":
        break;
      case "submit":
        this.onSubmit(event.payload, event.nowMs, out);
        break;
      case "message":
        this.onMessage(event.from, event.message, event.nowMs, out);
        break;
      case "tick":
        this.onTick(event.nowMs, out);
        break;
      case "peerDown":
        this.onPeerDown(event.peer, event.nowMs, out);
        break;
      case "peerUp":
        this.onPeerUp(event.peer, out);
        break;
    }
    return out;
  }

  /**
   * Reloads the commitments persisted before a restart; call once, before the first event. Returns no sends:
   * this node's subscribers are not known after a restart. They re-subscribe when they see it reconnect
   * (`peerUp`), and every subscription replays the ECHOs and READYs restored here.
   */
  restore(commitments: Iterable<Commitment>): BroadcastAction[] {
    if (this.handledAny) throw configError("restore: must be called before the first event");
    for (const { key, commitment } of unsettledCommitments(commitments, this.delivered)) {
      const { instance, kind, digest } = commitment;
      const own = this.committed.of(key, instance);
      if (kind === "ready") {
        own.ready.add(digest);
      } else if (own.echo !== undefined && own.echo !== digest) {
        // Two echoed digests: the log is corrupt, and running on would risk equivocating.
        throw configError("restore: conflicting echo commitments", { key, previous: own.echo, digest });
      } else {
        own.echo = digest;
      }
    }
    return [];
  }

  deliveredDigest(instance: InstanceRef): Digest | undefined {
    return this.delivered.digestOf(instanceKey(instance));
  }

  quorumsReachable(isUp: (peer: PeerId) => boolean): boolean {
    if (this.oracle.size === 0) return true;
    const layers = this.layers;
    if (layers === undefined) return false;
    const weightUp = (sample: SampleMultiset) => {
      let weight = 0;
      for (const peer of sample.peers()) if (isUp(peer)) weight += sample.multiplicity(peer);
      return weight;
    };
    return (
      weightUp(layers.samples.echo) >= this.params.Ehat &&
      weightUp(layers.samples.delivery) >= this.params.Dhat
    );
  }

  counters(): BroadcastCounters {
    return snapshotCounters(this.count);
  }

  stats(): BroadcastStats {
    const layers = this.layers;
    return {
      liveInstances: this.live.size,
      pullingInstances: this.live.pullingCount,
      committedInstances: this.committed.size,
      deliveredRecords: this.delivered.size,
      sampledPeers: {
        gossip: layers?.gossip.drawnCount ?? 0,
        echo: layers?.samples.echo.distinct ?? 0,
        ready: layers?.samples.readyPeers().length ?? 0,
      },
      subscribers: {
        gossip: layers?.gossip.reciprocal.size ?? 0,
        echo: this.echoSubscribers.size,
        ready: this.readySubscribers.size,
      },
    };
  }

  // ── start and samples ─────────────────────────────────────────────────────────────────────────────────

  /** Algorithms 6–9, "upon Init": draw the samples and subscribe, once per peer and layer. */
  private ensureStarted(nowMs: number, out: BroadcastAction[]): void {
    if (this.layers !== undefined) return;
    const { G, E, R, D } = this.params;
    const { subscriberCapFactor: factor, subscriberCapSlack: slack } = this.options;
    const layers: Layers = {
      samples: new ContagionSamples(this.oracle, { E, R, D }),
      gossip: new GossipNeighbours(this.oracle, G, this.options.random, subscriberCap(G, factor, slack)),
    };
    this.layers = layers;
    this.voteWeights = layers.samples.weightsOf;
    this.weightBase = layers.samples.base;
    this.send(out, layers.gossip.drawnPeers(), { kind: "subscribe", layer: "gossip" });
    this.send(out, layers.samples.echoPeers(), { kind: "subscribe", layer: "echo" });
    this.send(out, layers.samples.readyPeers(), { kind: "subscribe", layer: "ready" });
    if (this.options.refreshIntervalMs > 0) this.nextRefreshMs = nowMs + this.options.refreshIntervalMs;
  }

  private get samples(): ContagionSamples {
    return this.layers!.samples;
  }

  private get gossip(): GossipNeighbours {
    return this.layers!.gossip;
  }

  /** The layers in which this node drew `peer` (and subscribed to it). */
  private sampledLayers(peer: PeerId): SubscriptionLayer[] {
    const layers: SubscriptionLayer[] = [];
    if (this.gossip.isDrawn(peer)) layers.push("gossip");
    if (this.samples.inEcho(peer)) layers.push("echo");
    if (this.samples.inReady(peer)) layers.push("ready");
    return layers;
  }

  private onPeerDown(peer: PeerId, nowMs: number, out: BroadcastAction[]): void {
    if (peer === this.self || !this.oracle.isMember(peer) || this.downSince.has(peer)) return;
    this.downSince.set(peer, nowMs);
    if (this.options.peerDownGraceMs === 0) this.replaceDownPeers(nowMs, out);
  }

  /** A peer that comes back may have restarted and forgotten its subscribers: subscribe again. */
  private onPeerUp(peer: PeerId, out: BroadcastAction[]): void {
    if (!this.downSince.delete(peer)) return;
    for (const layer of this.sampledLayers(peer)) this.send(out, [peer], { kind: "subscribe", layer });
  }

  private replaceDownPeers(nowMs: number, out: BroadcastAction[]): void {
    // With a single other member there is nobody to draw instead: keep it, and wait for it.
    if (this.oracle.size <= 1) return;
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
    const left = this.sampledLayers(peer);
    if (left.length === 0) return;
    this.count.samplesReplaced++;
    for (const layer of left) this.send(out, [peer], { kind: "unsubscribe", layer });

    const drawn = new Set<PeerId>();
    if (left.includes("gossip")) {
      const fresh = gossip.replace(peer, this.oracle);
      if (fresh !== undefined) {
        drawn.add(fresh);
        this.send(out, [fresh], { kind: "subscribe", layer: "gossip" });
        // A new link carries the payloads still in flight, as a late subscriber's would (Alg. 6, line 18).
        this.replayPayloads(fresh, out);
      }
    }
    // `replace` redraws all three samples at once: note who already had a ready subscription before it.
    const readyBefore = new Set(samples.readyPeers());
    const change = samples.replace(peer, this.oracle);

    for (const c of change.echo) {
      if (c.was > 0 || c.now === 0) continue;
      drawn.add(c.peer);
      this.send(out, [c.peer], { kind: "subscribe", layer: "echo" });
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
        this.send(out, [changed], { kind: "subscribe", layer: "ready" });
      }
    }
    // A fresh draw that is itself down gets a whole grace period from now, so a partition churns each slot
    // once per period rather than at every tick.
    for (const fresh of drawn) if (this.downSince.has(fresh)) this.downSince.set(fresh, nowMs);

    for (const inst of this.live.values()) {
      for (const c of change.echo) inst.echoes.reweigh(c.peer, c.was, c.now);
      for (const [changed, delta] of readyDeltas) {
        inst.readies.reweigh(changed, delta.ready, delta.delivery, samples.inReady(changed));
      }
    }
    for (const inst of [...this.live.values()]) this.progress(inst, nowMs, out);
  }

  // ── events ────────────────────────────────────────────────────────────────────────────────────────────

  private onSubmit(payload: Uint8Array, nowMs: number, out: BroadcastAction[]): void {
    const inst = this.submissions.submit(payload, nowMs, out);
    if (inst !== undefined) this.progress(inst, nowMs, out);
  }

  private onMessage(from: PeerId, message: BroadcastMessage, nowMs: number, out: BroadcastAction[]): void {
    if (from === this.self) {
      this.count.dropped.nonMember++;
      return;
    }
    // Votes are most of the traffic: one lookup in the samples tells both whether the vote counts and, since
    // samples are drawn from Ω's members, that the voter is one. Others pay the membership lookup.
    if (message.kind === "echo" || message.kind === "ready") {
      const weights = this.voteWeights.get(from) ?? 0;
      if (weights === 0) {
        if (!this.oracle.isMember(from)) this.count.dropped.nonMember++;
        else {
          this.count.received[message.kind]++;
          this.count.dropped.notSampled++;
        }
        return;
      }
      this.count.received[message.kind]++;
      if (message.kind === "echo") this.onEcho(from, message.instance, message.digest, weights, nowMs, out);
      else this.onReady(from, message.instance, message.digest, weights, nowMs, out);
      return;
    }
    if (!this.oracle.isMember(from)) {
      this.count.dropped.nonMember++;
      return;
    }
    switch (message.kind) {
      case "gossip":
        this.count.received.gossip++;
        this.onGossip(from, message.payload, nowMs, out);
        return;
      case "request":
        this.count.received.request++;
        this.answers.answer(from, message.instance, message.digest, nowMs, out);
        return;
      case "payload":
        this.count.received.payload++;
        this.onPulledPayload(from, message.payload, nowMs, out);
        return;
      case "subscribe":
      case "unsubscribe":
        this.count.received[message.kind]++;
        if (!SUBSCRIPTION_LAYERS.includes(message.layer)) {
          this.count.dropped.malformed++;
          return;
        }
        if (message.kind === "subscribe") this.onSubscribe(from, message.layer, nowMs, out);
        else this.onUnsubscribe(from, message.layer);
        return;
      default:
        // Bracha's SEND, from a peer running the other mode: the genesis fixes one mode for all.
        this.count.dropped.malformed++;
    }
  }

  private onGossip(from: PeerId, payload: Uint8Array, nowMs: number, out: BroadcastAction[]): void {
    const info = inspectSafely(this.options.inspect, payload);
    if (info === null) {
      this.count.dropped.invalidPayload++;
      return;
    }
    const { instance, digest } = info;
    const key = instanceKey(instance);
    if (this.delivered.isSettled(key, instance)) {
      this.count.dropped.settled++;
      return;
    }
    let inst = this.live.get(key);
    // Every neighbour relays the payload, so most copies are duplicates: nothing to do, nothing to count.
    if (inst?.payloads.has(digest)) return;
    if (!this.wantsPayload(inst, key, digest)) {
      this.count.dropped.unneededPayload++;
      return;
    }
    inst ??= this.live.open(key, instance, undefined, nowMs);
    if (inst === undefined) return;
    this.acceptPayload(inst, digest, payload, from, nowMs, out);
    this.progress(inst, nowMs, out);
  }

  /**
   * Algorithm 8, line 40: only from the echo sample (`weights` ≠ 0 there), a peer's first digest, weighted by
   * its multiplicity. Only a vote that leaves its digest at or above Ê can move the instance forward.
   */
  private onEcho(
    from: PeerId,
    instance: InstanceRef,
    digest: Digest,
    weights: number,
    nowMs: number,
    out: BroadcastAction[],
  ) {
    const multiplicity = echoMultiplicityOf(weights, this.weightBase);
    if (multiplicity === 0) {
      this.count.dropped.notSampled++;
      return;
    }
    const inst = this.liveForVote(from, instance, digest, nowMs);
    if (inst === undefined) return;
    const weight = inst.echoes.add(from, digest, multiplicity);
    if (weight === undefined) {
      this.count.dropped.duplicateVote++;
      return;
    }
    this.live.touch(inst, nowMs);
    if (weight >= this.params.Ehat || !inst.examined) this.progress(inst, nowMs, out);
  }

  /**
   * Algorithm 9, lines 44–48: counted in R and in D, by the peer's multiplicity in each. Only a vote that
   * leaves its digest at or above R̂ in R or D̂ in D can move the instance forward.
   */
  private onReady(
    from: PeerId,
    instance: InstanceRef,
    digest: Digest,
    weights: number,
    nowMs: number,
    out: BroadcastAction[],
  ) {
    const readyMultiplicity = readyMultiplicityOf(weights, this.weightBase);
    const deliveryMultiplicity = deliveryMultiplicityOf(weights, this.weightBase);
    if (readyMultiplicity === 0 && deliveryMultiplicity === 0) {
      this.count.dropped.notSampled++;
      return;
    }
    const inst = this.liveForVote(from, instance, digest, nowMs);
    if (inst === undefined) return;
    const added = inst.readies.add(
      from,
      digest,
      readyMultiplicity,
      deliveryMultiplicity,
      this.options.maxReadyDigestsPerPeer,
    );
    if (typeof added === "string") {
      this.count.dropped.duplicateVote++;
      return;
    }
    this.live.touch(inst, nowMs);
    if (added.ready >= this.params.Rhat || added.delivery >= this.params.Dhat || !inst.examined)
      this.progress(inst, nowMs, out);
  }

  private liveForVote(from: PeerId, instance: InstanceRef, digest: Digest, nowMs: number) {
    if (!isWellFormedInstance(instance) || !isWellFormedDigest(digest)) {
      this.count.dropped.malformed++;
      return undefined;
    }
    const key = instanceKey(instance);
    // A live instance is undelivered by construction: skip the settled checks on the hot path.
    const live = this.live.get(key);
    if (live !== undefined) return live;
    if (this.delivered.isSettled(key, instance)) {
      this.count.dropped.settled++;
      return undefined;
    }
    return this.live.open(key, instance, from, nowMs);
  }

  private onPulledPayload(from: PeerId, payload: Uint8Array, nowMs: number, out: BroadcastAction[]): void {
    const info = inspectSafely(this.options.inspect, payload);
    if (info === null) {
      this.count.dropped.invalidPayload++;
      return;
    }
    const inst = this.live.instancePulling(info);
    if (inst === undefined) {
      this.count.dropped.unsolicitedPayload++;
      return;
    }
    this.acceptPayload(inst, info.digest, payload, from, nowMs, out);
    this.progress(inst, nowMs, out);
  }

  /**
   * Algorithm 6 line 17, Algorithm 8 line 21, Algorithm 9 line 24: remember the subscriber and replay this
   * node's current state of the layer for live instances. A repeated subscription replays again (the peer
   * may have restarted), within a per-peer replay budget.
   */
  private onSubscribe(from: PeerId, layer: SubscriptionLayer, nowMs: number, out: BroadcastAction[]): void {
    const added =
      layer === "gossip"
        ? this.gossip.addReciprocal(from)
        : (layer === "echo" ? this.echoSubscribers : this.readySubscribers).add(from);
    if (added === "full") {
      this.count.dropped.subscribersFull++;
      return;
    }
    // Nothing to replay costs nothing: no budget taken, so the N subscriptions of a network's start leave
    // no per-peer bucket behind (they were 40 % of a simulated node's memory).
    const nothingToReplay = layer === "gossip" ? this.live.size === 0 : this.committed.size === 0;
    if (nothingToReplay) return;
    if (!this.replayBudget.take(from, nowMs)) {
      this.count.dropped.rateLimited++;
      return;
    }
    if (layer === "gossip") this.replayPayloads(from, out);
    else this.replayVotes(from, layer, out);
  }

  private onUnsubscribe(from: PeerId, layer: SubscriptionLayer): void {
    if (layer === "gossip") this.gossip.deleteReciprocal(from);
    else (layer === "echo" ? this.echoSubscribers : this.readySubscribers).delete(from);
  }

  private onTick(nowMs: number, out: BroadcastAction[]): void {
    this.live.retryDuePulls(nowMs, (inst) => this.askForPayload(inst, nowMs, out));
    this.live.evictStalled(nowMs);
    this.replaceDownPeers(nowMs, out);
    this.refreshOne(nowMs, out);
  }

  // ── protocol steps ────────────────────────────────────────────────────────────────────────────────────

  /** Moves an instance forward after anything changed in it: ready, then deliver or pull. */
  private progress(inst: ContagionInstance, nowMs: number, out: BroadcastAction[]): void {
    const { Ehat, Rhat, Dhat } = this.params;
    inst.examined = true;
    // With no other member, this node's own echo and readiness are the whole system's.
    const alone = this.oracle.size === 0;
    const own = this.committed.get(inst.key);
    // Echo-delivery (Algorithm 8, line 44), which makes this node ready (Algorithm 9, line 33).
    const echoed = own?.echo;
    if (echoed !== undefined && !own!.ready.has(echoed) && (alone || inst.echoes.weight(echoed) >= Ehat)) {
      this.commitReady(inst, echoed, out);
    }
    // Contagion (Algorithm 9, line 52): possibly for several digests.
    for (const digest of inst.readies.digests()) {
      if (inst.readies.readyWeight(digest) >= Rhat && !this.isReadyFor(inst, digest)) {
        this.commitReady(inst, digest, out);
      }
    }
    // Delivery (Algorithm 9, line 58): the first digest to reach D̂ is the one, for good.
    if (inst.decided === undefined) {
      if (alone) inst.decided = echoed !== undefined && this.isReadyFor(inst, echoed) ? echoed : undefined;
      else {
        for (const digest of inst.readies.digests()) {
          if (inst.readies.deliveryWeight(digest) >= Dhat) {
            inst.decided = digest;
            break;
          }
        }
      }
    }
    const decided = inst.decided;
    const payload = decided === undefined ? undefined : inst.payloads.get(decided);
    if (decided !== undefined && payload !== undefined) {
      // Ready on delivery: this node drops the instance now, so it would never again tell its subscribers —
      // and D̂ READYs from D mean the digest is spreading anyway. It cannot help a digest nobody delivers.
      if (!this.isReadyFor(inst, decided)) this.commitReady(inst, decided, out);
      this.deliver(inst, decided, payload, out);
      return;
    }
    this.ensurePull(inst, nowMs, out);
  }

  /**
   * Pull the payload of the decided digest, or else of a digest this node is ready for: a ready node is a
   * candidate other pullers ask, and when readiness spread by contagion beyond the nodes that hold the
   * payload, each ready node fetching it is what guarantees every puller eventually finds it.
   */
  private ensurePull(inst: ContagionInstance, nowMs: number, out: BroadcastAction[]): void {
    let target: Digest | undefined;
    if (inst.decided !== undefined && !inst.payloads.has(inst.decided)) target = inst.decided;
    else {
      for (const digest of this.committed.get(inst.key)?.ready ?? []) {
        if (!inst.payloads.has(digest)) {
          target = digest;
          break;
        }
      }
    }
    if (target === undefined || inst.pull?.digest === target) return;
    this.live.startPull(inst, target);
    this.askForPayload(inst, nowMs, out);
  }

  private askForPayload(inst: ContagionInstance, nowMs: number, out: BroadcastAction[]): void {
    const pull = inst.pull!;
    const candidates = new Set([
      ...inst.readies.votersFor(pull.digest),
      ...inst.echoes.votersFor(pull.digest),
    ]);
    const peer = pull.nextPeer([...candidates], this.options.random);
    if (peer !== undefined)
      this.send(out, [peer], { kind: "request", instance: inst.ref, digest: pull.digest });
    pull.deadlineMs = nowMs + this.options.pullRetryMs;
  }

  /**
   * Takes a valid payload into the instance. The first one this node accepts (and can echo) is its gossip
   * delivery: relayed once to the gossip neighbours but the sender, then echoed (Algorithm 6's dispatch,
   * Algorithm 8 line 31). The payload goes out first: it needs no commitment, so the echo's persist does not
   * hold it back.
   */
  private acceptPayload(
    inst: ContagionInstance,
    digest: Digest,
    payload: Uint8Array,
    from: PeerId | undefined,
    nowMs: number,
    out: BroadcastAction[],
  ): void {
    this.live.acceptPayload(inst, digest, payload, nowMs);
    const echoed = this.committed.get(inst.key)?.echo;
    if (inst.first !== undefined || (echoed !== undefined && echoed !== digest)) return;
    inst.first = digest;
    const neighbours = this.gossip.neighbours();
    this.send(out, from === undefined ? neighbours : neighbours.filter((peer) => peer !== from), {
      kind: "gossip",
      payload,
    });
    if (echoed === undefined) this.commitEcho(inst, digest, out);
  }

  /** A payload is kept if it can be this node's first, or if it is one this node must deliver or serve. */
  private wantsPayload(inst: ContagionInstance | undefined, key: string, digest: Digest): boolean {
    const own = this.committed.get(key);
    const canBeFirst = inst?.first === undefined && (own?.echo === undefined || own.echo === digest);
    return (
      canBeFirst ||
      own?.ready.has(digest) === true ||
      inst?.decided === digest ||
      inst?.pull?.digest === digest
    );
  }

  private commitEcho(inst: ContagionInstance, digest: Digest, out: BroadcastAction[]): void {
    this.committed.of(inst.key, inst.ref).echo = digest;
    out.push({ type: "persist", commitment: { instance: inst.ref, kind: "echo", digest } });
    this.send(out, this.echoSubscribers.list(), { kind: "echo", instance: inst.ref, digest });
  }

  private commitReady(inst: ContagionInstance, digest: Digest, out: BroadcastAction[]): void {
    this.committed.of(inst.key, inst.ref).ready.add(digest);
    out.push({ type: "persist", commitment: { instance: inst.ref, kind: "ready", digest } });
    this.send(out, this.readySubscribers.list(), { kind: "ready", instance: inst.ref, digest });
  }

  private deliver(
    inst: ContagionInstance,
    digest: Digest,
    payload: Uint8Array,
    out: BroadcastAction[],
  ): void {
    out.push({ type: "deliver", instance: inst.ref, digest, payload });
    this.delivered.record(inst.key, digest, payload);
    this.committed.delete(inst.key);
    this.live.drop(inst);
    this.count.delivered++;
  }

  /** The payloads of live instances this node relayed, to a new gossip neighbour (most recent first). */
  private replayPayloads(peer: PeerId, out: BroadcastAction[]): void {
    const recent = lastOf(this.live.values(), this.options.maxReplayedInstances);
    for (const inst of recent) {
      const payload = inst.first === undefined ? undefined : inst.payloads.get(inst.first);
      if (payload !== undefined) this.send(out, [peer], { kind: "gossip", payload });
    }
  }

  /** This node's ECHOs or READYs of undelivered instances, to a new subscriber. */
  private replayVotes(peer: PeerId, layer: "echo" | "ready", out: BroadcastAction[]): void {
    const recent = lastOf(this.committed.values(), this.options.maxReplayedInstances);
    for (const own of recent) {
      const digests = layer === "echo" ? (own.echo === undefined ? [] : [own.echo]) : own.ready;
      for (const digest of digests) this.send(out, [peer], { kind: layer, instance: own.ref, digest });
    }
  }

  // ── bookkeeping ───────────────────────────────────────────────────────────────────────────────────────

  private isReadyFor(inst: ContagionInstance, digest: Digest): boolean {
    return this.committed.get(inst.key)?.ready.has(digest) === true;
  }

  private send(out: BroadcastAction[], to: readonly PeerId[], message: BroadcastMessage): void {
    if (to.length === 0 || message.kind === "send") return;
    this.count.sent[message.kind] += to.length;
    out.push({ type: "send", to, message });
  }
}

function newInstance(
  key: string,
  ref: InstanceRef,
  openedBy: PeerId | undefined,
  lastActivityMs: number,
): ContagionInstance {
  return {
    key,
    ref,
    openedBy,
    lastActivityMs,
    first: undefined,
    payloads: new Map(),
    echoes: new EchoTally(),
    readies: new ReadyTally(),
    decided: undefined,
    examined: false,
    pull: undefined,
  };
}

/** The last `count` items of an insertion-ordered collection (the most recently active ones). */
function lastOf<T>(items: Iterable<T>, count: number): T[] {
  if (count === 0) return [];
  return [...items].slice(-count);
}
