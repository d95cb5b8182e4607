import { compareBytes } from "../core/bytes.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import type { SignatureVerifier } from "../crypto/signatureVerifier.ts";
import { MAX_ACCOUNT_BYTES } from "./certificate.ts";
import type { OwnerIndex } from "./committeeTypes.ts";
import { MAX_OWNERS } from "./quorum.ts";

export interface CommitteeOptions {
  /** The k-shared account's id; bound into every signature. 1..255 bytes. */
  readonly account: Uint8Array;
  /** The owners' ed25519 public keys in canonical (strictly ascending byte) order; 1..32 of them. */
  readonly owners: readonly Uint8Array[];
  /** This node's owner index. */
  readonly self: OwnerIndex;
  /** Signs with this owner's key (deterministic ed25519). */
  readonly sign: (message: Uint8Array) => Uint8Array;
  readonly verifier: SignatureVerifier;
  /** The first seq this committee orders (the account's next seq); default 0. */
  readonly firstSeq?: number;
  /** Round r's timer is min(base·2^r, max). */
  readonly baseTimeoutMs?: number;
  readonly maxTimeoutMs?: number;
  /** Pending requests kept per requesting owner. */
  readonly maxPendingPerOwner?: number;
  /** Largest proposal accepted from anyone, in bytes. */
  readonly maxProposalBytes?: number;
  /**
   * The application's validity predicate: may `proposal` be seq's decision? A leader proposes only such
   * requests and an owner prepares only such proposals (a transfer body naming another seq could never be
   * applied, so deciding it would block the account). Must be deterministic. Default: always.
   */
  readonly isProposable?: (seq: number, proposal: Uint8Array) => boolean;
  /**
   * True if `proposal` can never be proposable at `seq` or later (a body built for an older seq): such
   * requests are refused, and dropped from the queues when a seq starts, so they cannot fill them.
   * Default: never.
   */
  readonly isExpired?: (seq: number, proposal: Uint8Array) => boolean;
}

/** Every bound of the committee, with its number (docs/kshared.md lists them too). */
export const COMMITTEE_BOUNDS = {
  baseTimeoutMs: 1_000,
  maxTimeoutMs: 60_000,
  maxPendingPerOwner: 64,
  maxProposalBytes: 64 * 1024,
  /** Votes and proposals for rounds beyond current + 16 are dropped. */
  roundsAhead: 16,
  /** Rounds older than current − 4 are forgotten (late commits of a just-ended round still count). */
  roundsBehind: 4,
  /** Messages for seq current + 1 buffered per sender until current is decided. */
  aheadPerOwner: 16,
  /** Commit certificates kept to answer owners stuck on an older seq. */
  decidedCertificatesKept: 64,
  /** Digests of decided requests remembered, so a replayed request is never ordered twice. */
  decidedDigestsKept: 4_096,
  /** Equivocation proofs kept (the counter keeps counting). */
  evidenceKept: 256,
  /** Own pending requests re-sent on each round timeout. */
  requestsResentPerTimeout: 8,
  /** Verified signatures cached. */
  verifiedSignaturesCached: 8_192,
} as const;

export interface ResolvedCommitteeOptions {
  readonly account: Uint8Array;
  readonly owners: readonly Uint8Array[];
  readonly self: OwnerIndex;
  readonly sign: (message: Uint8Array) => Uint8Array;
  readonly verifier: SignatureVerifier;
  readonly firstSeq: number;
  readonly baseTimeoutMs: number;
  readonly maxTimeoutMs: number;
  readonly maxPendingPerOwner: number;
  readonly maxProposalBytes: number;
  readonly isProposable: (seq: number, proposal: Uint8Array) => boolean;
  readonly isExpired: (seq: number, proposal: Uint8Array) => boolean;
}

function configError(message: string): TallyError {
  return new TallyError(ErrorCode.InvalidConfig, `kshared committee: ${message}`);
}

function positive(value: number | undefined, fallback: number, field: string): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved <= 0) throw configError(`${field}: a positive integer`);
  return resolved;
}

export function resolveCommitteeOptions(options: CommitteeOptions): ResolvedCommitteeOptions {
  const { account, owners, self } = options;
  if (!(account instanceof Uint8Array) || account.length === 0 || account.length > MAX_ACCOUNT_BYTES) {
    throw configError(`account: 1..${MAX_ACCOUNT_BYTES} bytes`);
  }
  if (owners.length === 0 || owners.length > MAX_OWNERS) throw configError(`owners: 1..${MAX_OWNERS} keys`);
  for (let i = 0; i < owners.length; i++) {
    if (owners[i]!.length !== 32) throw configError("owners: 32-byte public keys");
    if (i > 0 && compareBytes(owners[i - 1]!, owners[i]!) >= 0) {
      throw configError("owners: strictly ascending (canonical order, no duplicates)");
    }
  }
  if (!Number.isInteger(self) || self < 0 || self >= owners.length) throw configError("self: an owner index");
  const firstSeq = options.firstSeq ?? 0;
  if (!Number.isSafeInteger(firstSeq) || firstSeq < 0) throw configError("firstSeq: a non-negative integer");
  return {
    account,
    owners,
    self,
    sign: options.sign,
    verifier: options.verifier,
    firstSeq,
    baseTimeoutMs: positive(options.baseTimeoutMs, COMMITTEE_BOUNDS.baseTimeoutMs, "baseTimeoutMs"),
    maxTimeoutMs: positive(options.maxTimeoutMs, COMMITTEE_BOUNDS.maxTimeoutMs, "maxTimeoutMs"),
    maxPendingPerOwner: positive(
      options.maxPendingPerOwner,
      COMMITTEE_BOUNDS.maxPendingPerOwner,
      "maxPendingPerOwner",
    ),
    maxProposalBytes: positive(
      options.maxProposalBytes,
      COMMITTEE_BOUNDS.maxProposalBytes,
      "maxProposalBytes",
    ),
    isProposable: options.isProposable ?? (() => true),
    isExpired: options.isExpired ?? (() => false),
  };
}
