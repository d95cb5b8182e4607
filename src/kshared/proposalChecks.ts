import { bytesEqual } from "../core/bytes.ts";
import {
  type CommitteeKeys,
  highPrepareMatches,
  requestSigningBytes,
  verifyCertificate,
  verifyRequest,
  verifyTimeoutCertificate,
  verifyTimeoutVote,
} from "./certificate.ts";
import type {
  CommitteeDropReason,
  CommitteeMessage,
  OwnerIndex,
  SignedRequest,
  SubmitOutcome,
} from "./committeeTypes.ts";
import type { CommitteeQuorum } from "./quorum.ts";
import { requestDigest } from "./requestDigest.ts";
import type { RequestQueue } from "./requestQueue.ts";
import type { TimeoutEntry } from "./roundState.ts";

export type Proposal = Extract<CommitteeMessage, { kind: "propose" }>;

export interface RequestRules {
  readonly keys: CommitteeKeys;
  readonly maxProposalBytes: number;
  readonly isDecided: (digest: Uint8Array) => boolean;
}

/** Null if a peer's request may be queued or proposed; else why not. The signature is checked last (costly). */
export function checkRequest(request: SignedRequest, rules: RequestRules): CommitteeDropReason | null {
  const k = rules.keys.owners.length;
  if (!Number.isInteger(request.owner) || request.owner < 0 || request.owner >= k) return "notOwner";
  if (request.proposal.length > rules.maxProposalBytes) return "malformed";
  if (!bytesEqual(requestDigest(request.owner, request.proposal), request.digest)) return "malformed";
  if (rules.isDecided(request.digest)) return "alreadyDecided";
  return verifyRequest(rules.keys, request) ? null : "badSignature";
}

/**
 * Round 0 proposals carry nothing. A later round's carries the timeout certificate of the round before
 * (proof it started) and, if that certificate names a prepare certificate, a justify at least as high
 * whose digest is the one proposed: a leader can never drop a value that may have been committed.
 */
export function checkJustification(
  m: Proposal,
  keys: CommitteeKeys,
  quorum: CommitteeQuorum,
): CommitteeDropReason | null {
  const { justify, entry } = m;
  if (m.round === 0) return justify === null && entry === null ? null : "malformed";
  if (entry === null || entry.seq !== m.seq || entry.round !== m.round - 1) return "malformed";
  if (entry.highPrepare !== null && (justify === null || justify.round < entry.highPrepare.round)) {
    return "malformed";
  }
  if (justify !== null) {
    const shapeOk =
      justify.phase === "prepare" &&
      justify.seq === m.seq &&
      justify.round < m.round &&
      bytesEqual(justify.digest, m.request.digest);
    if (!shapeOk) return "malformed";
    if (!verifyCertificate(justify, keys, quorum)) return "badSignature";
  }
  return verifyTimeoutCertificate(entry, keys, quorum) ? null : "badSignature";
}

/** A timeout vote counts iff it names exactly the prepare certificate it carries, and both verify. */
export function checkTimeoutEntry(
  entry: TimeoutEntry,
  keys: CommitteeKeys,
  quorum: CommitteeQuorum,
): CommitteeDropReason | null {
  const { vote, highPrepare } = entry;
  if (!highPrepareMatches(highPrepare, vote.highPrepareRound, vote.seq, vote.round)) return "malformed";
  if (!verifyTimeoutVote(keys, vote)) return "badSignature";
  if (highPrepare !== null && !verifyCertificate(highPrepare, keys, quorum)) return "badSignature";
  return null;
}

/** This owner's own submission: signed and queued (`request` set) or refused, with the outcome to report. */
export function newRequest(
  proposal: Uint8Array,
  self: OwnerIndex,
  queue: RequestQueue,
  rules: RequestRules,
  sign: (message: Uint8Array) => Uint8Array,
): { outcome: SubmitOutcome; digest: Uint8Array; request?: SignedRequest } {
  const digest = requestDigest(self, proposal);
  if (proposal.length > rules.maxProposalBytes) return { outcome: "full", digest };
  if (rules.isDecided(digest)) return { outcome: "decided", digest };
  const signature = sign(requestSigningBytes(rules.keys.account, digest));
  const request: SignedRequest = { owner: self, proposal, digest, signature };
  const added = queue.add(request);
  return added === "added" ? { outcome: "accepted", digest, request } : { outcome: added, digest };
}
