/**
 * The equivocating owner: one definition of the attack for the devnet (`--byzantine-owner equivocate`), the
 * simulator's faulty owners and the committee tests, so what the simulator shows about it is about the same
 * attack a devnet runs. The owner runs a real committee (so it keeps the protocol's timing) and rewrites what
 * that committee sends, message by message:
 *
 * - as the leader of a fresh round (a proposal without a justification), its committee's proposal goes to the
 *   first group of the recipients, a twin (another request for the same slot, signed by this owner) to the
 *   rest, and then the twin to the first group too, so the first group holds two proposals of one round —
 *   evidence;
 * - as a voter in a round it equivocated in, its committee's Prepare goes out as written, and a second Prepare
 *   for the twin's digest (a second signature in one slot) goes to the same owners.
 *
 * Every other message goes out unchanged. Sans-I/O: the caller sends what `rewrite` returns.
 */

import type { CommitteeAction, CommitteeMessage, OwnerIndex, SignedRequest, Vote } from "./committeeTypes.ts";

/** One send: the recipients (owner indices) and the message. */
export interface OwnerSend {
  readonly to: readonly OwnerIndex[];
  readonly message: CommitteeMessage;
}

export interface EquivocatingOwnerOptions {
  /**
   * The recipients who get the fair proposal first and then the twin. Absent: the first ⌈n / 2⌉ of a
   * proposal's recipients (in the order given).
   */
  readonly firstGroup?: readonly OwnerIndex[];
  /**
   * The twin of a request this owner leads with: same slot, another digest, signed by this owner. Undefined:
   * no twin (the proposal goes out unchanged).
   */
  readonly twinOf: (request: SignedRequest) => SignedRequest | undefined;
  /** This owner's signature on `vote` with its digest replaced (the vote's signing bytes for that digest). */
  readonly signVote: (vote: Vote, digest: Uint8Array) => Uint8Array;
}

/** What the owner did, so a run can show the attack happened. */
export interface EquivocationCounts {
  /** Proposals sent in two versions. */
  proposals: number;
  /** Prepares signed for a second digest. */
  votes: number;
}

/** Rounds whose twin digest is kept for the second Prepare: the committee votes within a round or two. */
const TWINS_KEPT = 64;

export class EquivocatingOwner {
  readonly counts: EquivocationCounts = { proposals: 0, votes: 0 };
  private readonly options: EquivocatingOwnerOptions;
  /** "seq/round" → the twin's digest, oldest first, at most TWINS_KEPT. */
  private readonly twins = new Map<string, Uint8Array>();

  constructor(options: EquivocatingOwnerOptions) {
    this.options = options;
  }

  /** What to send in place of `message` to `to` (the message itself when it is not one to equivocate on). */
  rewrite(to: readonly OwnerIndex[], message: CommitteeMessage): OwnerSend[] {
    if (message.kind === "propose" && message.justify === null) {
      const [first, second] = this.split(to);
      const twin = first.length > 0 && second.length > 0 ? this.options.twinOf(message.request) : undefined;
      if (twin === undefined) return [{ to, message }];
      this.remember(`${message.seq}/${message.round}`, twin.digest);
      this.counts.proposals++;
      const forged: CommitteeMessage = { ...message, request: twin };
      return [
        { to: first, message },
        { to: second, message: forged },
        { to: first, message: forged },
      ];
    }
    if (message.kind === "vote" && message.vote.phase === "prepare") {
      const vote = message.vote;
      const digest = this.twins.get(`${vote.seq}/${vote.round}`);
      if (digest === undefined) return [{ to, message }];
      this.counts.votes++;
      const second: Vote = { ...vote, digest, signature: this.options.signVote(vote, digest) };
      return [
        { to, message },
        { to, message: { kind: "vote", vote: second } },
      ];
    }
    return [{ to, message }];
  }

  /**
   * `rewrite` over a committee's action list: each send is replaced by what `rewrite` returns, every other
   * action passes through. `everyoneElse` (the other owners) stands for a send's `"all"`.
   */
  rewriteActions(
    actions: readonly CommitteeAction[],
    everyoneElse: readonly OwnerIndex[],
  ): CommitteeAction[] {
    const out: CommitteeAction[] = [];
    for (const action of actions) {
      if (action.type !== "send") {
        out.push(action);
        continue;
      }
      const to = action.to === "all" ? everyoneElse : action.to;
      for (const s of this.rewrite(to, action.message))
        out.push({ type: "send", to: s.to, message: s.message });
    }
    return out;
  }

  private split(to: readonly OwnerIndex[]): [OwnerIndex[], OwnerIndex[]] {
    const group = this.options.firstGroup;
    if (group !== undefined)
      return [to.filter((o) => group.includes(o)), to.filter((o) => !group.includes(o))];
    const half = Math.ceil(to.length / 2);
    return [to.slice(0, half), to.slice(half)];
  }

  private remember(slot: string, digest: Uint8Array): void {
    this.twins.set(slot, digest);
    if (this.twins.size > TWINS_KEPT) this.twins.delete(this.twins.keys().next().value!);
  }
}
