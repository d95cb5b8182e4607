import { ADDRESS_BYTES, addressAt, decodeAddress } from "../core/address.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { idAt } from "../core/idStrings.ts";
import { MAX_SEQ, TRANSFER_ID_BYTES } from "../core/limits.ts";
import type { BroadcastMessage, InstanceRef, SubscriptionLayer, VoteMessage } from "./types.ts";

/**
 * Wire form of broadcast messages: a tag byte, then either the payload bytes (send, payload, gossip) or
 * instance + digest (echo, ready, request: 1 + 33 + 8 + 32 = 74 bytes, whatever the transfer's size).
 * A vote batch (tag 6) is `6 | count | count × vote`, each vote in its own 74-byte form.
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
   * The same votes already in wire form (`encodeVote`), when the sender encoded each once for all the peers
   * it goes to; the encoder copies them instead of encoding again. Never set by the decoder.
   */
  readonly encoded?: readonly Uint8Array[];
}

/** What the broadcast channel carries: a protocol message, or a batch of votes. */
export type BroadcastWireMessage = BroadcastMessage | VoteBatch;

/** 64 votes: 4,738 bytes, a few hundred µs of work for the receiver, and one admission unit per vote. */
export const MAX_VOTES_PER_BATCH = 64;

/** One vote in wire form (74 bytes): what a vote batch carries, encoded once however many peers it goes to. */
export function encodeVote(vote: VoteMessage): Uint8Array {
  const out = Buffer.allocUnsafe(VOTE_BYTES);
  writeVote(out, 0, vote);
  return out;
}

export function isVote(message: BroadcastWireMessage): message is VoteMessage {
  return message.kind === "echo" || message.kind === "ready" || message.kind === "request";
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
      if (encoded !== undefined && encoded.length !== count) {
        throw new TallyError(ErrorCode.InvalidField, "a vote batch's encoded votes must match its votes");
      }
      for (let i = 0; i < count; i++) {
        const at = VOTE_BATCH_HEADER_BYTES + i * VOTE_BYTES;
        if (encoded === undefined) writeVote(out, at, message.votes[i]!);
        else if (encoded[i]!.length === VOTE_BYTES) out.set(encoded[i]!, at);
        else throw new TallyError(ErrorCode.InvalidField, `an encoded vote is ${VOTE_BYTES} bytes`);
      }
      return out;
    }
    case "subscribe":
    case "unsubscribe":
      return Uint8Array.of(Tag[message.kind], LayerCode[message.layer]);
  }
}

/** Strict: unknown tags, wrong lengths and bad addresses are typed errors, never exceptions of other kinds. */
export function decodeBroadcastMessage(bytes: Uint8Array): BroadcastWireMessage {
  if (bytes.length < 1) throw malformed("empty");
  const tag = bytes[0];
  if (tag === Tag.send || tag === Tag.payload || tag === Tag.gossip) {
    const payload = bytes.subarray(1);
    const kind = tag === Tag.send ? "send" : tag === Tag.payload ? "payload" : "gossip";
    return { kind, payload };
  }
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
  throw malformed(`unknown tag ${tag}`);
}

/**
 * Admission units of an encoded message: a vote batch costs one per vote, anything else one, so a peer's rate
 * budget bounds the votes it makes this node count whether it batches them or not. Malformed bytes cost one
 * (decoding refuses them later, and the sender is scored for it).
 */
export function broadcastMessageUnits(bytes: Uint8Array): number {
  return bytes.length >= VOTE_BATCH_HEADER_BYTES && bytes[0] === Tag.votes ? Math.max(1, bytes[1]!) : 1;
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
  out.set(decodeAddress(instance.source).bytes, offset);
  out.writeUInt32BE(Math.floor(instance.seq / 2 ** 32), offset + ADDRESS_BYTES);
  out.writeUInt32BE(instance.seq >>> 0, offset + ADDRESS_BYTES + 4);
}

function readInstance(bytes: Uint8Array, offset: number): InstanceRef {
  let source: string;
  try {
    source = addressAt(bytes, offset);
  } catch (e) {
    throw malformed(`bad source: ${(e as Error).message}`);
  }
  const at = offset + ADDRESS_BYTES;
  const high = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
  const low =
    ((bytes[at + 4]! << 24) | (bytes[at + 5]! << 16) | (bytes[at + 6]! << 8) | bytes[at + 7]!) >>> 0;
  const seq = high * 2 ** 32 + low;
  // high ≥ 2^21 means seq ≥ 2^53: beyond MAX_SEQ, and no longer exact as a double.
  if (high >= 2 ** 21 || seq < 1 || seq > MAX_SEQ) throw malformed("seq out of range");
  return { source, seq };
}
