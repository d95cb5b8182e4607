import { ADDRESS_BYTES, addressFromBytes, decodeAddress } from "../core/address.ts";
import { fromHex, toHex } from "../core/bytes.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { MAX_SEQ, TRANSFER_ID_BYTES } from "../core/limits.ts";
import type { BroadcastMessage, InstanceRef } from "./types.ts";

/**
 * Wire form of broadcast messages: a tag byte, then either the payload bytes (send, payload) or
 * instance + digest (echo, ready, request: 1 + 33 + 8 + 32 = 74 bytes, whatever the transfer's size).
 * Tags 16 and up are reserved for the contagion mode's subscription messages.
 */
const Tag = { send: 1, echo: 2, ready: 3, request: 4, payload: 5 } as const;
const VOTE_BYTES = 1 + ADDRESS_BYTES + 8 + TRANSFER_ID_BYTES;

function malformed(message: string): TallyError {
  return new TallyError(ErrorCode.MalformedEncoding, `broadcast message: ${message}`);
}

export function encodeBroadcastMessage(message: BroadcastMessage): Uint8Array {
  switch (message.kind) {
    case "send":
    case "payload": {
      const out = new Uint8Array(1 + message.payload.length);
      out[0] = Tag[message.kind];
      out.set(message.payload, 1);
      return out;
    }
    case "echo":
    case "ready":
    case "request": {
      const out = new Uint8Array(VOTE_BYTES);
      out[0] = Tag[message.kind];
      writeInstance(out, 1, message.instance);
      out.set(fromHex(message.digest, TRANSFER_ID_BYTES, "digest"), 1 + ADDRESS_BYTES + 8);
      return out;
    }
  }
}

/** Strict: unknown tags, wrong lengths and bad addresses are typed errors, never exceptions of other kinds. */
export function decodeBroadcastMessage(bytes: Uint8Array): BroadcastMessage {
  if (bytes.length < 1) throw malformed("empty");
  const tag = bytes[0];
  if (tag === Tag.send || tag === Tag.payload) {
    const payload = bytes.subarray(1);
    return tag === Tag.send ? { kind: "send", payload } : { kind: "payload", payload };
  }
  if (tag === Tag.echo || tag === Tag.ready || tag === Tag.request) {
    if (bytes.length !== VOTE_BYTES) throw malformed(`expected ${VOTE_BYTES} bytes, got ${bytes.length}`);
    const instance = readInstance(bytes, 1);
    const digest = toHex(bytes.subarray(1 + ADDRESS_BYTES + 8));
    const kind = tag === Tag.echo ? "echo" : tag === Tag.ready ? "ready" : "request";
    return { kind, instance, digest };
  }
  throw malformed(`unknown tag ${tag}`);
}

function writeInstance(out: Uint8Array, offset: number, instance: InstanceRef): void {
  out.set(decodeAddress(instance.source).bytes, offset);
  new DataView(out.buffer, out.byteOffset).setBigUint64(offset + ADDRESS_BYTES, BigInt(instance.seq));
}

function readInstance(bytes: Uint8Array, offset: number): InstanceRef {
  let source: string;
  try {
    source = addressFromBytes(bytes.subarray(offset, offset + ADDRESS_BYTES));
  } catch (e) {
    throw malformed(`bad source: ${(e as Error).message}`);
  }
  const seq = new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(offset + ADDRESS_BYTES);
  if (seq < 1n || seq > BigInt(MAX_SEQ)) throw malformed("seq out of range");
  return { source, seq: Number(seq) };
}
