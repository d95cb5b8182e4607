import type { ProtocolVersion, StatusRequest, StatusResponse } from "./statusMessages.ts";
import { compareProtocols } from "./statusMessages.ts";
import type { WatermarkSnapshot } from "./watermarkSummary.ts";

/**
 * The status protocol's sans-I/O core: answering a peer's status request, and judging a peer's
 * answer. No state of its own; the node owns the WatermarkSummary and advances it as the ledger
 * resolves transfers.
 */
export const STATUS_PROTOCOL_VERSION = 1;

/** What identifies the chain a node follows and the protocols it speaks. */
export interface StatusIdentity {
  readonly network: string;
  /** SHA-256 of the genesis, 64 lowercase hex characters. */
  readonly genesis: string;
  readonly protocols: readonly ProtocolVersion[];
}

export interface StatusContext extends StatusIdentity {
  /** The node's WatermarkSummary (anything with a cheap `snapshot`). */
  readonly watermarks: { snapshot(): WatermarkSnapshot };
}

/**
 * O(buckets) at worst and O(1) while the ledger is idle, whatever the number of accounts: anyone
 * may ask, so an answer must never walk the ledger. Rate limits belong to the channel layer.
 */
export function answerStatus(_request: StatusRequest, context: StatusContext): StatusResponse {
  return {
    network: context.network,
    genesis: context.genesis,
    protocols: canonicalProtocols(context.protocols),
    watermarks: context.watermarks.snapshot(),
  };
}

/** Ascending by id then version, duplicates dropped: the order the codec demands. */
export function canonicalProtocols(protocols: readonly ProtocolVersion[]): ProtocolVersion[] {
  const sorted = [...protocols].sort(compareProtocols);
  return sorted.filter((p, i) => i === 0 || compareProtocols(sorted[i - 1]!, p) !== 0);
}

/**
 * Why a peer can or cannot be talked to, as data the node logs and feeds to peer scoring. Checked in
 * this order: a peer on another network or genesis is following a different ledger, and protocol
 * versions only matter between peers that agree on the ledger.
 */
export type CompatibilityVerdict =
  | {
      readonly kind: "compatible";
      /** For every protocol id both speak, the highest version both speak; ascending by id. */
      readonly agreed: readonly ProtocolVersion[];
    }
  | { readonly kind: "wrongNetwork"; readonly ours: string; readonly theirs: string }
  | { readonly kind: "wrongGenesis"; readonly ours: string; readonly theirs: string }
  | {
      readonly kind: "noCommonProtocol";
      /** Required protocol ids without a common version (empty when nothing at all is shared). */
      readonly missing: readonly number[];
    };

export function checkCompatible(
  ours: StatusIdentity,
  theirs: StatusIdentity,
  requiredProtocolIds: readonly number[] = [],
): CompatibilityVerdict {
  if (ours.network !== theirs.network) {
    return { kind: "wrongNetwork", ours: ours.network, theirs: theirs.network };
  }
  if (ours.genesis !== theirs.genesis) {
    return { kind: "wrongGenesis", ours: ours.genesis, theirs: theirs.genesis };
  }
  const agreed = highestCommonVersions(ours.protocols, theirs.protocols);
  const agreedIds = new Set(agreed.map((p) => p.id));
  const missing = [...new Set(requiredProtocolIds)].filter((id) => !agreedIds.has(id)).sort((a, b) => a - b);
  if (agreed.length === 0 || missing.length > 0) return { kind: "noCommonProtocol", missing };
  return { kind: "compatible", agreed };
}

function highestCommonVersions(
  ours: readonly ProtocolVersion[],
  theirs: readonly ProtocolVersion[],
): ProtocolVersion[] {
  // Both lists hold at most MAX_STATUS_PROTOCOLS entries once decoded, so a set of keys is cheap.
  const theirKeys = new Set(theirs.map((p) => `${p.id}/${p.version}`));
  const best = new Map<number, number>();
  for (const p of ours) {
    if (!theirKeys.has(`${p.id}/${p.version}`)) continue;
    if ((best.get(p.id) ?? 0) < p.version) best.set(p.id, p.version);
  }
  return [...best].map(([id, version]) => ({ id, version })).sort(compareProtocols);
}
