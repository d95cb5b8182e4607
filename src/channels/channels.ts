import { ErrorCode, isTallyError, TallyError } from "../core/errors.ts";
import type { PeerId } from "../core/peerId.ts";
import {
  type ChannelError,
  decodeEnvelope,
  decodeErrorBody,
  type Envelope,
  encodeEnvelope,
  encodeErrorBody,
  type WireErrorName,
} from "./envelope.ts";
import {
  type DropReason,
  type InboundItem,
  InboundScheduler,
  type InboundSchedulerOptions,
  type PeerCounters,
  type SchedulerStats,
} from "./inboundScheduler.ts";
import { type PeerScoreOptions, PeerScores, type ScoreEvent } from "./peerScores.ts";
import { ProtocolRegistry } from "./protocolRegistry.ts";
import type { ChannelCodec, ProtocolSpec } from "./protocolSpec.ts";
import { RequestTracker } from "./requestTracker.ts";

/**
 * The protocol-channel layer the node drives: many protocols share one connection, each message in an envelope
 * (envelope.ts); inbound traffic is admitted per peer before it reaches the node's inbox (inboundScheduler.ts);
 * misbehaviour is scored and ends in bans (peerScores.ts); requests are matched to answers (requestTracker.ts).
 *
 * Sans-I/O: the node calls `offer` from the transport's message hook with each message of a frame, `take` from
 * its processing loop, `tick` from a timer, and performs the returned actions (send a reply, disconnect a peer).
 * Nothing here throws on bytes from a peer.
 */
export type ChannelAction =
  | { type: "reply"; to: PeerId; bytes: Uint8Array }
  | { type: "disconnect"; peer: PeerId; untilMs: number }
  /**
   * Stop reading the peer until `untilMs`: it sends faster than its budget admits. Reading and dropping would
   * still cost this node a decode and garbage per message; paused, the peer's own flow-control window fills
   * and the flood waits in its sender.
   */
  | { type: "throttle"; peer: PeerId; untilMs: number };

/** How long a peer over its rate is not read: enough to earn a useful batch of tokens back (≥ 1/10 s of rate). */
export const RATE_THROTTLE_MS = 100;
/** How long a peer whose queue is full is not read: about two processing batches. */
export const QUEUE_THROTTLE_MS = 50;

export interface ChannelsOptions {
  protocols: readonly ProtocolSpec[];
  /** Whether `peer` is a member now; asked on every offer (keep it O(1)). */
  isMember(peer: PeerId): boolean;
  /**
   * Whether a non-member `peer` was a member moments ago (an open network's record that lapsed, e.g. a
   * refresh delayed under load): its members-only traffic is still refused, but without the `forbidden`
   * penalty — its in-flight votes would otherwise get it banned within ten messages, and it would return
   * a member to find itself cut off for the ban's length. Asked only for refused members-only traffic.
   */
  wasMember?(peer: PeerId, nowMs: number): boolean;
  scheduler?: Partial<InboundSchedulerOptions>;
  scores?: Partial<PeerScoreOptions>;
  /** First outgoing request id (tests start near the u32 wrap-around). */
  firstRequestId?: number;
  /**
   * When this process started. A peer may still answer requests this node's previous process made (same peer
   * id, before a crash or restart), and no process can tell those from answers nobody asked for: for two
   * request timeouts after the start — as long as a late answer to its own request stays quiet — an answer
   * that matches nothing is dropped unscored. Absent: every unmatched answer is scored from the first.
   */
  startedMs?: number;
}

export type RequestResult =
  | { ok: true; requestId: number; bytes: Uint8Array }
  | { ok: false; error: ChannelError };

export type DecodeResult<T> =
  | { ok: true; value: T }
  | { ok: false; error: TallyError; actions: ChannelAction[] };

export interface ExpiredRequest {
  to: PeerId;
  protocolId: string;
  requestId: number;
  error: ChannelError;
}

export interface PeerChannelStats {
  peer: PeerId;
  member: boolean;
  queuedMessages: number;
  queuedBytes: number;
  counters: PeerCounters;
  score: number;
  /** End of the current ban, if any. */
  bannedUntilMs: number | undefined;
}

export interface ChannelStats extends SchedulerStats {
  outstandingRequests: number;
  pendingInboundRequests: number;
  scoredPeers: number;
  bannedPeers: number;
}

export class Channels {
  readonly registry: ProtocolRegistry;
  private readonly isMember: (peer: PeerId) => boolean;
  private readonly wasMember: ((peer: PeerId, nowMs: number) => boolean) | undefined;
  private readonly scheduler: InboundScheduler;
  private readonly scores: PeerScores;
  private readonly requests: RequestTracker;
  private readonly startedMs: number | undefined;

  constructor(opts: ChannelsOptions) {
    this.registry = new ProtocolRegistry(opts.protocols);
    this.isMember = opts.isMember;
    this.wasMember = opts.wasMember;
    this.scheduler = new InboundScheduler(opts.scheduler, opts.isMember);
    this.scores = new PeerScores(opts.scores);
    this.requests = new RequestTracker(opts.firstRequestId);
    this.startedMs = opts.startedMs;
  }

  /** Admit one message of a frame from `from`: queue a copy of it, or refuse it. */
  offer(from: PeerId, bytes: Uint8Array, nowMs: number): ChannelAction[] {
    const member = this.isMember(from);
    if (this.scores.isBanned(from, nowMs)) {
      this.scheduler.countDrop(from, member, "banned", bytes.length, nowMs);
      return [];
    }
    let env: Envelope;
    try {
      env = decodeEnvelope(bytes);
    } catch (err) {
      if (!isTallyError(err)) throw err;
      this.scheduler.countDrop(from, member, "malformed", bytes.length, nowMs);
      return this.penalize(from, "malformedEnvelope", nowMs);
    }
    const spec = this.registry.byCode(env.protocolCode);
    if (spec === undefined) {
      return this.refuse(from, member, env, "unknownProtocol", "unknownProtocol", nowMs, {
        code: "unknownProtocol",
        text: `no protocol with code ${env.protocolCode}`,
      });
    }
    if (env.version !== spec.version) {
      return this.refuse(from, member, env, "unsupportedVersion", "unsupportedVersion", nowMs, {
        code: "unsupportedVersion",
        text: `${spec.id} speaks version ${spec.version}`,
      });
    }
    if (spec.access === "members" && !member) {
      const lapsed = this.wasMember?.(from, nowMs) === true;
      return this.refuse(from, member, env, "forbidden", lapsed ? undefined : "forbidden", nowMs, {
        code: "forbidden",
        text: `${spec.id} is for members only`,
      });
    }
    const answer = env.kind === "response" || env.kind === "error";
    if (env.kind === "message" && spec.message === undefined) {
      return this.refuse(from, member, env, "malformed", "malformedBody", nowMs, undefined);
    }
    if (env.kind === "request") {
      if (spec.request === undefined) {
        return this.refuse(from, member, env, "malformed", "malformedBody", nowMs, {
          code: "badRequest",
          text: `${spec.id} has no requests`,
        });
      }
      const slot = this.requests.acceptInbound(from, spec, env.requestId, nowMs);
      if (slot === "duplicate") {
        // No reply: the requester would take it as the answer to its first request with this id.
        return this.refuse(from, member, env, "malformed", "malformedEnvelope", nowMs, undefined);
      }
      if (slot === "overloaded") {
        return this.refuse(from, member, env, "overloaded", "requestOverload", nowMs, {
          code: "overloaded",
          text: `more than ${spec.request.maxOutstandingPerPeer} requests outstanding`,
        });
      }
    }
    if (answer && !this.requests.isOutstanding(from, spec.code, env.requestId)) {
      const late =
        this.requests.isLateAnswer(from, spec.code, env.requestId, nowMs) ||
        this.answersPredecessor(spec, nowMs);
      return this.refuse(
        from,
        member,
        env,
        "unsolicited",
        late ? undefined : "unsolicitedResponse",
        nowMs,
        undefined,
      );
    }
    const item: InboundItem = {
      from,
      protocol: spec,
      kind: env.kind,
      requestId: env.requestId,
      // A view until admitted: a refused message costs no copy.
      body: env.body,
      error: undefined,
    };
    if (env.kind === "error") item.error = decodeErrorBody(env.body); // validated by decodeEnvelope
    // Answers are bounded by our own outstanding requests, so only the global cap applies to them.
    const admitted = this.scheduler.admit(item, member, answer, nowMs);
    if (admitted === "admitted") {
      // Copied out of the frame, so a kept 200-byte message never pins a 1 MiB frame buffer.
      item.body = copyBytes(item.body);
      if (answer) this.requests.resolve(from, spec.code, env.requestId);
      return [];
    }
    // Refused: an answer's request stays outstanding and times out; a request is told so at once.
    const actions: ChannelAction[] = [];
    if (env.kind === "request") {
      this.requests.releaseInbound(from, spec.code, env.requestId);
      actions.push(this.errorReply(from, env, spec.version, "overloaded", "inbound queue full"));
    }
    // A member whose queue is full most likely means this node is slow: shedding, not misbehaviour. A rate
    // overrun is the sender's doing whoever it is: a correct member never sends anywhere near its rate.
    if ((admitted === "budget" && !member) || admitted === "rate")
      actions.push(...this.penalize(from, "budgetOverrun", nowMs));
    if (admitted !== "globalCap") {
      const untilMs = nowMs + (admitted === "rate" ? RATE_THROTTLE_MS : QUEUE_THROTTLE_MS);
      actions.push({ type: "throttle", peer: from, untilMs });
    }
    return actions;
  }

  /** Up to `max` admitted items, round-robin over peers. Requests whose requester gave up are skipped. */
  take(max: number, nowMs: number): InboundItem[] {
    const items = this.scheduler.take(max);
    return items.filter(
      (i) =>
        i.kind !== "request" || this.requests.isPendingInbound(i.from, i.protocol.code, i.requestId, nowMs),
    );
  }

  /**
   * Decode an item's body with `codec` (the protocol's codec for the item's kind). On failure the peer is scored,
   * and a request is answered `badRequest` (or `internal` when the codec itself broke).
   */
  decodeItem<T>(item: InboundItem, codec: ChannelCodec<T>, nowMs: number): DecodeResult<T> {
    try {
      return { ok: true, value: codec.decode(item.body) };
    } catch (err) {
      const hostile = isTallyError(err);
      const error = hostile
        ? err
        : new TallyError(ErrorCode.ChannelMalformedBody, "codec failed without a TallyError", {
            protocol: item.protocol.id,
            cause: String(err),
          });
      const member = this.isMember(item.from);
      this.scheduler.countDrop(item.from, member, "malformed", item.body.length, nowMs);
      const actions: ChannelAction[] = [];
      if (item.kind === "request") {
        this.requests.releaseInbound(item.from, item.protocol.code, item.requestId);
        const env = {
          protocolCode: item.protocol.code,
          version: item.protocol.version,
          requestId: item.requestId,
        };
        actions.push(
          this.errorReply(
            item.from,
            env,
            item.protocol.version,
            hostile ? "badRequest" : "internal",
            error.message,
          ),
        );
      }
      // A codec that breaks without a TallyError is our bug, not the peer's fault.
      if (hostile) actions.push(...this.penalize(item.from, "malformedBody", nowMs));
      return { ok: false, error, actions };
    }
  }

  encodeMessage<M>(protocolId: string, msg: M): Uint8Array {
    const spec = this.registry.require(protocolId);
    if (spec.message === undefined) throw noSuchKind(spec, "messages");
    return encodeEnvelope({
      protocolCode: spec.code,
      version: spec.version,
      kind: "message",
      requestId: 0,
      body: spec.message.encode(msg),
    });
  }

  /** Open a request to `to`; refused locally with `overloaded` when too many are outstanding with that peer. */
  request<Req>(to: PeerId, protocolId: string, req: Req, nowMs: number): RequestResult {
    const spec = this.registry.require(protocolId);
    if (spec.request === undefined) throw noSuchKind(spec, "requests");
    // The slot is checked before encoding: a caller that retries every tick while an exchange is in flight
    // (a held peer's introduction, up to 66 KB) must not pay an encode for each refusal.
    if (!this.requests.canOpen(to, spec)) {
      return {
        ok: false,
        error: {
          code: "overloaded",
          text: `${spec.request.maxOutstandingPerPeer} requests outstanding with ${to}`,
        },
      };
    }
    const body = spec.request.request.encode(req);
    // Opened only once the body encoded: a codec that throws leaves no slot taken.
    const opened = this.requests.open(to, spec, nowMs)!;
    const bytes = encodeEnvelope({
      protocolCode: spec.code,
      version: spec.version,
      kind: "request",
      requestId: opened.requestId,
      body,
    });
    return { ok: true, requestId: opened.requestId, bytes };
  }

  /** Answer `to`'s request `requestId`; frees its slot. */
  encodeResponse<Res>(to: PeerId, protocolId: string, requestId: number, res: Res): Uint8Array {
    const spec = this.registry.require(protocolId);
    if (spec.request === undefined) throw noSuchKind(spec, "requests");
    this.requests.releaseInbound(to, spec.code, requestId);
    return encodeEnvelope({
      protocolCode: spec.code,
      version: spec.version,
      kind: "response",
      requestId,
      body: spec.request.response.encode(res),
    });
  }

  /** Refuse `to`'s request `requestId` with a wire error; frees its slot. */
  encodeError(
    to: PeerId,
    protocolId: string,
    requestId: number,
    code: WireErrorName,
    text: string,
  ): Uint8Array {
    const spec = this.registry.require(protocolId);
    this.requests.releaseInbound(to, spec.code, requestId);
    return encodeEnvelope({
      protocolCode: spec.code,
      version: spec.version,
      kind: "error",
      requestId,
      body: encodeErrorBody(code, text),
    });
  }

  /**
   * Score a misbehaviour the caller found (e.g. "contradiction": an answer contradicting an earlier one).
   * `count` occurrences; for `budgetOverrun` that is budget drops, scored once per `budgetDropsPerEvent`.
   */
  penalize(peer: PeerId, event: ScoreEvent, nowMs: number, count = 1): ChannelAction[] {
    const verdict = this.scores.record(peer, event, nowMs, count);
    if (verdict === undefined) return [];
    this.scheduler.purge(peer);
    this.requests.forgetInbound(peer);
    return [{ type: "disconnect", peer, untilMs: verdict.untilMs }];
  }

  isBanned(peer: PeerId, nowMs: number): boolean {
    return this.scores.isBanned(peer, nowMs);
  }

  /** Expire requests (each reported with a `timeout` error) and lift bans that ended. */
  tick(nowMs: number): { expired: ExpiredRequest[]; unbanned: PeerId[] } {
    const expired = this.requests.tick(nowMs).map((r) => {
      const protocolId = this.registry.byCode(r.protocolCode)?.id ?? String(r.protocolCode);
      const error: ChannelError = { code: "timeout", text: `no answer from ${r.to} within the timeout` };
      return { to: r.to, protocolId, requestId: r.requestId, error };
    });
    return { expired, unbanned: this.scores.tick(nowMs) };
  }

  /** Members that lost messages to budget or global-cap drops at or after `nowMs - windowMs`. */
  sheddingMembers(nowMs: number, windowMs: number): PeerId[] {
    return this.scheduler.sheddingMembers(nowMs, windowMs);
  }

  /** Admitted items waiting to be taken (cheap: for the hot path). */
  get bufferedMessages(): number {
    return this.scheduler.bufferedCount;
  }

  stats(): ChannelStats {
    return {
      ...this.scheduler.stats(),
      ...this.requests.stats(),
      scoredPeers: this.scores.trackedPeers,
      bannedPeers: this.scores.bannedPeers,
    };
  }

  peerStats(nowMs: number): PeerChannelStats[] {
    return this.scheduler.peers().map((p) => ({
      ...p,
      score: this.scores.score(p.peer, nowMs),
      bannedUntilMs: this.scores.bannedUntil(p.peer, nowMs),
    }));
  }

  /** For `GET /v1/node`. */
  protocols(): { id: string; version: number }[] {
    return this.registry.list();
  }

  /** Whether an unmatched answer may be to a request of this node's previous process (`startedMs`). */
  private answersPredecessor(spec: ProtocolSpec, nowMs: number): boolean {
    const timeoutMs = spec.request?.timeoutMs;
    return this.startedMs !== undefined && timeoutMs !== undefined && nowMs - this.startedMs < 2 * timeoutMs;
  }

  private refuse(
    from: PeerId,
    member: boolean,
    env: Envelope,
    reason: DropReason,
    event: ScoreEvent | undefined,
    nowMs: number,
    reply: { code: WireErrorName; text: string } | undefined,
  ): ChannelAction[] {
    this.scheduler.countDrop(from, member, reason, env.body.length, nowMs);
    const actions: ChannelAction[] = [];
    if (reply !== undefined && env.kind === "request") {
      const version = this.registry.byCode(env.protocolCode)?.version ?? env.version;
      actions.push(this.errorReply(from, env, version, reply.code, reply.text));
    }
    if (event !== undefined) actions.push(...this.penalize(from, event, nowMs));
    return actions;
  }

  private errorReply(
    to: PeerId,
    env: { protocolCode: number; requestId: number },
    version: number,
    code: WireErrorName,
    text: string,
  ): ChannelAction {
    const bytes = encodeEnvelope({
      protocolCode: env.protocolCode,
      version,
      kind: "error",
      requestId: env.requestId,
      body: encodeErrorBody(code, text),
    });
    return { type: "reply", to, bytes };
  }
}

/** A copy owned by the item, so a kept small message never pins the (up to 1 MiB) frame it arrived in. */
function copyBytes(view: Uint8Array): Uint8Array {
  const out = new Uint8Array(view.length);
  out.set(view);
  return out;
}

function noSuchKind(spec: ProtocolSpec, what: string): TallyError {
  return new TallyError(ErrorCode.ChannelInvalidProtocol, `protocol ${spec.id} has no ${what}`, {
    id: spec.id,
  });
}
