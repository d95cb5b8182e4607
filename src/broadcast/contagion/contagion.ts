import type { PeerId } from "../../core/peerId.ts";
import type { SamplingOracle } from "../../sampling/samplingOracle.ts";
import { configError } from "../instance/configChecks.ts";
import { snapshotCounters } from "../instance/counters.ts";
import { DeliveredLog } from "../instance/deliveredLog.ts";
import { instanceKey, isWellFormedDigest, isWellFormedInstance } from "../instance/instanceId.ts";
import { LateAnswers } from "../instance/lateAnswers.ts";
import { LiveInstances } from "../instance/liveInstances.ts";
import { OwnCommitmentIndex, unsettledCommitments } from "../instance/ownCommitments.ts";
import { PayloadAnswers } from "../instance/payloadAnswers.ts";
import { inspectSafely } from "../instance/payloadInspection.ts";
import { Retransmissions } from "../instance/retransmissions.ts";
import { Submissions } from "../instance/submissions.ts";
import {
  type BroadcastAction,
  type BroadcastCounters,
  type BroadcastEvent,
  type BroadcastMessage,
  type BroadcastProtocol,
  type BroadcastSamples,
  type BroadcastStats,
  type Commitment,
  type Digest,
  type InstanceRef,
  SUBSCRIPTION_LAYERS,
} from "../types.ts";
import { type ContagionCounters, createContagionCounters } from "./contagionCounters.ts";
import {
  type ContagionInstance,
  newInstance,
  newOwnCommitments,
  type OwnCommitments,
} from "./contagionInstance.ts";
import { SampledLayers } from "./contagionLayers.ts";
import {
  type ContagionOptions,
  type ResolvedContagionOptions,
  resolveContagionOptions,
} from "./contagionOptions.ts";
import type { ContagionParams } from "./contagionParams.ts";
import { InstanceProgress } from "./contagionProgress.ts";
import { resendCommitments } from "./contagionResend.ts";
import { deliveryMultiplicityOf, echoMultiplicityOf, readyMultiplicityOf } from "./contagionSamples.ts";
import { StaleSenders } from "./contagionStaleSenders.ts";
import { Subscriptions } from "./contagionSubscriptions.ts";

export { CONTAGION_DEFAULTS, type ContagionOptions } from "./contagionOptions.ts";

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
  private readonly layers: SampledLayers;
  /**
   * `layers.samples.weightsOf`, held directly: counting a vote starts with this lookup in a node whose state
   * is usually out of the CPU cache (10,000 simulated nodes), and each object hop on the way is a miss.
   */
  private voteWeights: ReadonlyMap<PeerId, number> = new Map();
  private weightBase = 1;
  private readonly subscriptions: Subscriptions;
  private readonly steps: InstanceProgress;
  private readonly live: LiveInstances<ContagionInstance>;
  private readonly committed = new OwnCommitmentIndex<OwnCommitments>(newOwnCommitments);
  private readonly delivered: DeliveredLog;
  private readonly answers: PayloadAnswers;
  private readonly submissions: Submissions<ContagionInstance>;
  private readonly count: ContagionCounters = createContagionCounters();
  private readonly retransmissions: Retransmissions;
  private readonly late: LateAnswers;
  private readonly staleSenders: StaleSenders;
  private readonly isLive = (key: string): boolean => this.live.get(key) !== undefined;
  private handledAny = false;

  constructor(options: ContagionOptions) {
    this.options = resolveContagionOptions(options);
    this.params = this.options.params;
    this.self = options.self;
    this.oracle = this.options.oracle;
    this.live = new LiveInstances({
      maxInstances: this.options.maxLiveInstances,
      maxOpenedPerPeer: this.options.maxOpenedPerPeer,
      maxIntroducedPerPeer: this.options.maxIntroducedPerPeer,
      maxIntroducedPerAccount: this.options.maxIntroducedPerAccount,
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
    this.retransmissions = new Retransmissions({
      initialMs: this.options.retransmitInitialMs,
      maxMs: this.options.retransmitMaxMs,
      budgetPerTick: this.options.retransmitBudgetPerTick,
      random: this.options.random,
    });
    this.late = new LateAnswers({
      delivered: this.delivered,
      lateAfterMs: this.options.retransmitInitialMs,
      budget: { perSecond: this.options.lateAnswersPerPeerPerSecond, burst: this.options.lateAnswerBurst },
      count: this.count,
    });
    this.staleSenders = new StaleSenders(this.options, this.count);
    this.submissions = new Submissions({
      inspect: this.options.inspect,
      delivered: this.delivered,
      committed: this.committed,
      live: this.live,
      // Gossip it (if this node has not yet), then echo it (if it has not yet): Algorithm 6's dispatch.
      introduce: (inst, digest, payload, _echoed, nowMs, out) =>
        this.steps.acceptPayload(inst, digest, payload, undefined, nowMs, out),
    });
    const { random } = this.options;
    this.layers = new SampledLayers({
      // self, oracle, params, random and the sample upkeep's options, as resolved.
      ...this.options,
      live: this.live,
      count: this.count,
      replayPayloads: (peer, out) => this.subscriptions.replayPayloads(peer, out),
      progress: (inst, nowMs, out) => this.steps.progress(inst, nowMs, out),
    });
    this.subscriptions = new Subscriptions({
      replaysPerPeerPerSecond: this.options.replaysPerPeerPerSecond,
      replayBurst: this.options.replayBurst,
      maxReplayedInstances: this.options.maxReplayedInstances,
      layers: this.layers,
      live: this.live,
      committed: this.committed,
      count: this.count,
    });
    this.steps = new InstanceProgress({
      params: this.params,
      oracle: this.oracle,
      random,
      pullRetryMs: this.options.pullRetryMs,
      layers: this.layers,
      subscriptions: this.subscriptions,
      live: this.live,
      committed: this.committed,
      delivered: this.delivered,
      retransmissions: this.retransmissions,
      count: this.count,
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
        this.layers.onPeerDown(event.peer, event.nowMs, out);
        break;
      case "peerUp":
        this.layers.onPeerUp(event.peer, out);
        break;
    }
    return out;
  }

  /**
   * Reloads the commitments persisted before a restart; call once, before the first event. Returns no sends:
   * this node's subscribers are not known after a restart. They re-subscribe when they see it reconnect
   * (`peerUp`), and every subscription replays the ECHOs and READYs restored here; retransmission re-sends
   * them too (from `retransmitInitialMs` after the first tick), also to the peers this node samples.
   */
  restore(commitments: Iterable<Commitment>): BroadcastAction[] {
    if (this.handledAny) throw configError("restore: must be called before the first event");
    for (const { key, commitment } of unsettledCommitments(commitments, this.delivered)) {
      const { instance, kind, digest } = commitment;
      const own = this.committed.of(key, instance);
      if (kind === "ready") own.ready.add(digest);
      else if (own.echo === undefined || own.echo === digest) own.echo = digest;
      // Two echoed digests: the log is corrupt, and running on would risk equivocating.
      else throw configError("restore: conflicting echo commitments", { key, previous: own.echo, digest });
      this.retransmissions.restore(key);
    }
    return [];
  }

  deliveredDigest(instance: InstanceRef): Digest | undefined {
    return this.delivered.digestOf(instanceKey(instance));
  }

  holdsPayload(instance: InstanceRef, digest: Digest): boolean {
    return this.live.get(instanceKey(instance))?.payloads.has(digest) ?? false;
  }

  wantsPayload(instance: InstanceRef, digest: Digest): boolean {
    return this.steps.wantsPayload(this.live.get(instanceKey(instance)), instanceKey(instance), digest);
  }

  quorumsReachable(isUp: (peer: PeerId) => boolean): boolean {
    return this.layers.quorumsReachable(isUp);
  }

  readonly samplePeers = (): BroadcastSamples => this.layers.samplePeers();

  readonly samplesSettled = (): boolean => this.layers.settled;

  counters(): BroadcastCounters {
    return snapshotCounters(this.count);
  }

  stats(): BroadcastStats {
    const started = this.layers.started;
    return {
      liveInstances: this.live.size,
      pullingInstances: this.live.pullingCount,
      committedInstances: this.committed.size,
      deliveredRecords: this.delivered.size,
      ...this.layers.sampleStats(),
      subscribers: {
        gossip: started ? this.layers.gossip.reciprocal.size : 0,
        echo: this.subscriptions.echo.size,
        ready: this.subscriptions.ready.size,
      },
    };
  }

  /** Algorithms 6–9, "upon Init", on the first event if `start` did not come first. */
  private ensureStarted(nowMs: number, out: BroadcastAction[]): void {
    if (this.layers.started) return;
    const samples = this.layers.start(nowMs, out);
    this.voteWeights = samples.weightsOf;
    this.weightBase = samples.base;
  }

  // ── events ────────────────────────────────────────────────────────────────────────────────────────────

  private onSubmit(payload: Uint8Array, nowMs: number, out: BroadcastAction[]): void {
    const inst = this.submissions.submit(payload, nowMs, out);
    if (inst !== undefined) this.steps.progress(inst, nowMs, out);
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
          this.staleSenders.tell(from, message.kind, nowMs, out);
          // A node that fell behind nudges the peers it samples with its ECHO, whether or not they sample it.
          if (message.kind === "echo")
            this.late.answerIfSettled(from, message.instance, this.isLive, nowMs, out);
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
        this.late.answerIfSettled(from, message.instance, this.isLive, nowMs, out);
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
        if (message.kind === "subscribe") this.subscriptions.onSubscribe(from, message.layer, nowMs, out);
        else this.subscriptions.onUnsubscribe(from, message.layer);
        return;
      default:
        // Bracha's SEND, from a peer running the other mode: the genesis fixes one mode for all.
        this.count.dropped.malformed++;
    }
  }

  private onGossip(from: PeerId, payload: Uint8Array, nowMs: number, out: BroadcastAction[]): void {
    // Still a valid relay, taken as any member's; the sender is only told that no link asks for it.
    if (!this.layers.gossip.isNeighbour(from)) this.staleSenders.tell(from, "gossip", nowMs, out);
    const info = inspectSafely(this.options.inspect, payload);
    if (info === null) {
      this.count.dropped.invalidPayload++;
      return;
    }
    const { instance, digest } = info;
    const key = instanceKey(instance);
    // A live instance is undelivered by construction (as for votes): no settled checks for its copies.
    let inst = this.live.get(key);
    if (inst === undefined && this.delivered.isSettled(key, instance)) {
      this.count.dropped.settled++;
      this.late.answerSettled(from, key, instance, nowMs, out);
      return;
    }
    if (inst?.payloads.has(digest)) return; // most copies are duplicates: nothing to do, nothing to count
    if (!this.steps.wantsPayload(inst, key, digest)) {
      this.count.dropped.unneededPayload++;
      return;
    }
    const opened = inst === undefined;
    inst ??= this.live.open(key, instance, undefined, nowMs);
    if (inst === undefined) return;
    // An unasked payload is charged to the neighbour that relayed it first and to its source account.
    if (!this.live.chargeIntroduction(inst, from)) {
      if (opened) this.live.drop(inst);
      return;
    }
    this.steps.acceptPayload(inst, digest, payload, from, nowMs, out);
    this.steps.progress(inst, nowMs, out);
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
      this.staleSenders.tell(from, "echo", nowMs, out);
      return;
    }
    const inst = this.liveForVote(from, instance, digest, nowMs, out);
    if (inst === undefined) return;
    const weight = inst.echoes.add(from, digest, multiplicity);
    if (weight === undefined) {
      this.count.dropped.duplicateVote++;
      return;
    }
    this.live.touch(inst, nowMs);
    if (weight >= this.params.Ehat || !inst.examined) this.steps.progress(inst, nowMs, out);
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
      this.staleSenders.tell(from, "ready", nowMs, out);
      return;
    }
    const inst = this.liveForVote(from, instance, digest, nowMs, undefined);
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
      this.steps.progress(inst, nowMs, out);
  }

  /** `out` is given for an ECHO: a late one, for a settled instance, is answered (never a READY: see docs). */
  private liveForVote(
    from: PeerId,
    instance: InstanceRef,
    digest: Digest,
    nowMs: number,
    out: BroadcastAction[] | undefined,
  ) {
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
      if (out !== undefined) this.late.answerSettled(from, key, instance, nowMs, out);
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
    this.steps.acceptPayload(inst, info.digest, payload, from, nowMs, out);
    this.steps.progress(inst, nowMs, out);
  }

  private onTick(nowMs: number, out: BroadcastAction[]): void {
    this.live.retryDuePulls(nowMs, (inst) => this.steps.askForPayload(inst, nowMs, out));
    this.live.evictStalled(nowMs);
    this.layers.onTick(nowMs, out);
    const context = {
      layers: this.layers,
      subscriptions: this.subscriptions,
      live: this.live,
      committed: this.committed,
      count: this.count,
    };
    this.retransmissions.resendDue(nowMs, (key) => resendCommitments(context, key, out));
  }
}
