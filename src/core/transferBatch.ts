import { ErrorCode, TallyError } from "./errors.ts";

/**
 * The binary body of `POST /v1/transfers:batch` (`content-type: application/octet-stream`): each transfer's
 * canonical encoding (the bytes peers gossip) preceded by its length as a 4-byte big-endian integer, back to
 * back, nothing else. It spares a client the JSON view and the node the JSON parse, the schema check and the
 * re-encoding of every item; each item is then decoded by the same strict decoder a peer's payload meets.
 */
export const BATCH_LENGTH_BYTES = 4;

/** Frames encoded transfers as one binary batch body. */
export function encodeTransferBatch(items: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const item of items) size += BATCH_LENGTH_BYTES + item.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const item of items) {
    view.setUint32(at, item.length);
    out.set(item, at + BATCH_LENGTH_BYTES);
    at += BATCH_LENGTH_BYTES + item.length;
  }
  return out;
}

/**
 * Splits a binary batch body into its items (views into `body`, not copies), or throws
 * `MALFORMED_ENCODING` for a body that is not a whole number of well-framed, non-empty items, or that holds
 * more than `maxItems` or none. The items themselves are not looked at here.
 */
export function splitTransferBatch(body: Uint8Array, maxItems: number): Uint8Array[] {
  const items: Uint8Array[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 0;
  while (at < body.length) {
    if (items.length === maxItems) throw invalidBatch(`more than ${maxItems} transfers`);
    if (body.length - at < BATCH_LENGTH_BYTES) throw invalidBatch(`a truncated length at byte ${at}`);
    const length = view.getUint32(at);
    const start = at + BATCH_LENGTH_BYTES;
    if (length === 0) throw invalidBatch(`an empty item at byte ${at}`);
    if (length > body.length - start) {
      throw invalidBatch(`item ${items.length} claims ${length} bytes, ${body.length - start} are left`);
    }
    items.push(body.subarray(start, start + length));
    at = start + length;
  }
  if (items.length === 0) throw invalidBatch("no transfers");
  return items;
}

function invalidBatch(what: string): TallyError {
  return new TallyError(ErrorCode.MalformedEncoding, `binary batch: ${what}`);
}
