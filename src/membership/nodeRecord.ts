import { publicKeyFromRaw } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPublicKey } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { ByteReader } from "../core/byteReader.ts";
import { bytesEqual, fromHex, toHex } from "../core/bytes.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { MAX_NETWORK_ID_BYTES, MAX_SEQ, NETWORK_ID_RE } from "../core/limits.ts";
import { canonicalPeerId, ed25519KeyOfPeerId, type PeerId } from "../core/peerId.ts";
import { sodiumVerifier } from "../crypto/ed25519Sodium.ts";
import { checkIdentityProof, IDENTITY_NONCE_BYTES } from "./identityProof.ts";

/**
 * A node record: a node's signed claim "I am <peer id>, reachable at <addrs>, on <network>, until <time>",
 * with the proof of work that paid for the identity. Nodes of an open network announce and relay these.
 *
 * Wire layout (integers big-endian; docs/membership.md "Node records" has the table):
 *   u8 version (1)
 *   u8 networkLength (1..32) · network (ASCII, NETWORK_ID_RE)
 *   genesis hash (32 bytes)
 *   Ed25519 public key (32 bytes; the peer id is derived from it, so only Ed25519 identities exist)
 *   u64 seq (≤ 2^53-1) · u64 expiresAtMs (≤ 2^53-1) · identity nonce (8 bytes)
 *   u8 addrCount (0..8) · addrCount × (u16 length (1..256) · multiaddr in its binary form)
 *   signature (64 bytes): Ed25519 over "tally/node-record/v1" ‖ everything before it
 * At most 2,048 bytes in all. One encoding per record: no trailing bytes, multiaddrs in their canonical
 * binary form and distinct.
 */
export interface NodeRecord {
  readonly peerId: PeerId;
  readonly addrs: readonly string[];
  readonly network: string;
  /** SHA-256 of the genesis, 64 lowercase hex characters. */
  readonly genesisHash: string;
  /** Grows with every new record the node signs; the highest one wins. */
  readonly seq: number;
  readonly expiresAtMs: number;
  readonly identityNonce: Uint8Array;
}

export type RecordRejection =
  | "malformed"
  | "badSignature"
  | "wrongNetwork"
  | "expired"
  | "tooFarInFuture"
  | "badIdentityProof";

export interface RecordContext {
  readonly network: string;
  readonly genesisHash: string;
  readonly difficulty: number;
  readonly nowMs: number;
  /** The genesis's record TTL: a record may not claim to be valid longer than this from now. */
  readonly maxTtlMs: number;
}

export const NODE_RECORD_VERSION = 1;
export const MAX_RECORD_ADDRS = 8;
export const MAX_RECORD_ADDR_BYTES = 256;
export const MAX_SIGNED_RECORD_BYTES = 2048;
export const RECORD_SIGNATURE_BYTES = 64;
const KEY_BYTES = 32;
const GENESIS_HASH_BYTES = 32;
const SIGNING_DOMAIN = new TextEncoder().encode("tally/node-record/v1");
const ascii = new TextEncoder();

function malformed(message: string): TallyError {
  return new TallyError(ErrorCode.NodeRecordMalformed, `node record: ${message}`);
}

function invalid(message: string): TallyError {
  return new TallyError(ErrorCode.InvalidField, `node record: ${message}`);
}

/** The raw Ed25519 key inside an Ed25519 peer id (identity multihash), or an InvalidField error. */
function ed25519Key(peerId: PeerId): Uint8Array {
  const named = ed25519KeyOfPeerId(peerId);
  if (named === undefined) throw invalid(`not a peer id of an Ed25519 key: ${peerId}`);
  return named.key;
}

function isSafeCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0 && n <= MAX_SEQ;
}

function addrBytes(addr: string, index: number): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = multiaddr(addr).bytes;
  } catch (e) {
    throw invalid(`addrs[${index}] is not a multiaddr: ${(e as Error).message}`);
  }
  if (bytes.length === 0 || bytes.length > MAX_RECORD_ADDR_BYTES) {
    throw invalid(`addrs[${index}] must be 1..${MAX_RECORD_ADDR_BYTES} bytes in binary form`);
  }
  if (multiaddr(bytes).toString() !== addr) throw invalid(`addrs[${index}] is not in canonical form`);
  return bytes;
}

/** The canonical unsigned body. Throws InvalidField for a record no decoder would accept. */
export function encodeNodeRecord(record: NodeRecord): Uint8Array {
  if (!NETWORK_ID_RE.test(record.network)) throw invalid("network id is not a short lowercase name");
  const genesis = fromHex(record.genesisHash, GENESIS_HASH_BYTES, "node record genesisHash");
  const key = ed25519Key(record.peerId);
  if (!isSafeCount(record.seq)) throw invalid("seq must be an integer in 0..2^53-1");
  if (!isSafeCount(record.expiresAtMs)) throw invalid("expiresAtMs must be an integer in 0..2^53-1");
  if (record.identityNonce.length !== IDENTITY_NONCE_BYTES) throw invalid("identity nonce must be 8 bytes");
  if (record.addrs.length > MAX_RECORD_ADDRS) throw invalid(`at most ${MAX_RECORD_ADDRS} addrs`);
  if (new Set(record.addrs).size !== record.addrs.length) throw invalid("addrs must be distinct");
  const addrs = record.addrs.map(addrBytes);
  const network = ascii.encode(record.network);
  const size =
    2 +
    network.length +
    GENESIS_HASH_BYTES +
    KEY_BYTES +
    16 +
    IDENTITY_NONCE_BYTES +
    1 +
    addrs.reduce((sum, a) => sum + 2 + a.length, 0);
  if (size + RECORD_SIGNATURE_BYTES > MAX_SIGNED_RECORD_BYTES) {
    throw invalid(`signed record would exceed ${MAX_SIGNED_RECORD_BYTES} bytes`);
  }
  const body = new Uint8Array(size);
  const view = new DataView(body.buffer);
  let at = 0;
  const put = (bytes: Uint8Array): void => {
    body.set(bytes, at);
    at += bytes.length;
  };
  body[at++] = NODE_RECORD_VERSION;
  body[at++] = network.length;
  put(network);
  put(genesis);
  put(key);
  view.setBigUint64(at, BigInt(record.seq));
  view.setBigUint64(at + 8, BigInt(record.expiresAtMs));
  at += 16;
  put(record.identityNonce);
  body[at++] = addrs.length;
  for (const a of addrs) {
    view.setUint16(at, a.length);
    at += 2;
    put(a);
  }
  return body;
}

function signingMessage(body: Uint8Array): Uint8Array {
  const message = new Uint8Array(SIGNING_DOMAIN.length + body.length);
  message.set(SIGNING_DOMAIN, 0);
  message.set(body, SIGNING_DOMAIN.length);
  return message;
}

/** Body ‖ Ed25519 signature by `privateKey`, which must be the record's own peer key. */
export async function signNodeRecord(record: NodeRecord, privateKey: PrivateKey): Promise<Uint8Array> {
  const body = encodeNodeRecord(record);
  if (!bytesEqual(privateKey.publicKey.raw, ed25519Key(record.peerId))) {
    throw invalid("the signing key is not the record's peer key");
  }
  const signature = await privateKey.sign(signingMessage(body));
  const wire = new Uint8Array(body.length + signature.length);
  wire.set(body, 0);
  wire.set(signature, body.length);
  return wire;
}

function readCount(reader: ByteReader, what: string): number {
  const value = reader.u64(what);
  if (value > BigInt(MAX_SEQ)) throw malformed(`${what} exceeds 2^53-1`);
  return Number(value);
}

function readAddr(reader: ByteReader, index: number): string {
  const length = reader.u16(`addrs[${index}] length`);
  if (length === 0 || length > MAX_RECORD_ADDR_BYTES) {
    throw malformed(`addrs[${index}] must be 1..${MAX_RECORD_ADDR_BYTES} bytes`);
  }
  const bytes = reader.bytes(length, `addrs[${index}]`);
  let text: string;
  try {
    text = multiaddr(bytes).toString();
    // A spelling the library would not produce itself is a second encoding of the same address.
    if (!bytesEqual(multiaddr(text).bytes, bytes)) throw new Error("not canonical");
  } catch (e) {
    throw malformed(`addrs[${index}] is not a canonical multiaddr: ${(e as Error).message}`);
  }
  return text;
}

/**
 * Strict decode of signed wire bytes; checks form only, not the signature or the network (verifyNodeRecord
 * does). Throws NodeRecordMalformed for anything else, TallyError only. `body` and `signature` are views of
 * `bytes`.
 */
export function decodeSignedNodeRecord(bytes: Uint8Array): {
  record: NodeRecord;
  body: Uint8Array;
  signature: Uint8Array;
} {
  const { record, body, signature } = decodeWithKey(bytes);
  return { record, body, signature };
}

interface DecodedRecord {
  readonly record: NodeRecord;
  readonly body: Uint8Array;
  readonly signature: Uint8Array;
  /** The raw Ed25519 key the peer id was derived from, for the signature check. */
  readonly publicKey: Uint8Array;
}

function decodeWithKey(bytes: Uint8Array): DecodedRecord {
  if (bytes.length > MAX_SIGNED_RECORD_BYTES) throw malformed(`more than ${MAX_SIGNED_RECORD_BYTES} bytes`);
  if (bytes.length < RECORD_SIGNATURE_BYTES) throw malformed("shorter than a signature");
  const body = bytes.subarray(0, bytes.length - RECORD_SIGNATURE_BYTES);
  const signature = bytes.subarray(bytes.length - RECORD_SIGNATURE_BYTES);
  const reader = new ByteReader(body, malformed);
  const version = reader.u8("version");
  if (version !== NODE_RECORD_VERSION) throw malformed(`unknown version ${version}`);
  const networkLength = reader.u8("network length");
  if (networkLength < 1 || networkLength > MAX_NETWORK_ID_BYTES)
    throw malformed("network length out of range");
  const network = String.fromCharCode(...reader.bytes(networkLength, "network"));
  if (!NETWORK_ID_RE.test(network)) throw malformed("network id is not a short lowercase name");
  const genesisHash = toHex(reader.bytes(GENESIS_HASH_BYTES, "genesis hash"));
  const key = reader.bytes(KEY_BYTES, "public key");
  const seq = readCount(reader, "seq");
  const expiresAtMs = readCount(reader, "expiresAtMs");
  const identityNonce = new Uint8Array(reader.bytes(IDENTITY_NONCE_BYTES, "identity nonce"));
  const addrCount = reader.u8("addr count");
  if (addrCount > MAX_RECORD_ADDRS) throw malformed(`more than ${MAX_RECORD_ADDRS} addrs`);
  const addrs: string[] = [];
  for (let i = 0; i < addrCount; i++) addrs.push(readAddr(reader, i));
  reader.end();
  if (new Set(addrs).size !== addrs.length) throw malformed("addrs must be distinct");
  const peerId = canonicalPeerId(peerIdFromPublicKey(publicKeyFromRaw(new Uint8Array(key))).toString());
  return {
    record: { peerId, addrs, network, genesisHash, seq, expiresAtMs, identityNonce },
    body,
    signature,
    publicKey: key,
  };
}

/**
 * Everything a node checks before it keeps or relays a record, cheapest first so junk costs little:
 * form, network, time window, proof of work (one hash), and last the signature (~50 µs). `ctx.genesisHash`
 * and `ctx.difficulty` are the node's own genesis values.
 */
export function verifyNodeRecord(
  bytes: Uint8Array,
  ctx: RecordContext,
): { ok: true; record: NodeRecord } | { ok: false; reason: RecordRejection } {
  let decoded: DecodedRecord;
  try {
    decoded = decodeWithKey(bytes);
  } catch (e) {
    if (e instanceof TallyError) return { ok: false, reason: "malformed" };
    throw e;
  }
  const { record, body, signature, publicKey } = decoded;
  if (record.network !== ctx.network || record.genesisHash !== ctx.genesisHash) {
    return { ok: false, reason: "wrongNetwork" };
  }
  if (record.expiresAtMs <= ctx.nowMs) return { ok: false, reason: "expired" };
  if (record.expiresAtMs > ctx.nowMs + ctx.maxTtlMs) return { ok: false, reason: "tooFarInFuture" };
  if (!checkIdentityProof(record.peerId, ctx.genesisHash, record.identityNonce, ctx.difficulty)) {
    return { ok: false, reason: "badIdentityProof" };
  }
  if (!sodiumVerifier.verify(signature, signingMessage(body), publicKey)) {
    return { ok: false, reason: "badSignature" };
  }
  return { ok: true, record };
}
