import { hash } from "node:crypto";
import {
  decodeSharedAuthorization,
  encodeSharedAuthorization,
  MAX_SHARED_AUTHORIZATION_BYTES,
  type SharedAuthorization,
} from "../kshared/sharedAuthorization.ts";
import { ADDRESS_BYTES, AddressVersion, addressFromBytes, decodeAddress } from "./address.ts";
import { ByteReader } from "./byteReader.ts";
import { bytesEqual, compareBytes } from "./bytes.ts";
import { ErrorCode, TallyError } from "./errors.ts";
import { idAt, internId } from "./idStrings.ts";
import {
  MAX_AMOUNT,
  MAX_DEPS,
  MAX_MEMO_BYTES,
  MAX_NETWORK_ID_BYTES,
  MAX_OUTPUTS,
  MAX_SEQ,
  NETWORK_ID_RE,
  SIGNATURE_BYTES,
  TRANSFER_FORMAT_VERSION,
  TRANSFER_ID_BYTES,
} from "./limits.ts";

export interface TransferOutput {
  /** Recipient address (bech32m, `tly1…`). */
  readonly to: string;
  readonly amount: bigint;
}

/** The fields an owner signs. */
export interface UnsignedTransfer {
  readonly version: number;
  readonly network: string;
  readonly source: string;
  readonly seq: number;
  /** Strictly ascending by recipient address bytes, so one transfer has one encoding. */
  readonly outputs: readonly TransferOutput[];
  /** Ids (lowercase hex) of incoming transfers this one consumes; strictly ascending. */
  readonly deps: readonly string[];
  readonly memo?: string | undefined;
}

export interface Transfer extends UnsignedTransfer {
  /** ed25519 signature by the source key over the transfer body; empty for a shared source. */
  readonly signature: Uint8Array;
  /**
   * Only for a shared (address version 1) source, which has no key to sign with: its definition and
   * its owners' commit certificate over (source, seq, id).
   */
  readonly sharedAuthorization?: SharedAuthorization;
}

/**
 * A transfer together with its canonical bytes. Decoding produces one of these, so the id is
 * hashed once and the signed body is never re-encoded on the hot path.
 */
export interface EncodedTransfer {
  readonly transfer: Transfer;
  /** SHA-256 of `body`, lowercase hex. */
  readonly id: string;
  /** The signed bytes: everything but the signature. */
  readonly body: Uint8Array;
  /** `body` followed by the signature (or a shared source's authorization): what travels between nodes. */
  readonly bytes: Uint8Array;
}

const textEncoder = new TextEncoder();
const MAX_SEQ_BIG = BigInt(MAX_SEQ);
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function malformed(message: string): TallyError {
  return new TallyError(ErrorCode.MalformedEncoding, message);
}

function nonCanonical(message: string): TallyError {
  return new TallyError(ErrorCode.NonCanonical, message);
}

/** Checks every rule of the format that does not need the signature (encoder and JSON reader). */
export function checkUnsignedTransfer(t: UnsignedTransfer): void {
  if (t.version !== TRANSFER_FORMAT_VERSION) {
    throw new TallyError(ErrorCode.UnsupportedVersion, `unsupported transfer version ${t.version}`);
  }
  if (typeof t.network !== "string" || !NETWORK_ID_RE.test(t.network)) {
    throw new TallyError(
      ErrorCode.InvalidField,
      "network: 1-32 characters of [a-z0-9-], starting with [a-z0-9]",
    );
  }
  const source = decodeAddress(t.source);
  if (!Number.isSafeInteger(t.seq) || t.seq < 1 || t.seq > MAX_SEQ) {
    throw new TallyError(ErrorCode.InvalidField, `seq: an integer from 1 to ${MAX_SEQ}`);
  }
  if (!Array.isArray(t.outputs) || t.outputs.length < 1 || t.outputs.length > MAX_OUTPUTS) {
    throw new TallyError(ErrorCode.LimitExceeded, `outputs: 1 to ${MAX_OUTPUTS} entries`);
  }
  checkOutputs(
    source.bytes,
    t.outputs.map((o) => decodeAddress(o.to).bytes),
    t.outputs.map((o) => o.amount),
  );
  if (!Array.isArray(t.deps) || t.deps.length > MAX_DEPS) {
    throw new TallyError(ErrorCode.LimitExceeded, `deps: at most ${MAX_DEPS} entries`);
  }
  for (const dep of t.deps) {
    if (typeof dep !== "string" || !/^[0-9a-f]{64}$/.test(dep)) {
      throw new TallyError(ErrorCode.InvalidField, "deps: each must be 64 lowercase hex characters");
    }
  }
  checkDepsOrder(t.deps);
  if (t.memo !== undefined) {
    if (typeof t.memo !== "string") throw new TallyError(ErrorCode.InvalidField, "memo: must be a string");
    if (textEncoder.encode(t.memo).length > MAX_MEMO_BYTES) {
      throw new TallyError(ErrorCode.LimitExceeded, `memo: at most ${MAX_MEMO_BYTES} UTF-8 bytes`);
    }
  }
}

/** Outputs: strictly ascending by recipient bytes (one encoding per transfer), never the source, 1 ≤ amount. */
function checkOutputs(
  source: Uint8Array,
  recipients: readonly Uint8Array[],
  amounts: readonly bigint[],
): void {
  let total = 0n;
  for (let i = 0; i < recipients.length; i++) {
    const to = recipients[i]!;
    if (compareBytes(to, source) === 0) {
      throw new TallyError(ErrorCode.InvalidField, "outputs: a transfer cannot pay its own source");
    }
    if (i > 0 && compareBytes(recipients[i - 1]!, to) >= 0) {
      throw nonCanonical("outputs: must be strictly ascending by recipient (no duplicates)");
    }
    const amount = amounts[i];
    if (typeof amount !== "bigint" || amount < 1n || amount > MAX_AMOUNT) {
      throw new TallyError(ErrorCode.InvalidField, "outputs: amount must be an integer from 1 to 2^128-1");
    }
    total += amount;
  }
  if (total > MAX_AMOUNT) throw new TallyError(ErrorCode.InvalidField, "outputs: total exceeds 2^128-1");
}

function checkDepsOrder(deps: readonly string[]): void {
  // Lowercase hex of equal length sorts like the bytes it spells.
  for (let i = 1; i < deps.length; i++) {
    if (deps[i - 1]! >= deps[i]!) throw nonCanonical("deps: must be strictly ascending (no duplicates)");
  }
}

/**
 * Body layout (all integers big-endian):
 *   u8 version | u8 len, network | 33 source | u64 seq
 *   | u8 count, count × (33 to | u128 amount) | u16 count, count × 32 dep id | u8 len, memo
 * The full encoding appends the 64-byte signature, or for a shared source (address version 1)
 * u16 length ‖ definition ‖ requester ‖ commit certificate.
 */
export function encodeTransferBody(t: UnsignedTransfer): Uint8Array {
  checkUnsignedTransfer(t);
  const network = textEncoder.encode(t.network);
  const memo = textEncoder.encode(t.memo ?? "");
  const size =
    1 +
    1 +
    network.length +
    ADDRESS_BYTES +
    8 +
    1 +
    t.outputs.length * (ADDRESS_BYTES + 16) +
    2 +
    t.deps.length * TRANSFER_ID_BYTES +
    1 +
    memo.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let o = 0;
  out[o++] = t.version;
  out[o++] = network.length;
  out.set(network, o);
  o += network.length;
  out.set(decodeAddress(t.source).bytes, o);
  o += ADDRESS_BYTES;
  view.setBigUint64(o, BigInt(t.seq));
  o += 8;
  out[o++] = t.outputs.length;
  for (const output of t.outputs) {
    out.set(decodeAddress(output.to).bytes, o);
    o += ADDRESS_BYTES;
    view.setBigUint64(o, output.amount >> 64n);
    view.setBigUint64(o + 8, output.amount & 0xffff_ffff_ffff_ffffn);
    o += 16;
  }
  view.setUint16(o, t.deps.length);
  o += 2;
  for (const dep of t.deps) {
    out.set(Buffer.from(dep, "hex"), o);
    o += TRANSFER_ID_BYTES;
  }
  out[o++] = memo.length;
  out.set(memo, o);
  return out;
}

/**
 * SHA-256 of the body, lowercase hex (node's one-shot hash: ~9× @noble's for a body of this size), spelled
 * through the id cache so the votes and deps naming it share its string.
 */
export function transferIdOfBody(body: Uint8Array): string {
  return internId(hash("sha256", body, "hex"));
}

/** Attaches a signature to a body produced by `encodeTransferBody` (single-key sources only). */
export function assembleTransfer(
  t: UnsignedTransfer,
  body: Uint8Array,
  signature: Uint8Array,
): EncodedTransfer {
  if (body[sourceVersionOffset(body)] !== AddressVersion.Ed25519) {
    throw new TallyError(
      ErrorCode.InvalidField,
      "a shared source is authorized by its owners' certificate, not a signature",
    );
  }
  if (signature.length !== SIGNATURE_BYTES) {
    throw new TallyError(ErrorCode.InvalidField, `signature must be ${SIGNATURE_BYTES} bytes`);
  }
  const bytes = new Uint8Array(body.length + SIGNATURE_BYTES);
  bytes.set(body);
  bytes.set(signature, body.length);
  const transfer: Transfer = {
    ...t,
    outputs: [...t.outputs],
    deps: [...t.deps],
    signature: new Uint8Array(signature),
  };
  return { transfer, id: transferIdOfBody(body), body: bytes.subarray(0, body.length), bytes };
}

/**
 * Attaches a shared source's authorization to a body produced by `encodeTransferBody`:
 * body ‖ u16 length ‖ definition ‖ requester ‖ certificate.
 */
export function assembleSharedTransfer(
  t: UnsignedTransfer,
  body: Uint8Array,
  authorization: SharedAuthorization,
): EncodedTransfer {
  if (body[sourceVersionOffset(body)] !== AddressVersion.SharedAccount) {
    throw new TallyError(ErrorCode.InvalidField, "only a shared source carries a shared authorization");
  }
  const field = encodeSharedAuthorization(authorization);
  const bytes = new Uint8Array(body.length + 2 + field.length);
  bytes.set(body);
  new DataView(bytes.buffer).setUint16(body.length, field.length);
  bytes.set(field, body.length + 2);
  // Re-decoded rather than copied: the transfer then holds exactly what any node reads from these bytes.
  const { definition, requester, certificate } = decodeSharedAuthorization(field);
  const transfer: Transfer = {
    ...t,
    outputs: [...t.outputs],
    deps: [...t.deps],
    signature: new Uint8Array(0),
    sharedAuthorization: { definition, requester, certificate },
  };
  return { transfer, id: transferIdOfBody(body), body: bytes.subarray(0, body.length), bytes };
}

/** The source's address version byte sits after the format version and the length-prefixed network. */
function sourceVersionOffset(body: Uint8Array): number {
  return 2 + (body[1] ?? 0);
}

/**
 * `decodeAddress(transfer.source).bytes` without the bech32 decode on the hot path: the signed body holds the
 * same 33 bytes, and a decoded transfer's source was spelled from them (so the comparison is a cache hit). An
 * `EncodedTransfer` put together by hand whose body names another source gets the named source's bytes, as
 * before: a key must never vouch for an account the transfer does not name.
 */
export function sourceBytesOf(encoded: EncodedTransfer): Uint8Array {
  const at = sourceVersionOffset(encoded.body);
  const bytes = encoded.body.subarray(at, at + ADDRESS_BYTES);
  const version = bytes[0];
  if (
    bytes.length === ADDRESS_BYTES &&
    (version === AddressVersion.Ed25519 || version === AddressVersion.SharedAccount) &&
    addressFromBytes(bytes) === encoded.transfer.source
  ) {
    return bytes;
  }
  return decodeAddress(encoded.transfer.source).bytes;
}

export function encodeTransfer(t: Transfer): EncodedTransfer {
  const body = encodeTransferBody(t);
  if (decodeAddress(t.source).version === AddressVersion.SharedAccount) {
    if (t.signature.length !== 0) {
      throw new TallyError(ErrorCode.InvalidField, "a shared source carries no signature");
    }
    if (t.sharedAuthorization === undefined) {
      throw new TallyError(ErrorCode.InvalidField, "a shared source needs its owners' certificate");
    }
    return assembleSharedTransfer(t, body, t.sharedAuthorization);
  }
  if (t.sharedAuthorization !== undefined) {
    throw new TallyError(ErrorCode.InvalidField, "a single-key source is authorized by a signature only");
  }
  return assembleTransfer(t, body, t.signature);
}

/** The network id last decoded, with its bytes: a node decodes one network's transfers all day. */
let lastNetwork: { readonly bytes: Uint8Array; readonly id: string } | undefined;

/**
 * A network id's bytes as its string, checked; the same string object as last time for the same bytes. A
 * decoded transfer lives until its delivery, and a string decoded afresh per transfer was ≈ 35 bytes of it (and
 * a call into the decoder).
 */
function networkAt(bytes: Uint8Array): string {
  const last = lastNetwork;
  if (last !== undefined && bytesEqual(last.bytes, bytes)) return last.id;
  let id: string;
  try {
    id = textDecoder.decode(bytes);
  } catch {
    throw malformed("network is not UTF-8");
  }
  if (!NETWORK_ID_RE.test(id)) throw malformed("network id has characters outside [a-z0-9-]");
  // A copy: `bytes` is a view of the caller's buffer, which may be reused.
  lastNetwork = { bytes: Uint8Array.from(bytes), id };
  return id;
}

/**
 * Strict decoder for untrusted bytes. Rejects (with a TallyError) anything that is not the unique
 * canonical encoding of a well-formed transfer; allocates at most what the limits allow.
 */
export function decodeTransfer(input: Uint8Array): EncodedTransfer {
  if (!(input instanceof Uint8Array)) throw malformed("expected bytes");
  const r = new ByteReader(input, malformed);
  const version = r.u8("version");
  if (version !== TRANSFER_FORMAT_VERSION) {
    throw new TallyError(ErrorCode.UnsupportedVersion, `unsupported transfer version ${version}`);
  }
  const networkLength = r.u8("network length");
  if (networkLength < 1 || networkLength > MAX_NETWORK_ID_BYTES)
    throw malformed("network length out of range");
  const network = networkAt(r.bytes(networkLength, "network"));
  const sourceBytes = r.bytes(ADDRESS_BYTES, "source");
  const source = decodeAddressBytes(sourceBytes, "source");
  const seq = r.u64("seq");
  if (seq < 1n || seq > MAX_SEQ_BIG) throw malformed(`seq out of range 1..${MAX_SEQ}`);
  const outputCount = r.u8("output count");
  if (outputCount < 1 || outputCount > MAX_OUTPUTS) {
    throw new TallyError(ErrorCode.LimitExceeded, `output count must be 1..${MAX_OUTPUTS}`);
  }
  const outputs: TransferOutput[] = new Array(outputCount);
  const recipients: Uint8Array[] = new Array(outputCount);
  const amounts: bigint[] = new Array(outputCount);
  for (let i = 0; i < outputCount; i++) {
    const toBytes = r.bytes(ADDRESS_BYTES, "output address");
    const to = decodeAddressBytes(toBytes, "output address");
    const amount = (r.u64("amount") << 64n) | r.u64("amount");
    recipients[i] = toBytes;
    amounts[i] = amount;
    outputs[i] = { to, amount };
  }
  checkOutputs(sourceBytes, recipients, amounts);
  const depCount = r.u16("dep count");
  if (depCount > MAX_DEPS)
    throw new TallyError(ErrorCode.LimitExceeded, `dep count must be at most ${MAX_DEPS}`);
  // Sized up front: a decoded transfer lives until its delivery, and an array grown by `push` from empty keeps
  // room for 17 ids (≈ 130 bytes more than one or two need).
  const deps: string[] = new Array(depCount);
  for (let i = 0; i < depCount; i++) deps[i] = idAt(r.bytes(TRANSFER_ID_BYTES, "dep"), 0);
  checkDepsOrder(deps);
  const memoLength = r.u8("memo length");
  if (memoLength > MAX_MEMO_BYTES)
    throw new TallyError(ErrorCode.LimitExceeded, `memo must be at most ${MAX_MEMO_BYTES} bytes`);
  let memo: string | undefined;
  if (memoLength > 0) {
    try {
      memo = textDecoder.decode(r.bytes(memoLength, "memo"));
    } catch (e) {
      if (e instanceof TallyError) throw e;
      throw malformed("memo is not valid UTF-8");
    }
  }
  const bodyLength = r.position;
  const body = input.subarray(0, bodyLength);
  if (sourceBytes[0] === AddressVersion.SharedAccount) {
    const length = r.u16("shared authorization length");
    if (length > MAX_SHARED_AUTHORIZATION_BYTES) {
      throw new TallyError(
        ErrorCode.LimitExceeded,
        `shared authorization must be at most ${MAX_SHARED_AUTHORIZATION_BYTES} bytes`,
      );
    }
    const sharedAuthorization = decodeSharedAuthorization(r.bytes(length, "shared authorization"));
    if (r.remaining !== 0) throw malformed(`${r.remaining} trailing bytes`);
    const transfer: Transfer = {
      version,
      network,
      source,
      seq: Number(seq),
      outputs,
      deps,
      memo,
      signature: new Uint8Array(0),
      sharedAuthorization,
    };
    return {
      transfer,
      id: transferIdOfBody(body),
      body,
      bytes: input,
    };
  }
  // A view, like `body`: the decoded transfer keeps `input` alive either way.
  const signature = r.bytes(SIGNATURE_BYTES, "signature");
  if (r.remaining !== 0) throw malformed(`${r.remaining} trailing bytes`);
  const transfer: Transfer = { version, network, source, seq: Number(seq), outputs, deps, memo, signature };
  return {
    transfer,
    id: transferIdOfBody(body),
    body,
    bytes: input,
  };
}

function decodeAddressBytes(bytes: Uint8Array, what: string): string {
  try {
    return addressFromBytes(bytes);
  } catch (e) {
    throw malformed(`${what}: ${(e as Error).message}`);
  }
}

/** Sum of all outputs: what the source pays. */
export function transferTotal(t: UnsignedTransfer): bigint {
  let total = 0n;
  for (const o of t.outputs) total += o.amount;
  return total;
}
