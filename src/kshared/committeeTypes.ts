/**
 * The vocabulary of a k-shared account's committee: the owners that must agree on the order of the
 * account's outgoing transfers, one consensus instance per seq. The committee is a sans-I/O state machine
 * (`committee.ts`): the driver feeds it events and carries out the actions it returns, in order.
 */

/** An owner's position in the canonical (byte-wise ascending) order of the owners' public keys: 0..k−1. */
export type OwnerIndex = number;

/** The two voting phases of a round: Prepare (≈ prevote, "validated") and Commit (≈ precommit, "confirmed"). */
export type VotePhase = "prepare" | "commit";

/** A transfer proposal submitted by one owner; `signature` is that owner's over (account, digest). */
export interface SignedRequest {
  readonly owner: OwnerIndex;
  /** Opaque bytes (a transfer); the committee only orders them. */
  readonly proposal: Uint8Array;
  /** SHA-256 of `proposal`. */
  readonly digest: Uint8Array;
  readonly signature: Uint8Array;
}

/** One owner's signed Prepare or Commit for (seq, round, digest). */
export interface Vote {
  readonly phase: VotePhase;
  readonly seq: number;
  readonly round: number;
  readonly digest: Uint8Array;
  readonly voter: OwnerIndex;
  readonly signature: Uint8Array;
}

/**
 * One owner's signed "round `round` of `seq` is taking too long"; it names the round of the highest prepare
 * certificate the owner knows (null: none), so a timeout certificate proves what its leader must re-propose.
 */
export interface TimeoutVote {
  readonly seq: number;
  readonly round: number;
  readonly highPrepareRound: number | null;
  readonly voter: OwnerIndex;
  readonly signature: Uint8Array;
}

/**
 * q signed votes of one phase for one (seq, round, digest). A prepare certificate is a lock; a commit
 * certificate is final: the ledger checks it with `verifyCertificate`.
 */
export interface Certificate {
  readonly phase: VotePhase;
  readonly account: Uint8Array;
  readonly seq: number;
  readonly round: number;
  readonly digest: Uint8Array;
  /** Strictly ascending owner indices. */
  readonly signers: readonly OwnerIndex[];
  /** `signatures[i]` is `signers[i]`'s. */
  readonly signatures: readonly Uint8Array[];
}

/** q timeout votes of one (seq, round), with the highest prepare certificate they name. */
export interface TimeoutCertificate {
  readonly seq: number;
  readonly round: number;
  /** Strictly ascending by voter. */
  readonly votes: readonly TimeoutVote[];
  /** The prepare certificate of round max(votes.highPrepareRound); null iff every vote names none. */
  readonly highPrepare: Certificate | null;
}

export type CommitteeMessage =
  /** An owner hands its request to every owner, so whoever leads next can propose it. */
  | { readonly kind: "request"; readonly request: SignedRequest }
  /**
   * The leader of (seq, round) proposes a request. For round > 0, `entry` is the timeout certificate of
   * round − 1 (proof the round started), and `justify` is the highest prepare certificate the leader knows;
   * with a justify, the request's digest must be the justify's.
   */
  | {
      readonly kind: "propose";
      readonly seq: number;
      readonly round: number;
      readonly request: SignedRequest;
      readonly justify: Certificate | null;
      readonly entry: TimeoutCertificate | null;
    }
  | { readonly kind: "vote"; readonly vote: Vote }
  /** A timeout vote, with the prepare certificate its `highPrepareRound` names. */
  | { readonly kind: "timeout"; readonly vote: TimeoutVote; readonly highPrepare: Certificate | null }
  | { readonly kind: "certificate"; readonly certificate: Certificate }
  | { readonly kind: "timeoutCertificate"; readonly certificate: TimeoutCertificate };

export type CommitteeMessageKind = CommitteeMessage["kind"];

export type CommitteeEvent =
  /** This owner's wallet submits a transfer proposal; the committee signs and spreads it. */
  | { readonly type: "submit"; readonly proposal: Uint8Array; readonly nowMs: number }
  | {
      readonly type: "message";
      readonly from: OwnerIndex;
      readonly message: CommitteeMessage;
      readonly nowMs: number;
    }
  /** Drives round timers; a period of ~1/10 of the base round timeout is plenty. */
  | { readonly type: "tick"; readonly nowMs: number };

/**
 * What must survive a crash so a restarted owner never contradicts itself: its own votes and proposals,
 * its lock, and the certificates it decided on.
 */
export type CommitteeRecord =
  /** A request this owner submitted; restored into its queue unless a decided record names its digest. */
  | { readonly kind: "request"; readonly request: SignedRequest }
  | { readonly kind: "vote"; readonly vote: Vote }
  | { readonly kind: "timeout"; readonly vote: TimeoutVote; readonly highPrepare: Certificate | null }
  | {
      readonly kind: "proposal";
      readonly seq: number;
      readonly round: number;
      readonly request: SignedRequest;
      readonly justify: Certificate | null;
      readonly entry: TimeoutCertificate | null;
    }
  | { readonly kind: "lock"; readonly certificate: Certificate }
  /**
   * `request` (null: its bytes never reached this owner) lets a restart re-emit the decision a crash may
   * have cut off, and keeps the leaders' round-robin cursor.
   */
  | { readonly kind: "decided"; readonly certificate: Certificate; readonly request: SignedRequest | null };

export type SubmitOutcome =
  /** Queued here and sent to every owner. */
  | "accepted"
  /** The same proposal is already queued. */
  | "duplicate"
  /** This owner already has its maximum of pending requests. */
  | "full"
  /** The same proposal was already decided. */
  | "decided";

/**
 * Actions, carried out in list order. A `send` may leave only after every `persist` before it is durable;
 * `send` to "all" means every other owner.
 */
export type CommitteeAction =
  | { readonly type: "persist"; readonly record: CommitteeRecord }
  | {
      readonly type: "send";
      readonly to: readonly OwnerIndex[] | "all";
      readonly message: CommitteeMessage;
    }
  /**
   * Once per seq, in seq order; `restore` repeats the last one (a crash may have cut it off after its
   * record was durable), so the consumer applies it idempotently. `proposal` is absent if this owner never
   * saw the request's bytes. `requester` is the owner whose signed request was decided, undefined with the
   * bytes (two owners may request identical bytes: only the requester's proposal is done, the other's must
   * be made again). The digest binds the requester (requestDigest.ts), so every owner that knows it names
   * the same one, and an owner matches its own requests by digest alone.
   */
  | {
      readonly type: "decided";
      readonly seq: number;
      readonly digest: Uint8Array;
      readonly certificate: Certificate;
      readonly proposal: Uint8Array | undefined;
      readonly requester: OwnerIndex | undefined;
    }
  | { readonly type: "submitResult"; readonly outcome: SubmitOutcome; readonly digest: Uint8Array };

/** Two conflicting signed statements by one owner: proof it is Byzantine. */
export type Equivocation =
  | { readonly kind: "vote"; readonly first: Vote; readonly second: Vote }
  | { readonly kind: "timeout"; readonly first: TimeoutVote; readonly second: TimeoutVote }
  | {
      readonly kind: "proposal";
      readonly seq: number;
      readonly round: number;
      readonly leader: OwnerIndex;
      readonly first: SignedRequest;
      readonly second: SignedRequest;
    };

/** Why a message from a peer was ignored; each reason is a counter. */
export type CommitteeDropReason =
  | "notOwner"
  | "badSignature"
  | "malformed"
  | "seqBehind"
  | "seqAhead"
  | "roundBehind"
  | "roundAhead"
  | "notLeader"
  | "duplicate"
  | "equivocation"
  | "queueFull"
  | "aheadBufferFull"
  | "lockedOut"
  | "alreadyDecided"
  /** The application's validity predicate refused the proposal at this seq (or it expired). */
  | "notProposable";

/** The seq a seq-bound message is about. */
export function messageSeq(message: Exclude<CommitteeMessage, { kind: "request" }>): number {
  switch (message.kind) {
    case "propose":
      return message.seq;
    case "vote":
    case "timeout":
      return message.vote.seq;
    case "certificate":
    case "timeoutCertificate":
      return message.certificate.seq;
  }
}
