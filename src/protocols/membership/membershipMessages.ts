import type { ChannelCodec } from "../../channels/protocolSpec.ts";
import { ByteReader } from "../../core/byteReader.ts";
import { ErrorCode, TallyError } from "../../core/errors.ts";

/**
 * The membership exchange (one sampler round): the asker pushes signed node records — its own and its view's
 * — and the answer pulls the peer's. Records stay opaque here: each is verified (signature, network, expiry,
 * identity proof) by the membership core before it can enter anything.
 *
 * Layout: u8 n (0..MAX_EXCHANGED_RECORDS) · n × (u16 length (1..MAX_RECORD_WIRE_BYTES) · bytes). Request and
 * response share it. The decoder is strict: no trailing bytes, only TallyError.
 */
export const MAX_EXCHANGED_RECORDS = 64;
/** A signed node record is at most 2 KiB (8 addresses of ≤ 256 bytes, the rest fixed-size). */
export const MAX_RECORD_WIRE_BYTES = 2_048;

export interface RecordList {
  readonly records: readonly Uint8Array[];
}

function malformed(message: string): TallyError {
  return new TallyError(ErrorCode.MalformedEncoding, `membership message: ${message}`);
}

export function encodeRecordList(list: RecordList): Uint8Array {
  const { records } = list;
  if (records.length > MAX_EXCHANGED_RECORDS) throw malformed(`more than ${MAX_EXCHANGED_RECORDS} records`);
  let size = 1;
  for (const r of records) {
    if (r.length === 0 || r.length > MAX_RECORD_WIRE_BYTES) throw malformed("record length out of range");
    size += 2 + r.length;
  }
  const out = new Uint8Array(size);
  out[0] = records.length;
  let at = 1;
  for (const r of records) {
    out[at] = r.length >> 8;
    out[at + 1] = r.length & 0xff;
    out.set(r, at + 2);
    at += 2 + r.length;
  }
  return out;
}

export function decodeRecordList(bytes: Uint8Array): RecordList {
  const reader = new ByteReader(bytes, malformed);
  const n = reader.u8("record count");
  if (n > MAX_EXCHANGED_RECORDS) throw malformed(`more than ${MAX_EXCHANGED_RECORDS} records`);
  const records: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const length = reader.u16("record length");
    if (length === 0 || length > MAX_RECORD_WIRE_BYTES) throw malformed("record length out of range");
    // Copied: a record may be kept (record book) long after the frame it came in is gone.
    records.push(reader.bytes(length, "record").slice());
  }
  reader.end();
  return { records };
}

export const recordListCodec: ChannelCodec<RecordList> = {
  encode: encodeRecordList,
  decode: decodeRecordList,
};
