import type { PrivateKey } from "@libp2p/interface";
import { ByteReader } from "../../core/byteReader.ts";
import { bytesEqual } from "../../core/bytes.ts";
import { ErrorCode, TallyError } from "../../core/errors.ts";
import { ed25519KeyOfPeerId, type PeerId } from "../../core/peerId.ts";
import { sodiumVerifier } from "../../crypto/ed25519Sodium.ts";
import { encodeHostRecords, type OwnerHostRecord, readHostRecords } from "./committeeChannelMessages.ts";

/**
 * A hosting node's host records, signed by the node itself and published on the network's hosts topic
 * (gossipsub), so that the nodes of co-owners find each other without being connected: a node keeps
 * connections to its sampler's view only (100 peers), and above a few hundred nodes co-owners' nodes are
 * rarely in each other's views. The owners' signatures say who speaks for an owner; the node's signature
 * says that the node itself published this, so that relays can charge every announcement to the identity
 * it names (hostAnnouncementGate.ts) and nobody can spend another node's budget.
 *
 * Wire layout (integers big-endian):
 *   u8 version (1) · u64 issuedAtMs (≤ 2^53 − 1)
 *   u8 count (1..32) · count × host record, exactly as in the committees channel's hosts message; every
 *     record names the same host, the signer
 *   signature (64 bytes): Ed25519 by the host's peer key over "tally/kshared/hosts/v1\0" ‖ everything before it
 */
export interface HostAnnouncement {
  readonly host: PeerId;
  /** The host's Ed25519 key, read from its peer id while decoding. */
  readonly hostKey: Uint8Array;
  readonly issuedAtMs: number;
  readonly records: readonly OwnerHostRecord[];
  /** The bytes the signature covers, without the domain tag. */
  readonly body: Uint8Array;
  readonly signature: Uint8Array;
}

export const HOST_ANNOUNCEMENT_VERSION = 1;
const DOMAIN = new TextEncoder().encode("tally/kshared/hosts/v1\0");
const SIGNATURE_BYTES = 64;
/** 1 + 8 + 1 + 32 records of ≤ 265 bytes + 64: what a gossipsub validator is ever handed to decode. */
export const MAX_HOST_ANNOUNCEMENT_BYTES = 1 + 8 + 1 + 32 * (32 + 32 + 1 + 128 + 8 + 64) + SIGNATURE_BYTES;

function malformed(message: string): TallyError {
  return new TallyError(ErrorCode.ChannelMalformedBody, `host announcement: ${message}`);
}

function signingBytes(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(DOMAIN.length + body.length);
  out.set(DOMAIN, 0);
  out.set(body, DOMAIN.length);
  return out;
}

function encodeBody(records: readonly OwnerHostRecord[], issuedAtMs: number): Uint8Array {
  const head = new Uint8Array(9);
  head[0] = HOST_ANNOUNCEMENT_VERSION;
  new DataView(head.buffer).setBigUint64(1, BigInt(issuedAtMs));
  return Buffer.concat([head, ...encodeHostRecords(records)]);
}

/** The Ed25519 public key a peer id names; throws ChannelMalformedBody for anything else. */
function hostKey(host: string): Uint8Array {
  const named = ed25519KeyOfPeerId(host);
  // One spelling per host: a relay keys its budget by this string.
  if (named === undefined) throw malformed("host is not a peer id of an Ed25519 key");
  if (!named.canonical) throw malformed("host is not spelled canonically");
  return named.key;
}

/** Signs `records` (all naming this node as host) as of `issuedAtMs`. */
export async function signHostAnnouncement(
  records: readonly OwnerHostRecord[],
  issuedAtMs: number,
  privateKey: PrivateKey,
): Promise<Uint8Array> {
  if (records.length === 0) throw new TallyError(ErrorCode.InvalidField, "no host records to announce");
  const host = records[0]!.host;
  if (records.some((r) => r.host !== host))
    throw new TallyError(ErrorCode.InvalidField, "an announcement's records name one host");
  const key = hostKey(host);
  if (!bytesEqual(key, privateKey.publicKey.raw))
    throw new TallyError(ErrorCode.InvalidField, "the signing key is not the records' host");
  const body = encodeBody(records, issuedAtMs);
  const signature = await privateKey.sign(signingBytes(body));
  return Buffer.concat([body, signature]);
}

/**
 * Strict: the version, every length, the one host, and no trailing bytes; throws ChannelMalformedBody only.
 * The signature is not checked here (`hostAnnouncementSigned`): a relay first decides whether it is worth it.
 */
export function decodeHostAnnouncement(wire: Uint8Array): HostAnnouncement {
  if (wire.length > MAX_HOST_ANNOUNCEMENT_BYTES) throw malformed("too large");
  if (wire.length < 1 + 8 + 1 + SIGNATURE_BYTES) throw malformed("too short");
  const body = wire.subarray(0, wire.length - SIGNATURE_BYTES);
  const r = new ByteReader(body, malformed);
  const version = r.u8("version");
  if (version !== HOST_ANNOUNCEMENT_VERSION) throw malformed(`unknown version ${version}`);
  const issued = r.u64("issuedAtMs");
  if (issued > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed("issuedAtMs");
  const records = readHostRecords(r, malformed);
  r.end();
  if (records.length === 0) throw malformed("no records");
  const host = records[0]!.host;
  if (records.some((record) => record.host !== host)) throw malformed("records name different hosts");
  return {
    host,
    hostKey: hostKey(host),
    issuedAtMs: Number(issued),
    records,
    body,
    signature: wire.subarray(wire.length - SIGNATURE_BYTES),
  };
}

/** Whether the host's own key signed it (one Ed25519 verify). */
export function hostAnnouncementSigned(announcement: HostAnnouncement): boolean {
  return sodiumVerifier.verify(announcement.signature, signingBytes(announcement.body), announcement.hostKey);
}
