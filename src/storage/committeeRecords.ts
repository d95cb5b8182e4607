import { decodeCommitteeMessage, encodeCommitteeMessage } from "../kshared/committeeCodec.ts";
import type { CommitteeMessage, CommitteeRecord } from "../kshared/committeeTypes.ts";
import type { NumberedRecord } from "../kshared/recordRetention.ts";
import { Bucket, key, range, sortableNumber } from "./buckets.ts";
import type { BatchOp, NodeDatabase } from "./database.ts";

/**
 * A hosted shared account's committee records, in the order the committee emitted them (a counter per
 * account): `restore` replays them after a restart. Each is a kind byte and the committee wire encoding of
 * the message it mirrors (a `decided` record: u32 length ‖ certificate message ‖ optional request message).
 * The driver deletes the records restore no longer needs in the batch that makes them useless
 * (src/kshared/recordRetention.ts), so an account holds at most 151 of them.
 */
export const committeeRecords = {
  put(accountHex: string, counter: number, record: CommitteeRecord): BatchOp {
    return { type: "put", key: recordKey(accountHex, counter), value: encodeRecord(record) };
  },

  del(accountHex: string, counter: number): BatchOp {
    return { type: "del", key: recordKey(accountHex, counter) };
  },

  /** The account's records by counter, ascending, and the counter after the last. */
  async load(db: NodeDatabase, accountHex: string): Promise<{ entries: NumberedRecord[]; next: number }> {
    const entries: NumberedRecord[] = [];
    let next = 0;
    for await (const [k, bytes] of db.iterator(range(Bucket.committeeRecord, accountHex))) {
      const counter = Number(k.slice(k.lastIndexOf("/") + 1));
      entries.push({ counter, record: decodeRecord(bytes) });
      next = counter + 1;
    }
    return { entries, next };
  },
};

function recordKey(accountHex: string, counter: number): string {
  return key(Bucket.committeeRecord, accountHex, sortableNumber(counter));
}

function tagged(tag: number, message: CommitteeMessage): Uint8Array {
  const body = encodeCommitteeMessage(message);
  const out = new Uint8Array(1 + body.length);
  out[0] = tag;
  out.set(body, 1);
  return out;
}

export function encodeRecord(record: CommitteeRecord): Uint8Array {
  switch (record.kind) {
    case "request":
      return tagged(1, { kind: "request", request: record.request });
    case "vote":
      return tagged(2, { kind: "vote", vote: record.vote });
    case "timeout":
      return tagged(3, { kind: "timeout", vote: record.vote, highPrepare: record.highPrepare });
    case "proposal":
      return tagged(4, { ...record, kind: "propose" });
    case "lock":
      return tagged(5, { kind: "certificate", certificate: record.certificate });
    case "decided": {
      const certificate = encodeCommitteeMessage({ kind: "certificate", certificate: record.certificate });
      const request =
        record.request === null
          ? new Uint8Array(0)
          : encodeCommitteeMessage({ kind: "request", request: record.request });
      const out = new Uint8Array(5 + certificate.length + request.length);
      out[0] = 6;
      new DataView(out.buffer).setUint32(1, certificate.length);
      out.set(certificate, 5);
      out.set(request, 5 + certificate.length);
      return out;
    }
  }
}

export function decodeRecord(bytes: Uint8Array): CommitteeRecord {
  const tag = bytes[0];
  if (tag === 6) {
    const length = new DataView(bytes.buffer, bytes.byteOffset + 1, 4).getUint32(0);
    const certificate = decodeCommitteeMessage(bytes.subarray(5, 5 + length));
    const rest = bytes.subarray(5 + length);
    const request = rest.length === 0 ? null : decodeCommitteeMessage(rest);
    if (certificate.kind !== "certificate" || (request !== null && request.kind !== "request"))
      throw new Error("committee record: bad decided record");
    return {
      kind: "decided",
      certificate: certificate.certificate,
      request: request === null ? null : request.request,
    };
  }
  const m = decodeCommitteeMessage(bytes.subarray(1));
  if (tag === 1 && m.kind === "request") return { kind: "request", request: m.request };
  if (tag === 2 && m.kind === "vote") return { kind: "vote", vote: m.vote };
  if (tag === 3 && m.kind === "timeout") return { kind: "timeout", vote: m.vote, highPrepare: m.highPrepare };
  if (tag === 4 && m.kind === "propose") {
    const { kind: _kind, ...rest } = m;
    return { kind: "proposal", ...rest };
  }
  if (tag === 5 && m.kind === "certificate") return { kind: "lock", certificate: m.certificate };
  throw new Error(`committee record: unknown tag ${tag}`);
}
