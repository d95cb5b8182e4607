import { ErrorCode, TallyError } from "../core/errors.ts";
import { MAX_PROTOCOL_CODE, MAX_PROTOCOL_VERSION, MIN_PROTOCOL_CODE } from "./envelope.ts";

/**
 * What a protocol declares to share a peer connection: its wire code, who may talk to it, how much of its
 * traffic a node buffers per peer, and the codecs of its bodies. See docs/channels.md for how to pick each.
 */
export type ProtocolAccess = "members" | "anyone";

/**
 * Bound of one peer's traffic for one protocol: its queue (bytes are charged as body length +
 * `ITEM_OVERHEAD_BYTES`), and the sustained rate at which its messages are admitted (a token bucket holding one
 * second of rate, or the queue bound if smaller; a message costs its codec's `units`, one by default). The queue bounds memory; the rate bounds the share of the processing loop a peer can
 * take when nobody else has work, and with it the garbage a flood makes the node collect.
 */
export interface InboundBudget {
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  maxMessagesPerSecond: number;
}

/** Body codec. `decode` gets hostile bytes and must throw only `TallyError` (e.g. `ChannelMalformedBody`). */
export interface ChannelCodec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
  /**
   * Admission units of an encoded body (one-way messages only; default 1): a body that carries many items
   * (a batch of votes) takes that many tokens of the peer's rate budget. Reads hostile bytes: must not throw,
   * and must return an integer ≥ 1.
   */
  units?(bytes: Uint8Array): number;
}

export interface RequestSpec<Req, Res> {
  request: ChannelCodec<Req>;
  response: ChannelCodec<Res>;
  /** How long a requester waits for the answer; also how long a responder keeps an unanswered request's slot. */
  timeoutMs: number;
  /** Requests one peer may have outstanding with another for this protocol, in each direction. */
  maxOutstandingPerPeer: number;
}

export interface ProtocolSpec<M = unknown, Req = unknown, Res = unknown> {
  /** Stable name, lowercase: "broadcast", "membership", "sync". Listed by `GET /v1/node`. */
  id: string;
  /** Wire code 1..255, unique per node; never reused for a different protocol. */
  code: number;
  /** Wire version 0..255; a peer speaking another version is answered `unsupportedVersion`. */
  version: number;
  access: ProtocolAccess;
  budget: { member: InboundBudget; stranger: InboundBudget };
  /** One-way messages (kind 0); absent when the protocol has none. */
  message?: ChannelCodec<M>;
  /** Request/response (kinds 1–3); absent when the protocol has none. */
  request?: RequestSpec<Req, Res>;
}

/** Every queued item costs bookkeeping beyond its body; charging it keeps floods of tiny messages bounded too. */
export const ITEM_OVERHEAD_BYTES = 64;

/**
 * A member's broadcast traffic: ~32k messages cover several seconds of full-rate gossip from one peer while the
 * loop is busy (the outbound queue holds 64k / 16 MiB); 8 MiB per peer keeps 8 flooding members within the
 * 64 MiB global cap.
 */
export const MEMBER_BROADCAST_BUDGET: Readonly<InboundBudget> = {
  maxQueuedMessages: 32_768,
  maxQueuedBytes: 8 * 1024 * 1024,
  // Units are messages, and votes inside a vote batch. A correct member sends a peer about three units per
  // transfer (gossip or send, echo, ready; now and then a pull): 20,000/s is ~6,000 transfers/s, twice what
  // one node verifies. The burst is one second of it. A member whose sender queue for us backed up past that
  // (a long partition under load) loses the excess and is scored for it; retransmission recovers the votes.
  maxMessagesPerSecond: 20_000,
};

/** A stranger gets a trickle: enough for a hello and a few requests, never enough to matter. */
export const STRANGER_BUDGET: Readonly<InboundBudget> = {
  maxQueuedMessages: 256,
  maxQueuedBytes: 64 * 1024,
  maxMessagesPerSecond: 100,
};

const PROTOCOL_ID_RE = /^[a-z][a-z0-9-]{0,31}$/;

export function validateProtocolSpec(spec: ProtocolSpec): void {
  const bad = (reason: string): never => {
    throw new TallyError(ErrorCode.ChannelInvalidProtocol, `protocol ${String(spec.id)}: ${reason}`, {
      id: spec.id,
      code: spec.code,
    });
  };
  if (typeof spec.id !== "string" || !PROTOCOL_ID_RE.test(spec.id)) bad("id must match [a-z][a-z0-9-]{0,31}");
  if (!isIntIn(spec.code, MIN_PROTOCOL_CODE, MAX_PROTOCOL_CODE)) bad("code must be an integer in 1..255");
  if (!isIntIn(spec.version, 0, MAX_PROTOCOL_VERSION)) bad("version must be an integer in 0..255");
  if (spec.access !== "members" && spec.access !== "anyone") bad('access must be "members" or "anyone"');
  if (!isBudget(spec.budget?.member)) bad("member budget must be positive integers");
  if (!isBudget(spec.budget?.stranger)) bad("stranger budget must be positive integers");
  if (spec.message === undefined && spec.request === undefined)
    bad("needs a message codec or a request spec");
  const req = spec.request;
  if (req !== undefined) {
    if (!isIntIn(req.timeoutMs, 1, 3_600_000)) bad("request timeoutMs must be an integer in 1..3,600,000");
    if (!isIntIn(req.maxOutstandingPerPeer, 1, 65_536)) bad("maxOutstandingPerPeer must be in 1..65,536");
  }
}

function isBudget(b: InboundBudget | undefined): boolean {
  return (
    b !== undefined &&
    isIntIn(b.maxQueuedMessages, 1, Number.MAX_SAFE_INTEGER) &&
    isIntIn(b.maxQueuedBytes, 1, Number.MAX_SAFE_INTEGER) &&
    isIntIn(b.maxMessagesPerSecond, 1, Number.MAX_SAFE_INTEGER)
  );
}

function isIntIn(n: number, min: number, max: number): boolean {
  return Number.isInteger(n) && n >= min && n <= max;
}
