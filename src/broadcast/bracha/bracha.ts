import { InlineMap } from "../../core/inlineMap.ts";
import type { PeerId } from "../../core/peerId.ts";
import type { RandomSource } from "../../core/random.ts";
import { configError, positiveInteger } from "../instance/configChecks.ts";
import { createCounters, DROP_REASONS, snapshotCounters } from "../instance/counters.ts";
import { DeliveredLog } from "../instance/deliveredLog.ts";
import { instanceKey, isWellFormedDigest, isWellFormedInstance } from "../instance/instanceId.ts";
import {
  INSTANCE_DEFAULTS,
  type InstanceOptions,
  resolveInstanceOptions,
} from "../instance/instanceOptions.ts";
import { LateAnswers } from "../instance/lateAnswers.ts";
import { LiveInstances } from "../instance/liveInstances.ts";
import { OwnCommitmentIndex, unsettledCommitments } from "../instance/ownCommitments.ts";
import { PayloadAnswers } from "../instance/payloadAnswers.ts";
import { inspectSafely } from "../instance/payloadInspection.ts";
import { Retransmissions } from "../instance/retransmissions.ts";
import { Submissions } from "../instance/submissions.ts";
import { VoteTally } from "../instance/voteTally.ts";
import {
  type BroadcastAction,
  type BroadcastCounters,
  type BroadcastEvent,
  type BroadcastMessage,
  type BroadcastProtocol,
  type BroadcastStats,
  type Commitment,
  type Digest,
  type InspectPayload,
  type InstanceRef,
  MESSAGE_KINDS,
} from "../types.ts";
import type { BrachaInstance, OwnCommitments } from "./brachaInstance.ts";
import { resendCommitments } from "./brachaResend.ts";
import { type BrachaQuorums, brachaQuorums } from "./quorums.ts";

export interface BrachaOptions extends InstanceOptions {
  /** This node's peer id; must be one of `members`. */
  readonly self: PeerId;
  /** The static member list, this node included. N = members.length, f = ⌊(N−1)/3⌋. */
  readonly members: readonly PeerId[];
  /** Picks the peer to pull a missing payload from. */
  readonly random: RandomSource;
  /** Live instances one member may open by voting before any payload exists; default: an equal 1/N share. */
  readonly maxOpenedPerPeer?: number;
}

/** Bracha adds no bound of its own to the shared ones (their reasons are in `INSTANCE_DEFAULTS`). */
export const BRACHA_DEFAULTS = INSTANCE_DEFAULTS;

/** Every member's vote counts and nobody subscribes: the sampling drop reasons cannot happen here. */
const BRACHA_DROP_REASONS = DROP_REASONS.filter(
  (reason) => reason !== "notSampled" && reason !== "subscribersFull",
);

/**
 * Bracha's reliable broadcast (Bracha 1987; the deterministic baseline of thesis Ch. 4), one instance per
 * (source account, seq), as a sans-I/O state machine.
 *
 * - Dissemination: the introducing node sends the payload to every member once; nobody relays it. Relaying on
 *   echo would cost O(N²) payload copies per transfer to cover a Byzantine introducer that skips some
 *   members, a case payload pull already covers (and must cover anyway, for equivocation).
 * - ECHO: a node echoes the first valid payload it holds for an instance, and never another digest.
 * - READY on ⌈(N+f+1)/2⌉ matching ECHOs or f+1 matching READYs. A correct node sends READY at most once per
 *   instance: by quorum intersection no two digests can both gather an echo quorum, and f+1 READYs include a
 *   correct node's, so amplification never points at a second digest; the state machine enforces it anyway.
 * - Deliver on 2f+1 READYs once a payload hashing to the digest is held; pull it from voters otherwise.
 * - Each member's ECHO and READY count once per instance, for its first digest.
 *
 * Commitments (own ECHO/READY digests) outlive the live table (`OwnCommitmentIndex`): an instance evicted as
 * stalled keeps them, so no eviction can make this node contradict itself.
 */
export class BrachaBroadcast implements BroadcastProtocol {
  readonly mode = "bracha";
  readonly quorums: BrachaQuorums;
  private readonly self: PeerId;
  private readonly members: ReadonlySet<PeerId>;
  /** Every member but this node: the destination of SEND, ECHO and READY. */
  private readonly others: readonly PeerId[];
  private readonly inspect: InspectPayload;
  private readonly random: RandomSource;
  private readonly pullRetryMs: number;
  private readonly live: LiveInstances<BrachaInstance>;
  private readonly committed = new OwnCommitmentIndex<OwnCommitments>((ref) => ({ ref }));
  private readonly delivered: DeliveredLog;
  private readonly answers: PayloadAnswers;
  private readonly submissions: Submissions<BrachaInstance>;
  private readonly count = createCounters(MESSAGE_KINDS, BRACHA_DROP_REASONS);
  private readonly retransmissions: Retransmissions;
  private readonly late: LateAnswers;
  private started = false;

  constructor(options: BrachaOptions) {
    const members = new Set(options.members);
    if (members.size === 0 || members.size !== options.members.length) {
      throw configError("members: a non-empty list without duplicates");
    }
    for (const member of members) {
      if (typeof member !== "string" || member.length === 0) throw configError("members: non-empty strings");
    }
    if (!members.has(options.self)) throw configError("self: must be one of members");
    this.self = options.self;
    this.members = members;
    this.others = options.members.filter((peer) => peer !== options.self);
    this.quorums = brachaQuorums(members.size);
    this.inspect = options.inspect;
    this.random = options.random;
    const resolved = resolveInstanceOptions(options, members.size, positiveInteger);
    this.pullRetryMs = resolved.pullRetryMs;
    this.live = new LiveInstances({
      maxInstances: resolved.maxLiveInstances,
      maxOpenedPerPeer: resolved.maxOpenedPerPeer,
      maxIntroducedPerPeer: resolved.maxIntroducedPerPeer,
      maxIntroducedPerAccount: resolved.maxIntroducedPerAccount,
      stallTimeoutMs: resolved.stallTimeoutMs,
      create: (key, ref, openedBy, nowMs) => this.newInstance(key, ref, openedBy, nowMs),
      // A pulling instance is decided: keep it until the payload arrives.
      keepStalled: (inst) => inst.pull !== undefined,
      count: this.count,
    });
    this.delivered = new DeliveredLog({
      maxRecords: resolved.maxDeliveredRecords,
      maxPayloads: resolved.retainedDeliveredPayloads,
      isSettled: resolved.isSettled,
    });
    this.answers = new PayloadAnswers({
      live: this.live,
      delivered: this.delivered,
      budget: { perSecond: resolved.payloadAnswersPerPeerPerSecond, burst: resolved.payloadAnswerBurst },
      count: this.count,
    });
    this.retransmissions = new Retransmissions({
      initialMs: resolved.retransmitInitialMs,
      maxMs: resolved.retransmitMaxMs,
      budgetPerTick: resolved.retransmitBudgetPerTick,
      random: options.random,
    });
    this.late = new LateAnswers({
      delivered: this.delivered,
      lateAfterMs: resolved.retransmitInitialMs,
      budget: { perSecond: resolved.lateAnswersPerPeerPerSecond, burst: resolved.lateAnswerBurst },
      count: this.count,
    });
    this.submissions = new Submissions({
      inspect: this.inspect,
      delivered: this.delivered,
      committed: this.committed,
      live: this.live,
      introduce: (inst, digest, payload, echoed, nowMs, out) =>
        this.introduce(inst, digest, payload, echoed, nowMs, out),
    });
  }

  handle(event: BroadcastEvent): BroadcastAction[] {
    this.started = true;
    const out: BroadcastAction[] = [];
    switch (event.type) {
      case "submit":
        this.onSubmit(event.payload, event.nowMs, out);
        break;
      case "message":
        this.onMessage(event.from, event.message, event.nowMs, out);
        break;
      case "tick":
        this.onTick(event.nowMs, out);
        break;
    }
    return out;
  }

  restore(commitments: Iterable<Commitment>): BroadcastAction[] {
    if (this.started) throw configError("restore: must be called before the first event");
    const restored = new Set<string>();
    for (const { key, commitment } of unsettledCommitments(commitments, this.delivered)) {
      const { instance, kind, digest } = commitment;
      const own = this.committed.of(key, instance);
      const previous = own[kind];
      if (previous !== undefined && previous !== digest) {
        // Two digests for one promise: the log is corrupt, and running on would risk equivocating.
        throw configError("restore: conflicting commitments", { key, kind, previous, digest });
      }
      own[kind] = digest;
      restored.add(key);
    }
    for (const key of restored) this.retransmissions.restore(key);
    // The crash may have come between persisting a commitment and sending it: announce again (idempotent
    // for receivers, who count a vote once).
    const out: BroadcastAction[] = [];
    for (const key of restored) {
      const own = this.committed.get(key)!;
      if (own.echo !== undefined)
        this.send(out, this.others, { kind: "echo", instance: own.ref, digest: own.echo });
      if (own.ready !== undefined) {
        this.send(out, this.others, { kind: "ready", instance: own.ref, digest: own.ready });
      }
    }
    return out;
  }

  deliveredDigest(instance: InstanceRef): Digest | undefined {
    return this.delivered.digestOf(instanceKey(instance));
  }

  holdsPayload(instance: InstanceRef, digest: Digest): boolean {
    return this.live.get(instanceKey(instance))?.payloads.has(digest) ?? false;
  }

  wantsPayload(instance: InstanceRef, digest: Digest): boolean {
    const key = instanceKey(instance);
    return this.wanted(key, this.live.get(key), digest);
  }

  /** A payload before this node's ECHO, the one it echoed, or one it still needs (`needsPayload`). */
  private wanted(key: string, inst: BrachaInstance | undefined, digest: Digest): boolean {
    const echoed = this.committed.get(key)?.echo;
    return (
      echoed === undefined || echoed === digest || (inst !== undefined && this.needsPayload(inst, digest))
    );
  }

  quorumsReachable(isUp: (peer: PeerId) => boolean): boolean {
    // This node counts itself in every quorum.
    const reachable = 1 + this.others.filter(isUp).length;
    return reachable >= Math.max(this.quorums.echo, this.quorums.deliver);
  }

  counters(): BroadcastCounters {
    return snapshotCounters(this.count);
  }

  stats(): BroadcastStats {
    return {
      liveInstances: this.live.size,
      pullingInstances: this.live.pullingCount,
      committedInstances: this.committed.size,
      deliveredRecords: this.delivered.size,
    };
  }

  // ── events ────────────────────────────────────────────────────────────────────────────────────────────

  private onSubmit(payload: Uint8Array, nowMs: number, out: BroadcastAction[]): void {
    const inst = this.submissions.submit(payload, nowMs, out);
    if (inst !== undefined) this.progress(inst, nowMs, out);
  }

  /** A submitted payload goes to every member once, and is echoed, unless this node already echoed it. */
  private introduce(
    inst: BrachaInstance,
    digest: Digest,
    payload: Uint8Array,
    echoed: Digest | undefined,
    nowMs: number,
    out: BroadcastAction[],
  ): void {
    this.live.acceptPayload(inst, digest, payload, nowMs);
    if (echoed !== undefined) return;
    // The payload goes out first: it needs no commitment, so it is not held back by the persist below.
    this.send(out, this.others, { kind: "send", payload });
    this.commitEcho(inst, digest, nowMs, out);
  }

  private onMessage(from: PeerId, message: BroadcastMessage, nowMs: number, out: BroadcastAction[]): void {
    if (!this.members.has(from)) {
      this.count.dropped.nonMember++;
      return;
    }
    switch (message.kind) {
      case "send":
        this.count.received.send++;
        this.onSend(from, message.payload, nowMs, out);
        return;
      case "echo":
      case "ready":
        this.count.received[message.kind]++;
        this.onVote(message.kind, from, message.instance, message.digest, nowMs, out);
        return;
      case "request":
        this.count.received.request++;
        this.answers.answer(from, message.instance, message.digest, nowMs, out);
        this.answerLateRequest(from, message.instance, nowMs, out);
        return;
      case "payload":
        this.count.received.payload++;
        this.onPulledPayload(message.payload, nowMs, out);
        return;
      default:
        // A kind this mode does not speak (e.g. contagion subscriptions from a misconfigured peer).
        this.count.dropped.malformed++;
    }
  }

  private onSend(from: PeerId, payload: Uint8Array, nowMs: number, out: BroadcastAction[]): void {
    const info = inspectSafely(this.inspect, payload);
    if (info === null) {
      this.count.dropped.invalidPayload++;
      return;
    }
    const { instance, digest } = info;
    const key = instanceKey(instance);
    if (this.delivered.isSettled(key, instance)) {
      this.count.dropped.settled++;
      this.late.answerSettled(from, key, instance, nowMs, out);
      return;
    }
    let inst = this.live.get(key);
    if (!this.wanted(key, inst, digest)) {
      this.count.dropped.unneededPayload++;
      return;
    }
    const echoed = this.committed.get(key)?.echo;
    const opened = inst === undefined;
    inst ??= this.live.open(key, instance, undefined, nowMs);
    if (inst === undefined) return;
    // An unasked payload is charged to the peer that sent it and to its source account.
    if (!this.live.chargeIntroduction(inst, from)) {
      if (opened) this.live.drop(inst);
      return;
    }
    this.live.acceptPayload(inst, digest, payload, nowMs);
    if (echoed === undefined) this.commitEcho(inst, digest, nowMs, out);
    this.progress(inst, nowMs, out);
  }

  private onVote(
    kind: "echo" | "ready",
    from: PeerId,
    instance: InstanceRef,
    digest: Digest,
    nowMs: number,
    out: BroadcastAction[],
  ): void {
    if (!isWellFormedInstance(instance) || !isWellFormedDigest(digest)) {
      this.count.dropped.malformed++;
      return;
    }
    const key = instanceKey(instance);
    if (this.delivered.isSettled(key, instance)) {
      this.count.dropped.settled++;
      // A late ECHO comes from a node still short of READYs; a READY is never answered, so two settled nodes
      // cannot bounce answers off each other.
      if (kind === "echo") this.late.answerSettled(from, key, instance, nowMs, out);
      return;
    }
    const inst = this.live.get(key) ?? this.live.open(key, instance, from, nowMs);
    if (inst === undefined) return;
    const tally = kind === "echo" ? inst.echoes : inst.readies;
    if (!tally.add(from, digest)) {
      this.count.dropped.duplicateVote++;
      return;
    }
    this.live.touch(inst, nowMs);
    this.progress(inst, nowMs, out);
  }

  private onPulledPayload(payload: Uint8Array, nowMs: number, out: BroadcastAction[]): void {
    const info = inspectSafely(this.inspect, payload);
    if (info === null) {
      this.count.dropped.invalidPayload++;
      return;
    }
    const inst = this.live.instancePulling(info);
    if (inst === undefined) {
      this.count.dropped.unsolicitedPayload++;
      return;
    }
    this.live.acceptPayload(inst, info.digest, payload, nowMs);
    this.progress(inst, nowMs, out);
  }

  private onTick(nowMs: number, out: BroadcastAction[]): void {
    this.live.retryDuePulls(nowMs, (inst) => this.askForPayload(inst, nowMs, out));
    this.live.evictStalled(nowMs);
    this.retransmissions.resendDue(nowMs, (key) => {
      const sent = resendCommitments(this.committed.get(key), this.live.get(key), this.others, (to, m) =>
        this.send(out, to, m),
      );
      if (sent !== undefined && sent > 0) this.count.retransmissions++;
      return sent;
    });
  }

  /** A pull for a settled instance: the puller is behind on READYs too. */
  private answerLateRequest(
    from: PeerId,
    instance: InstanceRef,
    nowMs: number,
    out: BroadcastAction[],
  ): void {
    if (!isWellFormedInstance(instance)) return;
    const key = instanceKey(instance);
    if (this.delivered.isSettled(key, instance)) this.late.answerSettled(from, key, instance, nowMs, out);
  }

  // ── protocol steps ────────────────────────────────────────────────────────────────────────────────────

  /** Moves an instance forward after anything changed in it: ready, then deliver or pull. */
  private progress(inst: BrachaInstance, nowMs: number, out: BroadcastAction[]): void {
    const { echo, readyAmplify, deliver } = this.quorums;
    if (this.committed.get(inst.key)?.ready === undefined) {
      const digest = inst.echoes.reaching(echo) ?? inst.readies.reaching(readyAmplify);
      if (digest !== undefined) this.commitReady(inst, digest, nowMs, out);
    }
    const decided = inst.readies.reaching(deliver);
    if (decided === undefined) return;
    const payload = inst.payloads.get(decided);
    if (payload !== undefined) this.deliver(inst, decided, payload, nowMs, out);
    else if (inst.pull === undefined) this.startPull(inst, decided, nowMs, out);
  }

  private commitEcho(inst: BrachaInstance, digest: Digest, nowMs: number, out: BroadcastAction[]): void {
    this.committed.of(inst.key, inst.ref).echo = digest;
    this.retransmissions.schedule(inst.key, nowMs);
    out.push({ type: "persist", commitment: { instance: inst.ref, kind: "echo", digest } });
    this.send(out, this.others, { kind: "echo", instance: inst.ref, digest });
    inst.echoes.add(this.self, digest);
  }

  private commitReady(inst: BrachaInstance, digest: Digest, nowMs: number, out: BroadcastAction[]): void {
    this.committed.of(inst.key, inst.ref).ready = digest;
    this.retransmissions.schedule(inst.key, nowMs);
    out.push({ type: "persist", commitment: { instance: inst.ref, kind: "ready", digest } });
    this.send(out, this.others, { kind: "ready", instance: inst.ref, digest });
    inst.readies.add(this.self, digest);
  }

  private deliver(
    inst: BrachaInstance,
    digest: Digest,
    payload: Uint8Array,
    nowMs: number,
    out: BroadcastAction[],
  ): void {
    out.push({ type: "deliver", instance: inst.ref, digest, payload });
    this.delivered.record(inst.key, digest, payload, nowMs);
    this.committed.delete(inst.key);
    this.retransmissions.cancel(inst.key, nowMs);
    this.live.drop(inst);
    this.count.delivered++;
  }

  private startPull(inst: BrachaInstance, digest: Digest, nowMs: number, out: BroadcastAction[]): void {
    this.live.startPull(inst, digest);
    this.askForPayload(inst, nowMs, out);
  }

  private askForPayload(inst: BrachaInstance, nowMs: number, out: BroadcastAction[]): void {
    const pull = inst.pull!;
    // Voters for the digest: READY voters first (2f+1 of them, f+1 correct), then echoers.
    const candidates = new Set([
      ...inst.readies.votersFor(pull.digest),
      ...inst.echoes.votersFor(pull.digest),
    ]);
    candidates.delete(this.self);
    const peer = pull.nextPeer([...candidates], this.random);
    if (peer !== undefined)
      this.send(out, [peer], { kind: "request", instance: inst.ref, digest: pull.digest });
    pull.deadlineMs = nowMs + this.pullRetryMs;
  }

  // ── bookkeeping ───────────────────────────────────────────────────────────────────────────────────────

  /** Keep only the payloads delivery can use: the one this node echoes and one with ready support. */
  private needsPayload(inst: BrachaInstance, digest: Digest): boolean {
    return inst.pull?.digest === digest || inst.readies.count(digest) >= this.quorums.readyAmplify;
  }

  private newInstance(
    key: string,
    ref: InstanceRef,
    openedBy: PeerId | undefined,
    lastActivityMs: number,
  ): BrachaInstance {
    const inst: BrachaInstance = {
      key,
      ref,
      openedBy,
      introducedBy: undefined,
      lastActivityMs,
      echoes: new VoteTally(),
      readies: new VoteTally(),
      payloads: new InlineMap(),
      pull: undefined,
    };
    // Reopened after a stall eviction or a restart: this node's own votes still count.
    const own = this.committed.get(key);
    if (own?.echo !== undefined) inst.echoes.add(this.self, own.echo);
    if (own?.ready !== undefined) inst.readies.add(this.self, own.ready);
    return inst;
  }

  private send(out: BroadcastAction[], to: readonly PeerId[], message: BroadcastMessage): void {
    if (to.length === 0) return;
    this.count.sent[message.kind] += to.length;
    out.push({ type: "send", to, message });
  }
}
