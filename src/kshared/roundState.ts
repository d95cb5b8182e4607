import { bytesEqual, toHex } from "../core/bytes.ts";
import type {
  Certificate,
  CommitteeMessage,
  Equivocation,
  OwnerIndex,
  SignedRequest,
  TimeoutCertificate,
  TimeoutVote,
  Vote,
  VotePhase,
} from "./committeeTypes.ts";

/** Proposals' requests remembered per seq (a leader re-proposing a locked digest needs its bytes). */
export const SEEN_REQUESTS_PER_SEQ = 64;

export type AddOutcome = "added" | "duplicate" | "equivocation";

/** A timeout vote and the prepare certificate it names (verified before it is stored). */
export interface TimeoutEntry {
  readonly vote: TimeoutVote;
  readonly highPrepare: Certificate | null;
}

/**
 * What one round of one seq has seen: at most one proposal (the leader's first), and at most one vote per
 * owner and phase (its first; a second digest is evidence, never counted). So an owner stores at most
 * three votes per round, and the committee keeps a bounded window of rounds.
 */
export class RoundVotes {
  readonly round: number;
  proposal: { readonly request: SignedRequest; readonly justify: Certificate | null } | undefined;
  readonly prepares = new Map<OwnerIndex, Vote>();
  readonly commits = new Map<OwnerIndex, Vote>();
  readonly timeouts = new Map<OwnerIndex, TimeoutEntry>();
  prepareCertificate: Certificate | undefined;
  commitCertificate: Certificate | undefined;
  timeoutCertificate: TimeoutCertificate | undefined;

  constructor(round: number) {
    this.round = round;
  }

  votes(phase: VotePhase): Map<OwnerIndex, Vote> {
    return phase === "prepare" ? this.prepares : this.commits;
  }

  addVote(vote: Vote, evidence: (e: Equivocation) => void): AddOutcome {
    const votes = this.votes(vote.phase);
    const first = votes.get(vote.voter);
    if (first !== undefined) {
      if (bytesEqual(first.digest, vote.digest)) return "duplicate";
      evidence({ kind: "vote", first, second: vote });
      return "equivocation";
    }
    votes.set(vote.voter, vote);
    return "added";
  }

  addTimeout(entry: TimeoutEntry, evidence: (e: Equivocation) => void): AddOutcome {
    const first = this.timeouts.get(entry.vote.voter);
    if (first !== undefined) {
      if (first.vote.highPrepareRound === entry.vote.highPrepareRound) return "duplicate";
      evidence({ kind: "timeout", first: first.vote, second: entry.vote });
      return "equivocation";
    }
    this.timeouts.set(entry.vote.voter, entry);
    return "added";
  }

  /** q matching votes of `phase` for `digest`, as a certificate (signers ascending), or undefined. */
  certificateFor(
    phase: VotePhase,
    account: Uint8Array,
    seq: number,
    digest: Uint8Array,
    q: number,
  ): Certificate | undefined {
    const matching = [...this.votes(phase).values()]
      .filter((v) => bytesEqual(v.digest, digest))
      .sort((a, b) => a.voter - b.voter);
    if (matching.length < q) return undefined;
    return {
      phase,
      account,
      seq,
      round: this.round,
      digest,
      signers: matching.map((v) => v.voter),
      signatures: matching.map((v) => v.signature),
    };
  }

  /** q timeout votes as a certificate carrying the highest prepare certificate they name, or undefined. */
  timeoutCertificateFor(seq: number, q: number): TimeoutCertificate | undefined {
    if (this.timeouts.size < q) return undefined;
    const entries = [...this.timeouts.values()].sort((a, b) => a.vote.voter - b.vote.voter);
    let highPrepare: Certificate | null = null;
    for (const entry of entries) {
      if (
        entry.highPrepare !== null &&
        (highPrepare === null || entry.highPrepare.round > highPrepare.round)
      ) {
        highPrepare = entry.highPrepare;
      }
    }
    return { seq, round: this.round, votes: entries.map((e) => e.vote), highPrepare };
  }
}

/** A proposal this owner made as leader, as it was sent (re-sent verbatim on timeouts). */
export interface OwnProposal {
  readonly seq: number;
  readonly round: number;
  readonly request: SignedRequest;
  readonly justify: Certificate | null;
  readonly entry: TimeoutCertificate | null;
}

/** The owner's own signed statements in one seq: what a restart must never contradict. */
export class OwnStatements {
  private readonly votes = new Map<string, Vote>();
  private readonly timeouts = new Map<number, TimeoutEntry>();
  private readonly proposals = new Map<number, OwnProposal>();

  vote(phase: VotePhase, round: number): Vote | undefined {
    return this.votes.get(`${phase}:${round}`);
  }

  recordVote(vote: Vote): void {
    this.votes.set(`${vote.phase}:${vote.round}`, vote);
  }

  /** The own timeout of a round, with the prepare certificate it names (needed to re-send it as signed). */
  timeout(round: number): TimeoutEntry | undefined {
    return this.timeouts.get(round);
  }

  recordTimeout(entry: TimeoutEntry): void {
    this.timeouts.set(entry.vote.round, entry);
  }

  proposal(round: number): OwnProposal | undefined {
    return this.proposals.get(round);
  }

  recordProposal(round: number, proposal: OwnProposal): void {
    this.proposals.set(round, proposal);
  }

  /** The own vote of `phase` in the highest round that has one: what a timeout re-sends. */
  latestVote(phase: VotePhase): Vote | undefined {
    let latest: Vote | undefined;
    for (const vote of this.votes.values()) {
      if (vote.phase === phase && (latest === undefined || vote.round > latest.round)) latest = vote;
    }
    return latest;
  }

  highestRound(): number {
    let round = 0;
    for (const vote of this.votes.values()) round = Math.max(round, vote.round);
    for (const r of this.timeouts.keys()) round = Math.max(round, r);
    for (const r of this.proposals.keys()) round = Math.max(round, r);
    return round;
  }

  get empty(): boolean {
    return this.votes.size === 0 && this.timeouts.size === 0 && this.proposals.size === 0;
  }
}

/** Requests seen in proposals of one seq, by digest: a leader re-proposing a locked digest needs its bytes. */
export class SeenRequests {
  private readonly byDigest = new Map<string, SignedRequest>();
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  add(request: SignedRequest): void {
    const key = toHex(request.digest);
    if (this.byDigest.has(key)) return;
    if (this.byDigest.size >= this.max) {
      const oldest = this.byDigest.keys().next().value;
      if (oldest !== undefined) this.byDigest.delete(oldest);
    }
    this.byDigest.set(key, request);
  }

  get(digest: Uint8Array): SignedRequest | undefined {
    return this.byDigest.get(toHex(digest));
  }
}

/** The consensus state of the one seq being decided. */
export interface Instance {
  readonly seq: number;
  round: number;
  readonly rounds: Map<number, RoundVotes>;
  /** The highest prepare certificate known: this owner prepares another digest only past a higher one. */
  lock: Certificate | null;
  /** The timeout certificate that started the current round (null in round 0 or after a jump). */
  entry: TimeoutCertificate | null;
  readonly own: OwnStatements;
  readonly seen: SeenRequests;
  /** The round timer runs only once there is something to decide. */
  active: boolean;
  /** A peer's message of this seq counted here: others are working on it too. */
  heard: boolean;
  deadlineMs: number | undefined;
}

export function newInstance(seq: number): Instance {
  return {
    seq,
    round: 0,
    rounds: new Map(),
    lock: null,
    entry: null,
    own: new OwnStatements(),
    seen: new SeenRequests(SEEN_REQUESTS_PER_SEQ),
    active: false,
    heard: false,
    deadlineMs: undefined,
  };
}

/** The votes of one round of the instance's seq, made empty on first use. */
export function roundVotesOf(inst: Instance, round: number): RoundVotes {
  let votes = inst.rounds.get(round);
  if (votes === undefined) {
    votes = new RoundVotes(round);
    inst.rounds.set(round, votes);
  }
  return votes;
}

/**
 * What an owner re-sends each time its round timer expires, for links that lose messages: its latest
 * Prepare and Commit of the seq, its proposal of the round (if leader), the timeout certificate that
 * started the round, and its own pending requests (the caller bounds them).
 */
export function resendOnTimeout(inst: Instance, ownRequests: readonly SignedRequest[]): CommitteeMessage[] {
  const messages: CommitteeMessage[] = [];
  for (const phase of ["prepare", "commit"] as const) {
    const vote = inst.own.latestVote(phase);
    if (vote !== undefined) messages.push({ kind: "vote", vote });
  }
  const proposal = inst.own.proposal(inst.round);
  if (proposal !== undefined) messages.push({ kind: "propose", ...proposal });
  if (inst.entry !== null) messages.push({ kind: "timeoutCertificate", certificate: inst.entry });
  for (const request of ownRequests) messages.push({ kind: "request", request });
  return messages;
}
