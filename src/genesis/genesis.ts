import { sha256 } from "@noble/hashes/sha2.js";
import type { ContagionParams } from "../broadcast/contagion/contagionParams.ts";
import { decodeAddress } from "../core/address.ts";
import { toHex } from "../core/bytes.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { isRecord } from "../core/jsonShape.ts";
import { MAX_AMOUNT, NETWORK_ID_RE } from "../core/limits.ts";
import { canonicalPeerId } from "../core/peerId.ts";
import { type MembershipConfig, type OpenMembership, parseMembership } from "./membershipMode.ts";

export type { MembershipConfig, OpenMembership } from "./membershipMode.ts";

export interface GenesisBalance {
  readonly address: string;
  readonly amount: bigint;
}

export type BroadcastConfig =
  | { readonly mode: "bracha" }
  | { readonly mode: "contagion"; readonly params: ContagionParams };

/** A node of a permissioned devnet's static member list. */
export interface GenesisMember {
  readonly peerId: string;
  readonly multiaddrs: readonly string[];
}

export interface Genesis {
  readonly network: string;
  readonly balances: readonly GenesisBalance[];
  readonly broadcast: BroadcastConfig;
  /** Static membership's member list; empty for an open network (its records and sampler find peers). */
  readonly members: readonly GenesisMember[];
  /** Absent in the file means static, so every older genesis keeps its meaning and its hash. */
  readonly membership: MembershipConfig;
}

export function isOpenMembership(
  genesis: Genesis,
): genesis is Genesis & { readonly membership: OpenMembership } {
  return genesis.membership.mode === "open";
}

/** Bounds what a genesis file may make a node allocate. */
const MAX_GENESIS_BALANCES = 1_000_000;
const MAX_GENESIS_MEMBERS = 10_000;
const GENESIS_KEYS = new Set(["network", "balances", "broadcast", "members", "membership"]);
const CONTAGION_KEYS = ["G", "E", "Ehat", "R", "Rhat", "D", "Dhat"] as const;

function invalid(message: string): TallyError {
  return new TallyError(ErrorCode.InvalidGenesis, `genesis: ${message}`);
}

function positiveInteger(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw invalid(`${field} must be a positive integer`);
  }
  return value;
}

function parseBroadcast(value: unknown): BroadcastConfig {
  if (value === undefined) return { mode: "bracha" };
  if (!isRecord(value)) throw invalid("broadcast must be an object");
  if (value.mode === "bracha") return { mode: "bracha" };
  if (value.mode !== "contagion") throw invalid(`broadcast.mode must be "bracha" or "contagion"`);
  if (!isRecord(value.params))
    throw invalid("broadcast.params must be an object {G, E, Ehat, R, Rhat, D, Dhat}");
  const raw = value.params;
  const p = Object.fromEntries(
    CONTAGION_KEYS.map((k) => [k, positiveInteger(raw[k], `broadcast.params.${k}`)]),
  ) as unknown as ContagionParams;
  // A threshold above its sample size could never be reached: the broadcast would never deliver.
  if (p.Ehat > p.E) throw invalid("broadcast.params: Ehat must not exceed E");
  if (p.Rhat > p.R) throw invalid("broadcast.params: Rhat must not exceed R");
  if (p.Dhat > p.D) throw invalid("broadcast.params: Dhat must not exceed D");
  return { mode: "contagion", params: p };
}

function parseMembers(value: unknown): GenesisMember[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid("members must be an array");
  if (value.length > MAX_GENESIS_MEMBERS) throw invalid(`at most ${MAX_GENESIS_MEMBERS} members`);
  const seen = new Set<string>();
  return value.map((m: unknown, i: number) => {
    if (!isRecord(m) || typeof m.peerId !== "string" || m.peerId.length === 0) {
      throw invalid(`members[${i}] must be {peerId, multiaddrs}`);
    }
    if (seen.has(m.peerId)) throw invalid(`members[${i}]: duplicate peerId ${m.peerId}`);
    seen.add(m.peerId);
    const multiaddrs = m.multiaddrs ?? [];
    if (!Array.isArray(multiaddrs) || multiaddrs.some((a) => typeof a !== "string")) {
      throw invalid(`members[${i}].multiaddrs must be an array of strings`);
    }
    return { peerId: canonicalPeerId(m.peerId), multiaddrs: multiaddrs as string[] };
  });
}

/** Validates a parsed genesis JSON document; every error names the offending field. */
export function parseGenesis(json: unknown): Genesis {
  if (!isRecord(json)) throw invalid("must be a JSON object");
  for (const key of Object.keys(json)) if (!GENESIS_KEYS.has(key)) throw invalid(`unknown field "${key}"`);
  if (typeof json.network !== "string" || !NETWORK_ID_RE.test(json.network)) {
    throw invalid("network must be 1-32 characters of [a-z0-9-], starting with [a-z0-9]");
  }
  if (!Array.isArray(json.balances)) throw invalid("balances must be an array of {address, amount}");
  if (json.balances.length > MAX_GENESIS_BALANCES) throw invalid(`at most ${MAX_GENESIS_BALANCES} balances`);
  const seen = new Set<string>();
  let supply = 0n;
  const balances = json.balances.map((entry: unknown, i: number): GenesisBalance => {
    if (!isRecord(entry)) throw invalid(`balances[${i}] must be {address, amount}`);
    let address: string;
    try {
      address = entry.address as string;
      decodeAddress(address);
    } catch (e) {
      throw invalid(`balances[${i}].address: ${(e as Error).message}`);
    }
    if (seen.has(address)) throw invalid(`balances[${i}]: duplicate address ${address}`);
    seen.add(address);
    if (typeof entry.amount !== "string" || !/^(?:0|[1-9][0-9]*)$/.test(entry.amount)) {
      throw invalid(`balances[${i}].amount must be a decimal string`);
    }
    const amount = BigInt(entry.amount);
    supply += amount;
    // The supply bound keeps every balance and every sum of outputs inside the u128 amount range.
    if (supply > MAX_AMOUNT) throw invalid("total supply exceeds 2^128-1");
    return { address, amount };
  });
  const broadcast = parseBroadcast(json.broadcast);
  const members = parseMembers(json.members);
  const membership = parseMembership(json.membership);
  if (membership.mode === "static" && members.length === 0) {
    throw invalid('members: a static network needs at least one member (or membership.mode "open")');
  }
  if (membership.mode === "open") {
    if (members.length > 0) throw invalid('members must be empty when membership.mode is "open"');
    // Bracha's quorums are fractions of a known member list, which an open network does not have.
    if (broadcast.mode !== "contagion") {
      throw invalid(
        'broadcast.mode must be "contagion" when membership.mode is "open" (Bracha needs a fixed member list)',
      );
    }
  }
  return { network: json.network, balances, broadcast, members, membership };
}

/**
 * The canonical JSON form, which the genesis hash covers. A static genesis is written without `membership`,
 * exactly as before the field existed, so existing networks keep their genesis hash; an open genesis writes
 * every membership number, defaults included, so the hash pins them.
 */
export function genesisToJson(genesis: Genesis): Record<string, unknown> {
  const json: Record<string, unknown> = {
    network: genesis.network,
    balances: genesis.balances.map((b) => ({ address: b.address, amount: b.amount.toString() })),
    broadcast: genesis.broadcast,
    members: genesis.members,
  };
  const m = genesis.membership;
  if (m.mode === "open") {
    json.membership = {
      mode: m.mode,
      bootstrap: m.bootstrap,
      identityDifficulty: m.identityDifficulty,
      recordTtlSeconds: m.recordTtlSeconds,
      recordRefreshSeconds: m.recordRefreshSeconds,
    };
  }
  return json;
}

export function genesisSupply(genesis: { readonly balances: readonly GenesisBalance[] }): bigint {
  return genesis.balances.reduce((sum, b) => sum + b.amount, 0n);
}

/** Identifies a genesis so nodes started from different files can tell each other apart. */
export function genesisHash(genesis: Genesis): string {
  return toHex(sha256(new TextEncoder().encode(JSON.stringify(genesisToJson(genesis)))));
}
