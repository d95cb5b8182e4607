import { ADDRESS_BYTES, decodeAddress } from "../core/address.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { idAt } from "../core/idStrings.ts";
import { TRANSFER_ID_BYTES } from "../core/limits.ts";
import { instanceRefAt, sourceBytesOf } from "./instance/instanceId.ts";
import type { BroadcastMessage, InstanceRef, SubscriptionLayer, VoteMessage } from "./types.ts";

/**
 * Wire form of broadcast messages: a tag byte, then either the payload bytes (send, payload, gossip) or
 * instance + digest (echo, ready, request: 1 + 33 + 8 + 32 = 74 bytes, whatever the transfer's size).
 * A vote batch (tag 6) is `6 | count | count × vote`, each vote in its own 74-byte form. A payload batch (tag 7)
 * is `7 | count | count × (tag | u16 length | payload)`, each item a send, payload or gossip message.
 * Tags 16 and up belong to the contagion mode: gossip, and subscribe/unsubscribe (2 bytes: tag, layer).
 * Retired tags are never reused.
 */
const Tag = {
  send: 1,
  echo: 2,
  ready: 3,
  request: 4,
  payload: 5,
  votes: 6,
  payloads: 7,
  gossip: 16,
  subscribe: 17,
  unsubscribe: 18,
} as const;
const LayerCode: Readonly<Record<SubscriptionLayer, number>> = { gossip: 1, echo: 2, ready: 3 };
const LAYER_OF_CODE: readonly (SubscriptionLayer | undefined)[] = [undefined, "gossip", "echo", "ready"];
/** One vote (ECHO, READY, REQUEST) on the wire: tag, source, seq, digest. */
export const VOTE_BYTES = 1 + ADDRESS_BYTES + 8 + TRANSFER_ID_BYTES;
const VOTE_BATCH_HEADER_BYTES = 2;

/**
 * Many votes (ECHO, READY, REQUEST) for one peer in one message: the node gathers what a processing step sends
 * each peer, so the envelope, admission, copy and dispatch are paid once per batch rather than once per vote.
 * A wire container only: the node hands the votes to its broadcast core one by one.
 */
export interface VoteBatch {
  readonly kind: "votes";
  readonly votes: readonly VoteMessage[];
  /**
   * The same votes already in wire form, when the sender encoded each once for all the peers it goes to: vote
   * i is the `VOTE_BYTES` at `offsets[i]` of `slab` (`writeVoteAt`), which the encoder copies instead of
   * encoding again. One buffer for a whole step's votes, not an object per vote. Never set by the decoder.
   */
  readonly encoded?: { readonly slab: Buffer; readonly offsets: readonly number[] };
}

/** A message that carries a transfer's bytes: what a payload batch holds. */
export type PayloadMessage = Extract<BroadcastMessage, { readonly payload: Uint8Array }>;

/**
 * Many payload messages (send, payload, gossip) for one peer in one message, as for votes: at saturation a
 * step introduces dozens of transfers, each gossiped to the same few peers. A wire container only: the node
 * hands the items to its core one by one, each charged one admission unit.
 */
export interface PayloadBatch {
  readonly kind: "payloads";
  readonly items: readonly PayloadMessage[];
}

/** What the broadcast channel carries: a protocol message, or a batch of votes or of payloads. */
export type BroadcastWireMessage = BroadcastMessage | VoteBatch | PayloadBatch;

/** 64 votes: 4,738 bytes, a few hundred µs of work for the receiver, and one admission unit per vote. */
export const MAX_VOTES_PER_BATCH = 64;
/** 64 payloads, and at most 64 KiB of them (a transfer is far smaller): well under a frame's message limit. */
export const MAX_PAYLOADS_PER_BATCH = 64;
export const MAX_PAYLOAD_BATCH_BYTES = 64 * 1024;
/** Tag and u16 length before each item of a payload batch. */
const PAYLOAD_ITEM_HEADER_BYTES = 3;
const PAYLOAD_BATCH_HEADER_BYTES = 2;

/** One vote in wire form (74 bytes), sent alone. */
function encodeVote(vote: VoteMessage): Uint8Array {
  const out = Buffer.allocUnsafe(VOTE_BYTES);
  writeVote(out, 0, vote);
  return out;
}

/** Writes the vote's wire form at `offset` of `out`, which must have `VOTE_BYTES` there (a batch's slab). */
export function writeVoteAt(out: Buffer, offset: number, vote: VoteMessage): void {
  if (!(offset >= 0 && offset + VOTE_BYTES <= out.length)) throw new RangeError("no room for a vote");
  writeVote(out, offset, vote);
}

export function isVote(message: BroadcastWireMessage): message is VoteMessage {
  return message.kind === "echo" || message.kind === "ready" || message.kind === "request";
}

export function isPayloadMessage(message: BroadcastWireMessage): message is PayloadMessage {
  return message.kind === "send" || message.kind === "payload" || message.kind === "gossip";
}

function malformed(message: string): TallyError {
  return new TallyError(ErrorCode.MalformedEncoding, `broadcast message: ${message}`);
}

export function encodeBroadcastMessage(message: BroadcastWireMessage): Uint8Array {
  switch (message.kind) {
    case "send":
    case "payload":
    case "gossip": {
      const out = new Uint8Array(1 + message.payload.length);
      out[0] = Tag[message.kind];
      out.set(message.payload, 1);
      return out;
    }
    case "echo":
    case "ready":
    case "request":
      return encodeVote(message);
    case "votes": {
      const count = message.votes.length;
      if (count < 1 || count > MAX_VOTES_PER_BATCH) {
        throw new TallyError(ErrorCode.InvalidField, `a vote batch holds 1..${MAX_VOTES_PER_BATCH} votes`, {
          count,
        });
      }
      const out = Buffer.allocUnsafe(VOTE_BATCH_HEADER_BYTES + count * VOTE_BYTES);
      out[0] = Tag.votes;
      out[1] = count;
      const encoded = message.encoded;
      if (encoded !== undefined && encoded.offsets.length !== count) {
        throw new TallyError(ErrorCode.InvalidField, "a vote batch's encoded votes must match its votes");
      }
      for (let i = 0; i < count; i++) {
        const at = VOTE_BATCH_HEADER_BYTES + i * VOTE_BYTES;
        if (encoded === undefined) {
          writeVote(out, at, message.votes[i]!);
          continue;
        }
        const from = encoded.offsets[i]!;
        if (!(from >= 0 && from + VOTE_BYTES <= encoded.slab.length))
          throw new TallyError(
            ErrorCode.InvalidField,
            `an encoded vote is ${VOTE_BYTES} bytes inside its slab`,
          );
        encoded.slab.copy(out, at, from, from + VOTE_BYTES);
      }
      return out;
    }
    case "payloads":
      return encodePayloadBatch(message.items);
    case "subscribe":
    case "unsubscribe":
      return Uint8Array.of(Tag[message.kind], LayerCode[message.layer]);
  }
}

/** Size on the wire of a payload batch holding `payloadBytes` of payloads in `count` items. */
export function payloadBatchBytes(count: number, payloadBytes: number): number {
  return PAYLOAD_BATCH_HEADER_BYTES + count * PAYLOAD_ITEM_HEADER_BYTES + payloadBytes;
}

function encodePayloadBatch(items: readonly PayloadMessage[]): Uint8Array {
  const count = items.length;
  if (count < 1 || count > MAX_PAYLOADS_PER_BATCH) {
    throw new TallyError(ErrorCode.InvalidField, `a payload batch holds 1..${MAX_PAYLOADS_PER_BATCH} items`, {
      count,
    });
  }
  let payloadBytes = 0;
  for (const item of items) {
    if (item.payload.length > 0xffff)
      throw new TallyError(ErrorCode.InvalidField, "a batched payload is ≤ 65,535 bytes");
    payloadBytes += item.payload.length;
  }
  const size = payloadBatchBytes(count, payloadBytes);
  if (size > MAX_PAYLOAD_BATCH_BYTES) {
    throw new TallyError(
      ErrorCode.InvalidField,
      `a payload batch is at most ${MAX_PAYLOAD_BATCH_BYTES} bytes`,
      { size },
    );
  }
  const out = Buffer.allocUnsafe(size);
  out[0] = Tag.payloads;
  out[1] = count;
  let at = PAYLOAD_BATCH_HEADER_BYTES;
  for (const item of items) {
    out[at] = Tag[item.kind];
    out.writeUInt16BE(item.payload.length, at + 1);
    out.set(item.payload, at + PAYLOAD_ITEM_HEADER_BYTES);
    at += PAYLOAD_ITEM_HEADER_BYTES + item.payload.length;
  }
  return out;
}

/** The kind of a message that carries a transfer's bytes, by its tag; undefined for any other tag. */
function payloadKindOf(tag: number | undefined): PayloadMessage["kind"] | undefined {
  return tag === Tag.send
    ? "send"
    : tag === Tag.payload
      ? "payload"
      : tag === Tag.gossip
        ? "gossip"
        : undefined;
}

/** Items are views into `bytes` (no copy), as a single payload message's is. */
function decodePayloadBatch(bytes: Uint8Array): PayloadBatch {
  if (bytes.length > MAX_PAYLOAD_BATCH_BYTES) throw malformed(`payload batch of ${bytes.length} bytes`);
  const count = bytes.length >= PAYLOAD_BATCH_HEADER_BYTES ? bytes[1]! : 0;
  if (count < 1 || count > MAX_PAYLOADS_PER_BATCH) throw malformed(`payload batch of ${count} items`);
  const items: PayloadMessage[] = new Array(count);
  let at = PAYLOAD_BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + PAYLOAD_ITEM_HEADER_BYTES > bytes.length)
      throw malformed("payload batch ends inside an item header");
    const kind = payloadKindOf(bytes[at]);
    if (kind === undefined) throw malformed(`payload batch item with tag ${bytes[at]}`);
    const length = (bytes[at + 1]! << 8) | bytes[at + 2]!;
    const start = at + PAYLOAD_ITEM_HEADER_BYTES;
    if (start + length > bytes.length) throw malformed("payload batch ends inside an item");
    items[i] = { kind, payload: bytes.subarray(start, start + length) };
    at = start + length;
  }
  if (at !== bytes.length) throw malformed(`payload batch has ${bytes.length - at} trailing bytes`);
  return { kind: "payloads", items };
}

/** Strict: unknown tags, wrong lengths and bad addresses are typed errors, never exceptions of other kinds. */
export function decodeBroadcastMessage(bytes: Uint8Array): BroadcastWireMessage {
  if (bytes.length < 1) throw malformed("empty");
  const tag = bytes[0];
  const payloadKind = payloadKindOf(tag);
  if (payloadKind !== undefined) return { kind: payloadKind, payload: bytes.subarray(1) };
  if (tag === Tag.subscribe || tag === Tag.unsubscribe) {
    if (bytes.length !== 2) throw malformed(`expected 2 bytes, got ${bytes.length}`);
    const layer = LAYER_OF_CODE[bytes[1]!];
    if (layer === undefined) throw malformed(`unknown subscription layer ${bytes[1]}`);
    return { kind: tag === Tag.subscribe ? "subscribe" : "unsubscribe", layer };
  }
  if (tag === Tag.echo || tag === Tag.ready || tag === Tag.request) {
    if (bytes.length !== VOTE_BYTES) throw malformed(`expected ${VOTE_BYTES} bytes, got ${bytes.length}`);
    return readVote(asBuffer(bytes), 0);
  }
  if (tag === Tag.votes) {
    const count = bytes.length >= VOTE_BATCH_HEADER_BYTES ? bytes[1]! : 0;
    if (count < 1 || count > MAX_VOTES_PER_BATCH) throw malformed(`vote batch of ${count} votes`);
    const expected = VOTE_BATCH_HEADER_BYTES + count * VOTE_BYTES;
    if (bytes.length !== expected) throw malformed(`expected ${expected} bytes, got ${bytes.length}`);
    const buffer = asBuffer(bytes);
    const votes: VoteMessage[] = new Array(count);
    for (let i = 0; i < count; i++) votes[i] = readVote(buffer, VOTE_BATCH_HEADER_BYTES + i * VOTE_BYTES);
    return { kind: "votes", votes };
  }
  if (tag === Tag.payloads) return decodePayloadBatch(bytes);
  throw malformed(`unknown tag ${tag}`);
}

/**
 * Admission units of an encoded message: a vote or payload batch costs one per item, anything else one, so a
 * peer's rate budget bounds the votes and payloads it makes this node handle whether it batches them or not.
 * Malformed bytes cost one (decoding refuses them later, and the sender is scored for it).
 */
export function broadcastMessageUnits(bytes: Uint8Array): number {
  if (bytes.length < 2) return 1;
  const tag = bytes[0];
  return tag === Tag.votes || tag === Tag.payloads ? Math.max(1, bytes[1]!) : 1;
}

function writeVote(out: Buffer, offset: number, vote: VoteMessage): void {
  out[offset] = Tag[vote.kind];
  writeInstance(out, offset + 1, vote.instance);
  writeDigest(out, offset + 1 + ADDRESS_BYTES + 8, vote.digest);
}

/** One Buffer view per message, so each vote's address and digest are read in place (no view per field). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function readVote(bytes: Buffer, offset: number): VoteMessage {
  const tag = bytes[offset];
  const kind =
    tag === Tag.echo ? "echo" : tag === Tag.ready ? "ready" : tag === Tag.request ? "request" : undefined;
  if (kind === undefined) throw malformed(`unknown vote tag ${tag}`);
  const instance = readInstance(bytes, offset + 1);
  const at = offset + 1 + ADDRESS_BYTES + 8;
  const digest = idAt(bytes, at);
  return { kind, instance, digest };
}

/**
 * Digests are ids the node computed (hex). A non-hex character stops Buffer's hex write short, so a wrong
 * length or a short write is a caller bug, refused as such; no regex on the hot path.
 */
function writeDigest(out: Buffer, offset: number, digest: string): void {
  if (digest.length !== 2 * TRANSFER_ID_BYTES || out.write(digest, offset, "hex") !== TRANSFER_ID_BYTES) {
    throw new TallyError(ErrorCode.InvalidField, "digest: expected 32 bytes of hex");
  }
}

/** Seqs are at most MAX_SEQ (2^53 − 1): a u64 written as two u32 halves, no BigInt on the hot path. */
function writeInstance(out: Buffer, offset: number, instance: InstanceRef): void {
  out.set(sourceBytesOf(instance) ?? decodeAddress(instance.source).bytes, offset);
  out.writeUInt32BE(Math.floor(instance.seq / 2 ** 32), offset + ADDRESS_BYTES);
  out.writeUInt32BE(instance.seq >>> 0, offset + ADDRESS_BYTES + 4);
}

function readInstance(bytes: Uint8Array, offset: number): InstanceRef {
  return instanceRefAt(bytes, offset, malformed);
}
