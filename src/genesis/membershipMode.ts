import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { isRecord } from "../core/jsonShape.ts";

/**
 * How a network knows its members. "static": the genesis lists every member (a permissioned devnet).
 * "open": anyone who pays the identity proof of work may join; new nodes find the network through the
 * bootstrap addresses and learn each other from signed node records (docs/membership.md).
 */
export type MembershipConfig = { readonly mode: "static" } | OpenMembership;

export interface OpenMembership {
  readonly mode: "open";
  /** Dial addresses of well-known nodes, each ending in `/p2p/<peerId>`. */
  readonly bootstrap: readonly string[];
  /** Leading zero bits the identity proof must have (0..32). */
  readonly identityDifficulty: number;
  /** How long a node record stays valid after its signer made it. */
  readonly recordTtlSeconds: number;
  /** How often a node re-announces its record; under half the TTL so one lost announcement is survivable. */
  readonly recordRefreshSeconds: number;
}

/** Defaults for a public network: ~0.4 s of one core per identity at 20 bits (docs/membership.md). */
export const DEFAULT_IDENTITY_DIFFICULTY = 20;
export const DEFAULT_RECORD_TTL_SECONDS = 600;
export const DEFAULT_RECORD_REFRESH_SECONDS = 120;
export const MAX_IDENTITY_DIFFICULTY = 32;
/** A day: a record valid longer would outlive most operators' reaction to a leaked key. */
export const MAX_RECORD_TTL_SECONDS = 86_400;
const MAX_BOOTSTRAP_ADDRS = 64;
const MAX_BOOTSTRAP_ADDR_CHARS = 512;
const OPEN_KEYS = new Set([
  "mode",
  "bootstrap",
  "identityDifficulty",
  "recordTtlSeconds",
  "recordRefreshSeconds",
]);

function invalid(message: string): TallyError {
  return new TallyError(ErrorCode.InvalidGenesis, `genesis: ${message}`);
}

function integerIn(value: unknown, fallback: number, min: number, max: number, field: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(`membership.${field} must be an integer in ${min}..${max}`);
  }
  return value;
}

function parseBootstrap(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalid("membership.bootstrap must list at least one multiaddr ending in /p2p/<peerId>");
  }
  if (value.length > MAX_BOOTSTRAP_ADDRS)
    throw invalid(`membership.bootstrap: at most ${MAX_BOOTSTRAP_ADDRS}`);
  return value.map((addr: unknown, i: number) => {
    const field = `membership.bootstrap[${i}]`;
    if (typeof addr !== "string" || addr.length === 0 || addr.length > MAX_BOOTSTRAP_ADDR_CHARS) {
      throw invalid(`${field} must be a multiaddr string`);
    }
    let peer: string | undefined;
    try {
      peer = multiaddr(addr)
        .getComponents()
        .findLast((c) => c.name === "p2p")?.value;
    } catch (e) {
      throw invalid(`${field} is not a multiaddr: ${(e as Error).message}`);
    }
    if (peer === undefined) throw invalid(`${field} must end in /p2p/<peerId>`);
    try {
      peerIdFromString(peer);
    } catch {
      throw invalid(`${field}: "${peer}" is not a peer id`);
    }
    return addr;
  });
}

/** Validates the genesis's `membership` field; absent means static (every older genesis). */
export function parseMembership(value: unknown): MembershipConfig {
  if (value === undefined) return { mode: "static" };
  if (!isRecord(value)) throw invalid("membership must be an object");
  if (value.mode === "static") {
    if (Object.keys(value).length !== 1) throw invalid('membership: "static" takes no other fields');
    return { mode: "static" };
  }
  if (value.mode !== "open") throw invalid(`membership.mode must be "static" or "open"`);
  for (const key of Object.keys(value)) {
    if (!OPEN_KEYS.has(key)) throw invalid(`membership: unknown field "${key}"`);
  }
  const bootstrap = parseBootstrap(value.bootstrap);
  const identityDifficulty = integerIn(
    value.identityDifficulty,
    DEFAULT_IDENTITY_DIFFICULTY,
    0,
    MAX_IDENTITY_DIFFICULTY,
    "identityDifficulty",
  );
  const recordTtlSeconds = integerIn(
    value.recordTtlSeconds,
    DEFAULT_RECORD_TTL_SECONDS,
    1,
    MAX_RECORD_TTL_SECONDS,
    "recordTtlSeconds",
  );
  const recordRefreshSeconds = integerIn(
    value.recordRefreshSeconds,
    DEFAULT_RECORD_REFRESH_SECONDS,
    1,
    MAX_RECORD_TTL_SECONDS,
    "recordRefreshSeconds",
  );
  // Two refreshes per TTL: a record survives one lost announcement before peers forget the node.
  if (2 * recordRefreshSeconds >= recordTtlSeconds) {
    throw invalid("membership.recordRefreshSeconds must be under half of recordTtlSeconds");
  }
  return { mode: "open", bootstrap, identityDifficulty, recordTtlSeconds, recordRefreshSeconds };
}
