import { ByteReader } from "../../core/byteReader.ts";
import { ErrorCode, TallyError } from "../../core/errors.ts";
import { MAX_WIRE_PROPOSAL_BYTES } from "../../kshared/committeeCodec.ts";

/**
 * One owner's signed word: "owner `owner` of shared account `account` is run by node `host` until
 * `expiresAtMs`". Committee messages for that account are accepted only from that host, as that owner.
 */
export interface OwnerHostRecord {
  readonly account: Uint8Array;
  readonly owner: Uint8Array;
  readonly host: string;
  readonly expiresAtMs: number;
  readonly signature: Uint8Array;
}

export type CommitteeChannelMessage =
  | { readonly kind: "hosts"; readonly records: readonly OwnerHostRecord[] }
  /** `payload` is an encoded CommitteeMessage, decoded (strictly) only once the sender is known as a host. */
  | { readonly kind: "committee"; readonly account: Uint8Array; readonly payload: Uint8Array };

export const ACCOUNT_ID_BYTES = 32;
/** Records per hosts message: a node hosts a few accounts; 32 covers one full 32-owner account. */
export const MAX_HOST_RECORDS_PER_MESSAGE = 32;
/** A peer id's text (base58 of an identity multihash) is ~52 characters. */
export const MAX_HOST_ID_BYTES = 128;
/** A committee message: a proposal (≤ 64 KiB) with a justify and an entry certificate fits well within this. */
export const MAX_COMMITTEE_PAYLOAD_BYTES = MAX_WIRE_PROPOSAL_BYTES + 16 * 1024;

const HOST_DOMAIN = new TextEncoder().encode("tally/kshared/host/v1\0");
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The bytes an owner signs for a host record (own domain tag: never a vote, request or transfer). */
export function hostRecordSigningBytes(r: Omit<OwnerHostRecord, "signature">): Uint8Array {
  const host = encoder.encode(r.host);
  const out = new Uint8Array(HOST_DOMAIN.length + 32 + 32 + 1 + host.length + 8);
  let o = 0;
  out.set(HOST_DOMAIN, o);
  o += HOST_DOMAIN.length;
  out.set(r.account, o);
  o += 32;
  out.set(r.owner, o);
  o += 32;
  out[o++] = host.length;
  out.set(host, o);
  o += host.length;
  new DataView(out.buffer).setBigUint64(o, BigInt(r.expiresAtMs));
  return out;
}

function malformed(message: string): TallyError {
  return new TallyError(ErrorCode.ChannelMalformedBody, `committees: ${message}`);
}

export function encodeCommitteeChannelMessage(m: CommitteeChannelMessage): Uint8Array {
  if (m.kind === "committee") {
    const out = new Uint8Array(1 + ACCOUNT_ID_BYTES + m.payload.length);
    out[0] = 2;
    out.set(m.account, 1);
    out.set(m.payload, 1 + ACCOUNT_ID_BYTES);
    return out;
  }
  return Buffer.concat([Uint8Array.of(1), ...encodeHostRecords(m.records)]);
}

/** A hosts message's records after its kind byte (also an announcement's, hostAnnouncement.ts): count u8 · records. */
export function encodeHostRecords(records: readonly OwnerHostRecord[]): Uint8Array[] {
  // The decoder refuses more (and the count is one byte): a caller bug, not something to send and be scored for.
  if (records.length > MAX_HOST_RECORDS_PER_MESSAGE)
    throw new TallyError(
      ErrorCode.InvalidField,
      `at most ${MAX_HOST_RECORDS_PER_MESSAGE} host records per message`,
    );
  const parts: Uint8Array[] = [Uint8Array.of(records.length)];
  for (const r of records) {
    const host = encoder.encode(r.host);
    const fixed = new Uint8Array(32 + 32 + 1 + host.length + 8);
    fixed.set(r.account, 0);
    fixed.set(r.owner, 32);
    fixed[64] = host.length;
    fixed.set(host, 65);
    new DataView(fixed.buffer).setBigUint64(65 + host.length, BigInt(r.expiresAtMs));
    parts.push(fixed, r.signature);
  }
  return parts;
}

/** Strict: every length checked before it is read, trailing bytes refused; throws ChannelMalformedBody only. */
export function decodeCommitteeChannelMessage(bytes: Uint8Array): CommitteeChannelMessage {
  const r = new ByteReader(bytes, malformed);
  const kind = r.u8("kind");
  if (kind === 2) {
    const account = r.bytes(ACCOUNT_ID_BYTES, "account");
    if (r.remaining === 0 || r.remaining > MAX_COMMITTEE_PAYLOAD_BYTES) throw malformed("payload size");
    return { kind: "committee", account, payload: r.bytes(r.remaining, "payload") };
  }
  if (kind !== 1) throw malformed(`unknown kind ${kind}`);
  const records = readHostRecords(r, malformed);
  if (r.remaining !== 0) throw malformed(`${r.remaining} trailing bytes`);
  return { kind: "hosts", records };
}

/** The inverse of `encodeHostRecords`; `malformed` names the caller's error. */
export function readHostRecords(
  r: ByteReader,
  malformed: (message: string) => TallyError,
): OwnerHostRecord[] {
  const count = r.u8("record count");
  if (count > MAX_HOST_RECORDS_PER_MESSAGE) throw malformed("too many records");
  const records: OwnerHostRecord[] = [];
  for (let i = 0; i < count; i++) {
    const account = r.bytes(32, "account");
    const owner = r.bytes(32, "owner");
    const hostLength = r.u8("host length");
    if (hostLength === 0 || hostLength > MAX_HOST_ID_BYTES) throw malformed("host length");
    let host: string;
    try {
      host = decoder.decode(r.bytes(hostLength, "host"));
    } catch (e) {
      if (e instanceof TallyError) throw e;
      throw malformed("host is not UTF-8");
    }
    const expires = r.u64("expiresAtMs");
    if (expires > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed("expiresAtMs");
    const signature = r.bytes(64, "signature");
    records.push({ account, owner, host, expiresAtMs: Number(expires), signature });
  }
  return records;
}

export const committeeChannelCodec = {
  encode: encodeCommitteeChannelMessage,
  decode: decodeCommitteeChannelMessage,
};
