import type { PeerId } from "../core/peerId.ts";
import { MAX_REQUEST_ID } from "./envelope.ts";
import { Fifo } from "./fifo.ts";
import type { ProtocolSpec } from "./protocolSpec.ts";

/**
 * Bookkeeping of requests in both directions. Sans-I/O: deadlines come from the caller's `nowMs`, and `tick`
 * reports what expired.
 *
 * Outgoing: ids are u32, never 0, wrapping, unique among our outstanding requests; each (peer, protocol) has at
 * most `maxOutstandingPerPeer` of them; an answer matches by (peer, protocol, id). A request that timed out
 * is remembered for one more timeout so that its late answer is dropped quietly instead of scored as unsolicited.
 *
 * Inbound: a peer may have at most `maxOutstandingPerPeer` of our answers pending per protocol. A slot is freed
 * when we answer or, if the node never does, after the protocol's timeout (the requester gave up by then).
 */
export interface OutgoingRequest {
  to: PeerId;
  protocolCode: number;
  requestId: number;
  openedMs: number;
  deadlineMs: number;
}

export interface PendingInbound {
  from: PeerId;
  protocolCode: number;
  requestId: number;
  deadlineMs: number;
}

/** Late answers remembered at most; beyond this they are scored like any unsolicited answer. */
const MAX_REMEMBERED_EXPIRED = 65_536;

export class RequestTracker {
  private nextId: number;
  private readonly outgoing = new Map<number, OutgoingRequest>();
  private readonly outgoingCount = new Map<string, number>();
  private readonly outgoingDeadlines = new Map<number, Fifo<OutgoingRequest>>();
  private readonly expired = new Map<string, number>();
  private readonly expiredOrder = new Fifo<{ key: string; untilMs: number }>();

  private readonly inbound = new Map<string, PendingInbound>();
  private readonly inboundCount = new Map<string, number>();
  private readonly inboundDeadlines = new Map<number, Fifo<PendingInbound>>();

  /** `firstId` lets tests start near the wrap-around. */
  constructor(firstId = 1) {
    this.nextId = firstId >= 1 && firstId <= MAX_REQUEST_ID ? Math.floor(firstId) : 1;
  }

  /** Whether `open(to, spec)` would succeed now. */
  canOpen(to: PeerId, spec: ProtocolSpec): boolean {
    const req = spec.request;
    return (
      req !== undefined && (this.outgoingCount.get(peerKey(spec.code, to)) ?? 0) < req.maxOutstandingPerPeer
    );
  }

  /** Register a request to `to`; undefined when the (peer, protocol) bound is reached. */
  open(to: PeerId, spec: ProtocolSpec, nowMs: number): OutgoingRequest | undefined {
    const req = spec.request;
    if (req === undefined) return undefined;
    const countKey = peerKey(spec.code, to);
    const count = this.outgoingCount.get(countKey) ?? 0;
    if (count >= req.maxOutstandingPerPeer) return undefined;
    let id = this.nextId;
    while (this.outgoing.has(id)) id = id === MAX_REQUEST_ID ? 1 : id + 1;
    this.nextId = id === MAX_REQUEST_ID ? 1 : id + 1;
    const entry: OutgoingRequest = {
      to,
      protocolCode: spec.code,
      requestId: id,
      openedMs: nowMs,
      deadlineMs: nowMs + req.timeoutMs,
    };
    this.outgoing.set(id, entry);
    this.outgoingCount.set(countKey, count + 1);
    fifoFor(this.outgoingDeadlines, spec.code).push(entry);
    return entry;
  }

  isOutstanding(from: PeerId, protocolCode: number, requestId: number): boolean {
    const entry = this.outgoing.get(requestId);
    return entry !== undefined && entry.to === from && entry.protocolCode === protocolCode;
  }

  /** Close a matched request; false when (from, protocol, id) is not outstanding. */
  resolve(from: PeerId, protocolCode: number, requestId: number): boolean {
    if (!this.isOutstanding(from, protocolCode, requestId)) return false;
    this.closeOutgoing(this.outgoing.get(requestId)!);
    return true;
  }

  /** An answer to a request of ours that already timed out (not a sign of misbehaviour). */
  isLateAnswer(from: PeerId, protocolCode: number, requestId: number, nowMs: number): boolean {
    const until = this.expired.get(answerKey(protocolCode, requestId, from));
    return until !== undefined && until > nowMs;
  }

  /** Take a slot for an inbound request; "overloaded" when the peer's bound is reached. */
  acceptInbound(
    from: PeerId,
    spec: ProtocolSpec,
    requestId: number,
    nowMs: number,
  ): "accepted" | "overloaded" | "duplicate" {
    const req = spec.request;
    if (req === undefined) return "overloaded";
    const key = answerKey(spec.code, requestId, from);
    if (this.inbound.has(key)) return "duplicate";
    const countKey = peerKey(spec.code, from);
    const count = this.inboundCount.get(countKey) ?? 0;
    if (count >= req.maxOutstandingPerPeer) return "overloaded";
    const entry: PendingInbound = {
      from,
      protocolCode: spec.code,
      requestId,
      deadlineMs: nowMs + req.timeoutMs,
    };
    this.inbound.set(key, entry);
    this.inboundCount.set(countKey, count + 1);
    fifoFor(this.inboundDeadlines, spec.code).push(entry);
    return "accepted";
  }

  /** Whether we still owe `from` an answer to `requestId` at `nowMs` (false once its requester gave up). */
  isPendingInbound(from: PeerId, protocolCode: number, requestId: number, nowMs: number): boolean {
    const entry = this.inbound.get(answerKey(protocolCode, requestId, from));
    return entry !== undefined && entry.deadlineMs > nowMs;
  }

  /** Free the slot of an inbound request we answered (or refused); false if it was not pending. */
  releaseInbound(from: PeerId, protocolCode: number, requestId: number): boolean {
    const entry = this.inbound.get(answerKey(protocolCode, requestId, from));
    if (entry === undefined) return false;
    this.closeInbound(entry);
    return true;
  }

  /** Free every inbound slot of `peer` (it was banned; its requests will not be answered). */
  forgetInbound(peer: PeerId): void {
    for (const entry of this.inbound.values()) if (entry.from === peer) this.closeInbound(entry);
  }

  /** Expire outgoing requests and inbound slots whose deadline is at or before `nowMs`. */
  tick(nowMs: number): OutgoingRequest[] {
    const expired: OutgoingRequest[] = [];
    for (const fifo of this.outgoingDeadlines.values()) {
      for (let e = fifo.peek(); e !== undefined && e.deadlineMs <= nowMs; e = fifo.peek()) {
        fifo.shift();
        if (this.outgoing.get(e.requestId) !== e) continue; // answered already
        this.closeOutgoing(e);
        expired.push(e);
        if (this.expired.size < MAX_REMEMBERED_EXPIRED) {
          const key = answerKey(e.protocolCode, e.requestId, e.to);
          const untilMs = nowMs + (e.deadlineMs - e.openedMs);
          this.expired.set(key, untilMs);
          this.expiredOrder.push({ key, untilMs });
        }
      }
    }
    for (const fifo of this.inboundDeadlines.values()) {
      for (let e = fifo.peek(); e !== undefined && e.deadlineMs <= nowMs; e = fifo.peek()) {
        fifo.shift();
        if (this.inbound.get(answerKey(e.protocolCode, e.requestId, e.from)) === e) this.closeInbound(e);
      }
    }
    for (
      let x = this.expiredOrder.peek();
      x !== undefined && x.untilMs <= nowMs;
      x = this.expiredOrder.peek()
    ) {
      this.expiredOrder.shift();
      if (this.expired.get(x.key) === x.untilMs) this.expired.delete(x.key);
    }
    return expired;
  }

  stats(): { outstandingRequests: number; pendingInboundRequests: number } {
    return { outstandingRequests: this.outgoing.size, pendingInboundRequests: this.inbound.size };
  }

  private closeOutgoing(entry: OutgoingRequest): void {
    this.outgoing.delete(entry.requestId);
    decrement(this.outgoingCount, peerKey(entry.protocolCode, entry.to));
  }

  private closeInbound(entry: PendingInbound): void {
    this.inbound.delete(answerKey(entry.protocolCode, entry.requestId, entry.from));
    decrement(this.inboundCount, peerKey(entry.protocolCode, entry.from));
  }
}

// Peer ids are base58/base32 text; "\n" never occurs in them, so these keys cannot collide.
function peerKey(code: number, peer: PeerId): string {
  return `${code}\n${peer}`;
}

function answerKey(code: number, requestId: number, peer: PeerId): string {
  return `${code}\n${requestId}\n${peer}`;
}

function fifoFor<T>(map: Map<number, Fifo<T>>, code: number): Fifo<T> {
  let fifo = map.get(code);
  if (fifo === undefined) {
    fifo = new Fifo<T>();
    map.set(code, fifo);
  }
  return fifo;
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 0) - 1;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}
