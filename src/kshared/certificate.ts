/**
 * What each owner signs, byte for byte, and the checks of every signed thing a peer sends: one
 * domain-separation tag per statement, so no signature of one kind can be replayed as another (nor as a
 * transfer signature, whose bytes never start with these tags).
 */

import { bytesEqual } from "../core/bytes.ts";
import { ByteWriter } from "../core/byteWriter.ts";
import { TRANSFER_ID_BYTES } from "../core/limits.ts";
import type { SignatureVerifier } from "../crypto/signatureVerifier.ts";
import type {
  Certificate,
  OwnerIndex,
  SignedRequest,
  TimeoutCertificate,
  TimeoutVote,
  Vote,
  VotePhase,
} from "./committeeTypes.ts";
import type { CommitteeQuorum } from "./quorum.ts";
import { signerFault } from "./signerShape.ts";

/** A request's digest (requestDigest.ts): the requester and the proposal's SHA-256, hashed together. */
export const DIGEST_BYTES = TRANSFER_ID_BYTES;
/** Account ids are length-prefixed by one byte. */
export const MAX_ACCOUNT_BYTES = 255;
/** Rounds and seqs are unsigned 32-bit and safe-integer 64-bit on the wire. */
export const MAX_ROUND = 0xffff_fffe;

const encoder = new TextEncoder();
const REQUEST_TAG = encoder.encode("tally/kshared/request/v1\0");
const VOTE_TAG = encoder.encode("tally/kshared/vote/v1\0");
const TIMEOUT_TAG = encoder.encode("tally/kshared/timeout/v1\0");
const PHASE_BYTE: Readonly<Record<VotePhase, number>> = { prepare: 1, commit: 2 };

/** tag ‖ len(account) u8 ‖ account: how a statement begins (a vote puts its phase between the two). */
function statement(tag: Uint8Array, account: Uint8Array): ByteWriter {
  return new ByteWriter().bytes(tag).u8(account.length).bytes(account);
}

/** tag ‖ len(account) u8 ‖ account ‖ digest(32). */
export function requestSigningBytes(account: Uint8Array, digest: Uint8Array): Uint8Array {
  return statement(REQUEST_TAG, account).bytes(digest).finish();
}

/** tag ‖ phase u8 (1 prepare, 2 commit) ‖ len(account) u8 ‖ account ‖ seq u64 ‖ round u32 ‖ digest(32). */
export function voteSigningBytes(
  account: Uint8Array,
  phase: VotePhase,
  seq: number,
  round: number,
  digest: Uint8Array,
): Uint8Array {
  return new ByteWriter()
    .bytes(VOTE_TAG)
    .u8(PHASE_BYTE[phase])
    .u8(account.length)
    .bytes(account)
    .u64(seq)
    .u32(round)
    .bytes(digest)
    .finish();
}

/** tag ‖ len(account) u8 ‖ account ‖ seq u64 ‖ round u32 ‖ (highPrepareRound + 1, 0 = none) u32. */
export function timeoutSigningBytes(
  account: Uint8Array,
  seq: number,
  round: number,
  highPrepareRound: number | null,
): Uint8Array {
  return statement(TIMEOUT_TAG, account)
    .u64(seq)
    .u32(round)
    .u32((highPrepareRound ?? -1) + 1)
    .finish();
}

/** What verifying a peer's signed statements needs: the account, its owners' keys, and a verifier. */
export interface CommitteeKeys {
  readonly account: Uint8Array;
  /** Public keys in canonical (ascending) order; index = OwnerIndex. */
  readonly owners: readonly Uint8Array[];
  readonly verifier: SignatureVerifier;
}

function ownerKey(keys: CommitteeKeys, owner: OwnerIndex): Uint8Array | undefined {
  return Number.isInteger(owner) && owner >= 0 ? keys.owners[owner] : undefined;
}

function isDigest(digest: Uint8Array): boolean {
  return digest instanceof Uint8Array && digest.length === DIGEST_BYTES;
}

/** Signature check only; the caller checks that `digest` is the proposal's hash. */
export function verifyRequest(keys: CommitteeKeys, request: SignedRequest): boolean {
  const key = ownerKey(keys, request.owner);
  if (key === undefined || !isDigest(request.digest)) return false;
  return keys.verifier.verify(request.signature, requestSigningBytes(keys.account, request.digest), key);
}

export function verifyVote(keys: CommitteeKeys, vote: Vote): boolean {
  const key = ownerKey(keys, vote.voter);
  if (key === undefined || !isDigest(vote.digest)) return false;
  const message = voteSigningBytes(keys.account, vote.phase, vote.seq, vote.round, vote.digest);
  return keys.verifier.verify(vote.signature, message, key);
}

export function verifyTimeoutVote(keys: CommitteeKeys, vote: TimeoutVote): boolean {
  const key = ownerKey(keys, vote.voter);
  if (key === undefined) return false;
  const message = timeoutSigningBytes(keys.account, vote.seq, vote.round, vote.highPrepareRound);
  return keys.verifier.verify(vote.signature, message, key);
}

/**
 * A certificate is valid iff it names this account, its signers are ≥ q distinct owners (ascending), and
 * every signature is that owner's over the certificate's (phase, seq, round, digest).
 */
export function verifyCertificate(
  certificate: Certificate,
  keys: CommitteeKeys,
  quorum: CommitteeQuorum,
): boolean {
  const { signers, signatures } = certificate;
  if (!isDigest(certificate.digest) || signers.length !== signatures.length) return false;
  if (!bytesEqual(certificate.account, keys.account)) return false;
  if (signers.length < quorum.q || signerFault(signers, keys.owners.length) !== undefined) return false;
  const message = voteSigningBytes(
    keys.account,
    certificate.phase,
    certificate.seq,
    certificate.round,
    certificate.digest,
  );
  return signers.every((signer, i) => keys.verifier.verify(signatures[i]!, message, keys.owners[signer]!));
}

/**
 * A timeout certificate is valid iff ≥ q distinct owners (ascending) signed a timeout of its (seq, round),
 * and `highPrepare` is a valid prepare certificate of this seq for exactly the highest round they name.
 */
export function verifyTimeoutCertificate(
  certificate: TimeoutCertificate,
  keys: CommitteeKeys,
  quorum: CommitteeQuorum,
): boolean {
  const { votes } = certificate;
  if (votes.length < quorum.q) return false;
  if (
    signerFault(
      votes.map((v) => v.voter),
      keys.owners.length,
    ) !== undefined
  )
    return false;
  let highest: number | null = null;
  for (const vote of votes) {
    if (vote.seq !== certificate.seq || vote.round !== certificate.round) return false;
    if (vote.highPrepareRound !== null && (highest === null || vote.highPrepareRound > highest)) {
      highest = vote.highPrepareRound;
    }
  }
  if (!highPrepareMatches(certificate.highPrepare, highest, certificate.seq, certificate.round)) return false;
  if (certificate.highPrepare !== null && !verifyCertificate(certificate.highPrepare, keys, quorum))
    return false;
  return votes.every((vote) => verifyTimeoutVote(keys, vote));
}

/** The prepare certificate a timeout names must be of the same seq, an earlier-or-same round, and that round. */
export function highPrepareMatches(
  highPrepare: Certificate | null,
  highPrepareRound: number | null,
  seq: number,
  round: number,
): boolean {
  if (highPrepare === null) return highPrepareRound === null;
  return (
    highPrepare.phase === "prepare" &&
    highPrepare.seq === seq &&
    highPrepare.round === highPrepareRound &&
    highPrepare.round <= round
  );
}
