import { toHex } from "../core/bytes.ts";
import type { Certificate, CommitteeRecord, SignedRequest } from "./committeeTypes.ts";
import { type Instance, newInstance, roundVotesOf } from "./roundState.ts";

export interface RestoredCommittee {
  readonly instance: Instance;
  /** Commit certificates, ascending by seq. */
  readonly decided: readonly Certificate[];
  /**
   * Decisions to emit again, ascending by seq: every kept one at or above `firstSeq` (the ledger has not
   * applied those, and one write can decide several seqs before a crash cuts their emission off), and the
   * last one in any case.
   */
  readonly reemit: readonly Extract<CommitteeRecord, { kind: "decided" }>[];
  /** This owner's submitted requests that no decided record names, in submission order. */
  readonly pendingRequests: readonly SignedRequest[];
}

/**
 * Rebuilds the instance of the first undecided seq from persisted records: the own votes, timeouts and
 * proposals of that seq (so the owner re-sends them and never signs a different one in the same round and
 * phase), its highest lock, and its round (the highest it spoke in or locked at). Records of older seqs are
 * superseded by their decisions. What it reads is exactly what `compactRecords` (recordRetention.ts) keeps:
 * the two change together.
 */
export function restoreCommittee(
  records: Iterable<CommitteeRecord>,
  firstSeq: number,
  isExpired: (seq: number, proposal: Uint8Array) => boolean = () => false,
): RestoredCommittee {
  const all = [...records];
  const decided = all
    .filter((r): r is Extract<CommitteeRecord, { kind: "decided" }> => r.kind === "decided")
    .sort((a, b) => a.certificate.seq - b.certificate.seq);
  const last = decided.at(-1);
  const seq = Math.max(firstSeq, last === undefined ? 0 : last.certificate.seq + 1);
  const instance = newInstance(seq);
  const ignore = (): void => {};
  for (const record of all) {
    if (record.kind === "vote" && record.vote.seq === seq) {
      instance.own.recordVote(record.vote);
      roundVotesOf(instance, record.vote.round).addVote(record.vote, ignore);
    } else if (record.kind === "timeout" && record.vote.seq === seq) {
      const entry = { vote: record.vote, highPrepare: record.highPrepare };
      instance.own.recordTimeout(entry);
      roundVotesOf(instance, record.vote.round).addTimeout(entry, ignore);
    } else if (record.kind === "proposal" && record.seq === seq) {
      const { round, request, justify, entry } = record;
      instance.own.recordProposal(round, { seq, round, request, justify, entry });
      roundVotesOf(instance, round).proposal = { request, justify };
      instance.seen.add(request);
    } else if (record.kind === "lock" && record.certificate.seq === seq) {
      if (instance.lock === null || record.certificate.round > instance.lock.round) {
        instance.lock = record.certificate;
      }
    }
  }
  instance.round = Math.max(instance.own.highestRound(), instance.lock?.round ?? 0);
  const ownProposal = instance.own.proposal(instance.round);
  instance.entry = ownProposal?.entry ?? null;
  // Active even with nothing of its own: its first timeout asks the others whether it missed a decision.
  instance.active = true;
  const decidedDigests = new Set(decided.map((r) => toHex(r.certificate.digest)));
  // An own request for a seq already past can never be proposed: queued again, it would only take a slot.
  const pendingRequests = all.flatMap((r) =>
    r.kind === "request" &&
    !decidedDigests.has(toHex(r.request.digest)) &&
    !isExpired(seq, r.request.proposal)
      ? [r.request]
      : [],
  );
  const reemit = decided.filter((r) => r.certificate.seq >= firstSeq || r === last);
  return {
    instance,
    decided: decided.map((r) => r.certificate),
    reemit,
    pendingRequests,
  };
}
