import { ErrorCode, TallyError } from "../core/errors.ts";
import { createCounters, snapshotCounters } from "./counters.ts";
import { DeliveredLog } from "./deliveredLog.ts";
import { instanceKey, isWellFormedDigest, isWellFormedInstance } from "./instanceId.ts";
import { PayloadPull } from "./payloadPull.ts";
import { PeerBudget } from "./peerBudget.ts";
import { type BrachaQuorums, brachaQuorums } from "./quorums.ts";
import type {
  BroadcastAction,
  BroadcastCounters,
  BroadcastEvent,
  BroadcastMessage,
  BroadcastProtocol,
  BroadcastStats,
  Commitment,
  Digest,
  InspectPayload,
  InstanceRef,
  PayloadInfo,
  PeerId,
  RandomSource,
} from "./types.ts";
import { VoteTally } from "./voteTally.ts";

/** Resolution of the live map's activity order (see `touch`). */
const TOUCH_GRANULARITY_MS = 1_000;
export interface BrachaOptions {
  /** This node's peer id; must be one of `members`. */
  readonly self: PeerId;
  /** The static member list, this node included. N = members.length, f = ⌊(N−1)/3⌋. */
  readonly members: readonly PeerId[];
  readonly inspect: InspectPayload;
  /** Picks the peer to pull a missing payload from. */
  readonly random: RandomSource;
  /**
   * The ledger's "already delivered and applied" test (its per-account seq watermark); must be cheap and
   * synchronous. It recognises settled instances once the bounded delivered record has forgotten them and
   * after a restart, so a late SEND cannot reopen them. Without it, only the delivered record protects them.
   */
  readonly isSettled?: (instance: InstanceRef) => boolean;
  readonly maxLiveInstances?: number;
  /** Live instances one member may open by voting before any payload exists; default: an equal 1/N share. */
  readonly maxOpenedPerPeer?: number;
  readonly stallTimeoutMs?: number;
  readonly pullRetryMs?: number;
  readonly maxDeliveredRecords?: number;
  readonly retainedDeliveredPayloads?: number;
  readonly payloadAnswersPerPeerPerSecond?: number;
  readonly payloadAnswerBurst?: number;
}

export const BRACHA_DEFAULTS = {
  /**
   * Undelivered instances with full state (N votes + up to two ~4 KiB payloads each): tens of MB at most for
   * N ≤ 100, and several seconds of in-flight transfers at the signature-verify-bound rate.
   */
  maxLiveInstances: 10_000,
  /**
   * A Bracha instance with a correct introducer finishes in three message delays; one idle for this long was
   * equivocated or forged and will not progress. Evicting it frees its slot; its commitments stay (see below).
   */
  stallTimeoutMs: 10 * 60_000,
  /** A few round trips: a silent Byzantine voter costs the puller one period before it asks someone else. */
  pullRetryMs: 2_000,
  /** ~100 B per record, ~10 MB; older instances are recognised by `isSettled`. */
  maxDeliveredRecords: 100_000,
  /** Pulls come within a few retry periods of the others' delivery; older payloads are served from the store. */
  retainedDeliveredPayloads: 1_024,
  /** Caps what one peer can make us upload on demand at ~200 KiB/s of 4 KiB transfers. */
  payloadAnswersPerPeerPerSecond: 50,
  payloadAnswerBurst: 100,
} as const;

/** The live state of one undelivered instance. */
interface LiveInstance {
  readonly key: string;
  readonly ref: InstanceRef;
  /** The member whose vote created this instance before any valid payload; charged against its quota. */
  openedBy: PeerId | undefined;
  lastActivityMs: number;
  readonly echoes: VoteTally;
  readonly readies: VoteTally;
  /** The payload this node echoed and the one with ready support, if different: at most two. */
  readonly payloads: Map<Digest, Uint8Array>;
  pull: PayloadPull | undefined;
}

/** What this node promised in an undelivered instance; mirrors the driver's durable commitment log. */
interface OwnCommitments {
  readonly ref: InstanceRef;
  echo?: Digest;
  ready?: Digest;
}

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
 * Commitments (own ECHO/READY digests) outlive the live table: an instance evicted as stalled keeps them in a
 * compact index, so no eviction can make this node contradict itself. They are dropped from memory on
 * delivery, after which the delivered record and `isSettled` keep the instance closed.
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
  private readonly isSettledHook: (instance: InstanceRef) => boolean;
  private readonly maxLiveInstances: number;
  private readonly maxOpenedPerPeer: number;
  private readonly stallTimeoutMs: number;
  private readonly pullRetryMs: number;
  /** Insertion order = least recently active first, which makes the stall sweep stop at the first fresh entry. */
  private readonly live = new Map<string, LiveInstance>();
  private readonly committed = new Map<string, OwnCommitments>();
  private readonly pulling = new Set<string>();
  private readonly openedByPeer = new Map<PeerId, number>();
  private readonly delivered: DeliveredLog;
  private readonly answerBudget: PeerBudget;
  private readonly count = createCounters();
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
    this.isSettledHook = options.isSettled ?? (() => false);
    this.maxLiveInstances = positiveInteger("maxLiveInstances", options.maxLiveInstances);
    this.maxOpenedPerPeer = positiveInteger(
      "maxOpenedPerPeer",
      options.maxOpenedPerPeer ?? Math.ceil(this.maxLiveInstances / members.size),
    );
    this.stallTimeoutMs = positiveInteger("stallTimeoutMs", options.stallTimeoutMs);
    this.pullRetryMs = positiveInteger("pullRetryMs", options.pullRetryMs);
    this.delivered = new DeliveredLog({
      maxRecords: positiveInteger("maxDeliveredRecords", options.maxDeliveredRecords),
      maxPayloads: positiveInteger("retainedDeliveredPayloads", options.retainedDeliveredPayloads),
    });
    this.answerBudget = new PeerBudget({
      perSecond: positiveInteger("payloadAnswersPerPeerPerSecond", options.payloadAnswersPerPeerPerSecond),
      burst: positiveInteger("payloadAnswerBurst", options.payloadAnswerBurst),
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
    for (const commitment of commitments) {
      const { instance, kind, digest } = commitment;
      if (
        !isWellFormedInstance(instance) ||
        !isWellFormedDigest(digest) ||
        (kind !== "echo" && kind !== "ready")
      ) {
        throw configError("restore: malformed commitment", { commitment });
      }
      const key = instanceKey(instance);
      if (this.isSettled(key, instance)) continue;
      const own = this.ownCommitments(key, instance);
      const previous = own[kind];
      if (previous !== undefined && previous !== digest) {
        // Two digests for one promise: the log is corrupt, and running on would risk equivocating.
        throw configError("restore: conflicting commitments", { key, kind, previous, digest });
      }
      own[kind] = digest;
      restored.add(key);
    }
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

  counters(): BroadcastCounters {
    return snapshotCounters(this.count);
  }

  stats(): BroadcastStats {
    return {
      liveInstances: this.live.size,
      pullingInstances: this.pulling.size,
      committedInstances: this.committed.size,
      deliveredRecords: this.delivered.size,
    };
  }

  // ── events ────────────────────────────────────────────────────────────────────────────────────────────

  private onSubmit(payload: Uint8Array, nowMs: number, out: BroadcastAction[]): void {
    const info = this.inspectSafely(payload);
    if (info === null) {
      out.push({ type: "submitResult", outcome: "invalid" });
      return;
    }
    const { instance, digest } = info;
    const key = instanceKey(instance);
    if (this.isSettled(key, instance)) {
      out.push({ type: "submitResult", outcome: "delivered", instance, digest });
      return;
    }
    const echoed = this.committed.get(key)?.echo;
    if (echoed !== undefined && echoed !== digest) {
      out.push({ type: "submitResult", outcome: "conflict", instance, digest });
      return;
    }
    const inst = this.live.get(key) ?? this.open(key, instance, undefined, nowMs);
    if (inst === undefined) {
      out.push({ type: "submitResult", outcome: "full", instance, digest });
      return;
    }
    this.acceptPayload(inst, digest, payload, nowMs);
    if (echoed === undefined) {
      // The payload goes out first: it needs no commitment, so it is not held back by the persist below.
      this.send(out, this.others, { kind: "send", payload });
      this.commitEcho(inst, digest, out);
    }
    out.push({
      type: "submitResult",
      outcome: echoed === undefined ? "accepted" : "duplicate",
      instance,
      digest,
    });
    this.progress(inst, nowMs, out);
  }

  private onMessage(from: PeerId, message: BroadcastMessage, nowMs: number, out: BroadcastAction[]): void {
    if (!this.members.has(from)) {
      this.count.dropped.nonMember++;
      return;
    }
    switch (message.kind) {
      case "send":
        this.count.received.send++;
        this.onSend(message.payload, nowMs, out);
        return;
      case "echo":
      case "ready":
        this.count.received[message.kind]++;
        this.onVote(message.kind, from, message.instance, message.digest, nowMs, out);
        return;
      case "request":
        this.count.received.request++;
        this.onRequest(from, message.instance, message.digest, nowMs, out);
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

  private onSend(payload: Uint8Array, nowMs: number, out: BroadcastAction[]): void {
    const info = this.inspectSafely(payload);
    if (info === null) {
      this.count.dropped.invalidPayload++;
      return;
    }
    const { instance, digest } = info;
    const key = instanceKey(instance);
    if (this.isSettled(key, instance)) {
      this.count.dropped.settled++;
      return;
    }
    const echoed = this.committed.get(key)?.echo;
    let inst = this.live.get(key);
    const wanted =
      echoed === undefined || echoed === digest || (inst !== undefined && this.needsPayload(inst, digest));
    if (!wanted) {
      this.count.dropped.unneededPayload++;
      return;
    }
    inst ??= this.open(key, instance, undefined, nowMs);
    if (inst === undefined) return;
    this.acceptPayload(inst, digest, payload, nowMs);
    if (echoed === undefined) this.commitEcho(inst, digest, out);
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
    if (this.isSettled(key, instance)) {
      this.count.dropped.settled++;
      return;
    }
    const inst = this.live.get(key) ?? this.open(key, instance, from, nowMs);
    if (inst === undefined) return;
    const tally = kind === "echo" ? inst.echoes : inst.readies;
    if (!tally.add(from, digest)) {
      this.count.dropped.duplicateVote++;
      return;
    }
    this.touch(inst, nowMs);
    this.progress(inst, nowMs, out);
  }

  private onRequest(
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
    const payload = this.live.get(key)?.payloads.get(digest) ?? this.delivered.payloadOf(key, digest);
    const inStore =
      payload === undefined && (this.delivered.digestOf(key) === digest || this.isSettledHook(instance));
    if (payload === undefined && !inStore) {
      this.count.dropped.notHeld++;
      return;
    }
    if (!this.answerBudget.take(from, nowMs)) {
      this.count.dropped.rateLimited++;
      return;
    }
    if (payload !== undefined) this.send(out, [from], { kind: "payload", payload });
    else out.push({ type: "serveFromStore", to: from, instance: copyRef(instance), digest });
  }

  private onPulledPayload(payload: Uint8Array, nowMs: number, out: BroadcastAction[]): void {
    const info = this.inspectSafely(payload);
    if (info === null) {
      this.count.dropped.invalidPayload++;
      return;
    }
    const inst = this.live.get(instanceKey(info.instance));
    // Self-certifying: whoever answers, only bytes that hash to the pulled digest are taken.
    if (inst?.pull === undefined || inst.pull.digest !== info.digest) {
      this.count.dropped.unsolicitedPayload++;
      return;
    }
    this.acceptPayload(inst, info.digest, payload, nowMs);
    this.progress(inst, nowMs, out);
  }

  private onTick(nowMs: number, out: BroadcastAction[]): void {
    for (const key of this.pulling) {
      const inst = this.live.get(key)!;
      if (nowMs < inst.pull!.deadlineMs) continue;
      this.count.pullRetries++;
      this.touch(inst, nowMs);
      this.askForPayload(inst, nowMs, out);
    }
    const cutoffMs = nowMs - this.stallTimeoutMs;
    for (const inst of this.live.values()) {
      if (inst.lastActivityMs > cutoffMs) break;
      // A pulling instance is decided: keep it until the payload arrives.
      if (inst.pull !== undefined) continue;
      this.dropLive(inst);
      this.count.stalledEvicted++;
    }
  }

  // ── protocol steps ────────────────────────────────────────────────────────────────────────────────────

  /** Moves an instance forward after anything changed in it: ready, then deliver or pull. */
  private progress(inst: LiveInstance, nowMs: number, out: BroadcastAction[]): void {
    const { echo, readyAmplify, deliver } = this.quorums;
    if (this.committed.get(inst.key)?.ready === undefined) {
      const digest = inst.echoes.reaching(echo) ?? inst.readies.reaching(readyAmplify);
      if (digest !== undefined) this.commitReady(inst, digest, out);
    }
    const decided = inst.readies.reaching(deliver);
    if (decided === undefined) return;
    const payload = inst.payloads.get(decided);
    if (payload !== undefined) this.deliver(inst, decided, payload, out);
    else if (inst.pull === undefined) this.startPull(inst, decided, nowMs, out);
  }

  private commitEcho(inst: LiveInstance, digest: Digest, out: BroadcastAction[]): void {
    this.ownCommitments(inst.key, inst.ref).echo = digest;
    out.push({ type: "persist", commitment: { instance: inst.ref, kind: "echo", digest } });
    this.send(out, this.others, { kind: "echo", instance: inst.ref, digest });
    inst.echoes.add(this.self, digest);
  }

  private commitReady(inst: LiveInstance, digest: Digest, out: BroadcastAction[]): void {
    this.ownCommitments(inst.key, inst.ref).ready = digest;
    out.push({ type: "persist", commitment: { instance: inst.ref, kind: "ready", digest } });
    this.send(out, this.others, { kind: "ready", instance: inst.ref, digest });
    inst.readies.add(this.self, digest);
  }

  private deliver(inst: LiveInstance, digest: Digest, payload: Uint8Array, out: BroadcastAction[]): void {
    out.push({ type: "deliver", instance: inst.ref, digest, payload });
    this.delivered.record(inst.key, digest, payload);
    this.committed.delete(inst.key);
    this.dropLive(inst);
    this.count.delivered++;
  }

  private startPull(inst: LiveInstance, digest: Digest, nowMs: number, out: BroadcastAction[]): void {
    inst.pull = new PayloadPull(digest);
    this.pulling.add(inst.key);
    this.count.pullsStarted++;
    this.askForPayload(inst, nowMs, out);
  }

  private askForPayload(inst: LiveInstance, nowMs: number, out: BroadcastAction[]): void {
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
  private needsPayload(inst: LiveInstance, digest: Digest): boolean {
    return inst.pull?.digest === digest || inst.readies.count(digest) >= this.quorums.readyAmplify;
  }

  private acceptPayload(inst: LiveInstance, digest: Digest, payload: Uint8Array, nowMs: number): void {
    if (!inst.payloads.has(digest)) inst.payloads.set(digest, payload);
    if (inst.pull?.digest === digest) {
      inst.pull = undefined;
      this.pulling.delete(inst.key);
    }
    // A validly signed payload makes the instance real: it no longer counts against its opener's quota.
    this.releaseOpener(inst);
    this.touch(inst, nowMs);
  }

  private open(key: string, instance: InstanceRef, opener: PeerId | undefined, nowMs: number) {
    if (this.live.size >= this.maxLiveInstances) {
      this.count.dropped.liveFull++;
      return undefined;
    }
    if (opener !== undefined) {
      // Forged votes for instances nobody has a payload for could otherwise fill the table; each member
      // gets an equal share, so f Byzantine members hold at most f/N of it.
      const opened = this.openedByPeer.get(opener) ?? 0;
      if (opened >= this.maxOpenedPerPeer) {
        this.count.dropped.peerQuota++;
        return undefined;
      }
      this.openedByPeer.set(opener, opened + 1);
    }
    const inst: LiveInstance = {
      key,
      ref: copyRef(instance),
      openedBy: opener,
      lastActivityMs: nowMs,
      echoes: new VoteTally(),
      readies: new VoteTally(),
      payloads: new Map(),
      pull: undefined,
    };
    // Reopened after a stall eviction or a restart: this node's own votes still count.
    const own = this.committed.get(key);
    if (own?.echo !== undefined) inst.echoes.add(this.self, own.echo);
    if (own?.ready !== undefined) inst.readies.add(this.self, own.ready);
    this.live.set(key, inst);
    return inst;
  }

  private dropLive(inst: LiveInstance): void {
    this.live.delete(inst.key);
    this.pulling.delete(inst.key);
    this.releaseOpener(inst);
  }

  private releaseOpener(inst: LiveInstance): void {
    if (inst.openedBy === undefined) return;
    const opened = this.openedByPeer.get(inst.openedBy) ?? 1;
    if (opened <= 1) this.openedByPeer.delete(inst.openedBy);
    else this.openedByPeer.set(inst.openedBy, opened - 1);
    inst.openedBy = undefined;
  }

  /**
   * Marks activity, moving the instance to the back of the live map (least recently active first). Only
   * once per TOUCH_GRANULARITY_MS: re-inserting on every vote dominated the cost of counting it, and the
   * stall sweep needs the order only to a second against a timeout of minutes.
   */
  private touch(inst: LiveInstance, nowMs: number): void {
    if (nowMs - inst.lastActivityMs < TOUCH_GRANULARITY_MS) return;
    inst.lastActivityMs = nowMs;
    this.live.delete(inst.key);
    this.live.set(inst.key, inst);
  }

  private ownCommitments(key: string, instance: InstanceRef): OwnCommitments {
    let own = this.committed.get(key);
    if (own === undefined) {
      own = { ref: copyRef(instance) };
      this.committed.set(key, own);
    }
    return own;
  }

  private isSettled(key: string, instance: InstanceRef): boolean {
    return this.delivered.digestOf(key) !== undefined || this.isSettledHook(instance);
  }

  private send(out: BroadcastAction[], to: readonly PeerId[], message: BroadcastMessage): void {
    if (to.length === 0) return;
    this.count.sent[message.kind] += to.length;
    out.push({ type: "send", to, message });
  }

  /** `inspect` is the node's code, but it runs on peer bytes: a throw must not take the state machine down. */
  private inspectSafely(payload: Uint8Array): PayloadInfo | null {
    let info: PayloadInfo | null;
    try {
      info = this.inspect(payload);
    } catch {
      return null;
    }
    if (info === null || !isWellFormedInstance(info.instance) || !isWellFormedDigest(info.digest))
      return null;
    return info;
  }
}

/** Peer-supplied objects may carry extra fields or be mutated later; keep only what we read. */
function copyRef(instance: InstanceRef): InstanceRef {
  return { source: instance.source, seq: instance.seq };
}

function positiveInteger(name: keyof typeof BRACHA_DEFAULTS | "maxOpenedPerPeer", value: number | undefined) {
  const resolved = value ?? (BRACHA_DEFAULTS as Record<string, number>)[name]!;
  if (!Number.isSafeInteger(resolved) || resolved < 1) throw configError(`${name}: a positive integer`);
  return resolved;
}

function configError(message: string, meta?: Record<string, unknown>): TallyError {
  return new TallyError(ErrorCode.InvalidConfig, `broadcast: ${message}`, meta);
}
