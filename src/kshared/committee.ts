import { bytesEqual } from "../core/bytes.ts";
import { AheadBuffer } from "./aheadBuffer.ts";
import { BehindAnswers } from "./behindAnswers.ts";
import {
  type CommitteeKeys,
  timeoutSigningBytes,
  verifyCertificate,
  verifyTimeoutCertificate,
  verifyVote,
  voteSigningBytes,
} from "./certificate.ts";
import { type CommitteeCounters, CommitteeLog } from "./committeeLog.ts";
import {
  COMMITTEE_BOUNDS,
  type CommitteeOptions,
  type ResolvedCommitteeOptions,
  resolveCommitteeOptions,
} from "./committeeOptions.ts";
import { restoreCommittee } from "./committeeRestore.ts";
import {
  type Certificate,
  type CommitteeAction,
  type CommitteeEvent,
  type CommitteeMessage,
  type CommitteeRecord,
  type Equivocation,
  messageSeq,
  type OwnerIndex,
  type SignedRequest,
  type TimeoutCertificate,
  type TimeoutVote,
  type Vote,
  type VotePhase,
} from "./committeeTypes.ts";
import { DecidedLog, decidedAction } from "./decidedLog.ts";
import {
  checkJustification,
  checkRequest,
  checkTimeoutEntry,
  newRequest,
  type Proposal,
  type RequestRules,
} from "./proposalChecks.ts";
import { type CommitteeQuorum, committeeQuorum } from "./quorum.ts";
import { RequestQueue } from "./requestQueue.ts";
import {
  type Instance,
  newInstance,
  resendOnTimeout,
  roundVotesOf,
  type TimeoutEntry,
} from "./roundState.ts";
import { cachingVerifier } from "./verifyCache.ts";

export type { CommitteeCounters };

/**
 * The committee of a k-shared account: a two-phase, leader-based, locking BFT consensus per seq (the
 * protocol is in docs/kshared.md, "Committee protocol"), as a sans-I/O state machine. Every peer message is
 * checked before it counts: owner index, signatures (cached verifier), seq and round windows; each owner
 * holds at most one vote per (round, phase) here, later conflicting ones are kept as evidence only.
 * Handlers return whether the message counted (false: dropped, and the reason counted).
 */
export class Committee {
  readonly quorum: CommitteeQuorum;
  readonly self: OwnerIndex;
  private readonly keys: CommitteeKeys;
  private readonly options: ResolvedCommitteeOptions;
  private readonly rules: RequestRules;
  private readonly queue: RequestQueue;
  private readonly decided = new DecidedLog();
  private readonly ahead = new AheadBuffer(COMMITTEE_BOUNDS.aheadPerOwner);
  private readonly behind: BehindAnswers;
  private readonly log = new CommitteeLog();
  private inst: Instance;
  private nowMs = 0;
  private out: CommitteeAction[] = [];

  constructor(options: CommitteeOptions) {
    this.options = resolveCommitteeOptions(options);
    this.self = this.options.self;
    this.quorum = committeeQuorum(this.options.owners.length);
    const verifier = cachingVerifier(this.options.verifier, COMMITTEE_BOUNDS.verifiedSignaturesCached);
    this.keys = { account: this.options.account, owners: this.options.owners, verifier };
    this.rules = {
      keys: this.keys,
      maxProposalBytes: this.options.maxProposalBytes,
      isDecided: (digest) => this.decided.has(digest),
    };
    this.queue = new RequestQueue(this.quorum.k, this.options.maxPendingPerOwner);
    this.behind = new BehindAnswers(this.options.baseTimeoutMs / 2);
    this.inst = newInstance(this.options.firstSeq);
  }

  get currentSeq(): number {
    return this.inst.seq;
  }

  get currentRound(): number {
    return this.inst.round;
  }

  get lock(): Certificate | null {
    return this.inst.lock;
  }

  get pendingRequests(): number {
    return this.queue.size;
  }

  leaderOf(seq: number, round: number): OwnerIndex {
    return (seq + round) % this.quorum.k;
  }

  evidence(): readonly Equivocation[] {
    return this.log.evidence();
  }

  counters(): CommitteeCounters {
    return this.log.snapshot();
  }

  /**
   * Rebuilds the state from the records persisted before a crash; call once, before the first event. The
   * owner resumes at the seq after its last decision, in the highest round it spoke in, with its own
   * statements of that seq (so it re-sends rather than re-signs) and its own undecided requests. Returns
   * again the decisions the crash may have cut off after their records were durable: the last one, and every
   * kept one the ledger has not applied (at or above `firstSeq`).
   */
  restore(records: Iterable<CommitteeRecord>): CommitteeAction[] {
    const restored = restoreCommittee(records, this.options.firstSeq, this.options.isExpired);
    this.inst = restored.instance;
    for (const certificate of restored.decided) this.decided.remember(certificate);
    for (const request of restored.pendingRequests) this.queue.add(request);
    return restored.reemit.map(({ certificate, request }) => {
      this.queue.decided(certificate.digest, request?.owner);
      return decidedAction(certificate, request);
    });
  }

  handle(event: CommitteeEvent): CommitteeAction[] {
    this.out = [];
    this.nowMs = event.nowMs;
    if (event.type === "submit") this.onSubmit(event.proposal);
    else if (event.type === "message") this.onMessage(event.from, event.message);
    else this.onTick();
    if (this.inst.active && this.inst.deadlineMs === undefined) this.armTimer();
    return this.out;
  }

  private onSubmit(proposal: Uint8Array): void {
    const { outcome, digest, request } = newRequest(
      proposal,
      this.self,
      this.queue,
      this.rules,
      this.options.sign,
    );
    // Durable before acknowledged: an accepted request survives a crash.
    if (request !== undefined) this.persist({ kind: "request", request });
    this.out.push({ type: "submitResult", outcome, digest });
    if (request === undefined) return;
    this.send("all", { kind: "request", request });
    this.inst.active = true;
    this.tryPropose();
  }

  private onRequest(request: SignedRequest): boolean {
    if (this.queue.has(request.digest)) return this.log.drop("duplicate");
    if (this.options.isExpired(this.inst.seq, request.proposal)) return this.log.drop("notProposable");
    const problem = checkRequest(request, this.rules);
    if (problem !== null) return this.log.drop(problem);
    if (this.queue.add(request) === "full") return this.log.drop("queueFull");
    this.inst.active = true;
    this.tryPropose();
    return true;
  }

  private onMessage(from: OwnerIndex, message: CommitteeMessage): boolean {
    if (!Number.isInteger(from) || from < 0 || from >= this.quorum.k || from === this.self) {
      return this.log.drop("notOwner");
    }
    if (message.kind === "request") return this.onRequest(message.request);
    const seq = messageSeq(message);
    if (seq > this.inst.seq + 1) return this.log.drop("seqAhead");
    if (seq === this.inst.seq + 1) {
      // Others moved on: we missed a decision. Our next timeout fetches its certificate.
      this.inst.active = true;
      return this.ahead.add(from, message) || this.log.drop("aheadBufferFull");
    }
    if (seq < this.inst.seq) {
      // A timeout or proposal for a decided seq: that owner is stuck there; hand it the certificate.
      if (message.kind === "timeout" || message.kind === "propose") {
        const late = this.decided.lateAnswer(from, seq, this.nowMs, this.options.baseTimeoutMs / 2);
        if (late !== undefined) this.send([from], { kind: "certificate", certificate: late });
      }
      return this.log.drop("seqBehind");
    }
    const inst = this.inst;
    const counted = this.onCurrentSeq(from, message);
    inst.heard ||= counted;
    return counted;
  }

  private onCurrentSeq(from: OwnerIndex, message: Exclude<CommitteeMessage, { kind: "request" }>): boolean {
    switch (message.kind) {
      case "propose":
        return this.onPropose(from, message);
      case "vote":
        return this.onVote(message.vote);
      case "timeout":
        return this.onTimeoutVote(from, { vote: message.vote, highPrepare: message.highPrepare });
      case "certificate":
        return this.onCertificate(message.certificate);
      case "timeoutCertificate":
        return this.onTimeoutCertificate(message.certificate);
    }
  }

  private inWindow(round: number, behind: number): boolean {
    if (round > this.inst.round + COMMITTEE_BOUNDS.roundsAhead) return this.log.drop("roundAhead");
    if (round < this.inst.round - behind) return this.log.drop("roundBehind");
    return true;
  }

  private onPropose(from: OwnerIndex, m: Proposal): boolean {
    if (!this.inWindow(m.round, 0)) return false;
    // The transport authenticates `from`; the proposal itself carries no leader signature.
    if (from !== this.leaderOf(m.seq, m.round)) return this.log.drop("notLeader");
    const votes = roundVotesOf(this.inst, m.round);
    if (votes.proposal !== undefined) {
      const first = votes.proposal.request;
      if (bytesEqual(first.digest, m.request.digest)) return this.log.drop("duplicate");
      if (checkRequest(m.request, this.rules) === null) {
        const proof = {
          kind: "proposal",
          seq: m.seq,
          round: m.round,
          leader: from,
          first,
          second: m.request,
        };
        this.log.equivocation(proof as Equivocation);
      }
      return this.log.drop("equivocation");
    }
    const problem = checkRequest(m.request, this.rules) ?? checkJustification(m, this.keys, this.quorum);
    if (problem !== null) return this.log.drop(problem);
    if (!this.options.isProposable(m.seq, m.request.proposal)) return this.log.drop("notProposable");
    votes.proposal = { request: m.request, justify: m.justify };
    this.inst.seen.add(m.request);
    this.inst.active = true;
    this.raiseLock(m.justify);
    this.raiseLock(m.entry?.highPrepare ?? null);
    if (m.round > this.inst.round && m.entry !== null) this.enterRound(m.round, m.entry);
    else this.tryPrepare(m.round);
    return true;
  }

  /** The leader of the current round proposes once: the locked digest if any, else the next fair request. */
  private tryPropose(): void {
    const inst = this.inst;
    if (this.leaderOf(inst.seq, inst.round) !== this.self) return;
    if (inst.own.proposal(inst.round) !== undefined) return;
    if (inst.round > 0 && inst.entry === null) return;
    const justify = inst.round > 0 ? inst.lock : null;
    const request =
      justify !== null
        ? (inst.seen.get(justify.digest) ?? this.queue.find(justify.digest))
        : this.queue.next((r) => this.options.isProposable(inst.seq, r.proposal));
    if (request === undefined) return;
    const proposal = { seq: inst.seq, round: inst.round, request, justify, entry: inst.entry };
    inst.own.recordProposal(inst.round, proposal);
    this.persist({ kind: "proposal", ...proposal });
    this.send("all", { kind: "propose", ...proposal });
    roundVotesOf(inst, inst.round).proposal = { request, justify };
    inst.seen.add(request);
    inst.active = true;
    this.tryPrepare(inst.round);
  }

  /** Prepare the round's proposal once, if the lock allows it (the lock was already raised past any justify). */
  private tryPrepare(round: number): void {
    const inst = this.inst;
    const proposal = inst.rounds.get(round)?.proposal;
    if (proposal === undefined || round !== inst.round) return;
    if (inst.own.vote("prepare", round) !== undefined) return;
    const digest = proposal.request.digest;
    if (inst.lock !== null && !bytesEqual(inst.lock.digest, digest)) this.log.drop("lockedOut");
    else this.castVote("prepare", round, digest);
  }

  /** Commit once per round, after locking on that round's prepare certificate. */
  private tryCommit(round: number): void {
    const inst = this.inst;
    const certificate = inst.rounds.get(round)?.prepareCertificate;
    if (certificate === undefined || round !== inst.round) return;
    if (inst.own.vote("commit", round) !== undefined) return;
    this.castVote("commit", round, certificate.digest);
  }

  private castVote(phase: VotePhase, round: number, digest: Uint8Array): void {
    const { seq } = this.inst;
    const signature = this.options.sign(voteSigningBytes(this.keys.account, phase, seq, round, digest));
    const vote: Vote = { phase, seq, round, digest, voter: this.self, signature };
    this.inst.own.recordVote(vote);
    this.persist({ kind: "vote", vote });
    this.send("all", { kind: "vote", vote });
    this.countVote(vote);
  }

  private onVote(vote: Vote): boolean {
    if (!this.inWindow(vote.round, COMMITTEE_BOUNDS.roundsBehind)) return false;
    const known = this.inst.rounds.get(vote.round)?.votes(vote.phase).get(vote.voter);
    if (known !== undefined && bytesEqual(known.digest, vote.digest)) return this.log.drop("duplicate");
    if (!verifyVote(this.keys, vote)) return this.log.drop("badSignature");
    this.inst.active = true;
    return this.countVote(vote);
  }

  private countVote(vote: Vote): boolean {
    const votes = roundVotesOf(this.inst, vote.round);
    const outcome = votes.addVote(vote, (proof) => this.log.equivocation(proof));
    if (outcome !== "added") return this.log.drop(outcome);
    const { account } = this.keys;
    if (vote.phase === "prepare") {
      if (votes.prepareCertificate !== undefined) return true;
      const certificate = votes.certificateFor("prepare", account, vote.seq, vote.digest, this.quorum.q);
      if (certificate !== undefined) this.onPrepareCertificate(certificate);
      return true;
    }
    if (votes.commitCertificate !== undefined) return true;
    const certificate = votes.certificateFor("commit", account, vote.seq, vote.digest, this.quorum.q);
    if (certificate === undefined) return true;
    votes.commitCertificate = certificate;
    // The round's leader spreads the certificate; everyone else also forms it from the votes.
    if (this.leaderOf(vote.seq, vote.round) === this.self)
      this.send("all", { kind: "certificate", certificate });
    this.decide(certificate);
    return true;
  }

  private onPrepareCertificate(certificate: Certificate): void {
    const votes = this.inst.rounds.get(certificate.round);
    if (votes !== undefined && votes.prepareCertificate === undefined) votes.prepareCertificate = certificate;
    this.raiseLock(certificate);
    if (certificate.round > this.inst.round) this.enterRound(certificate.round, null);
    else this.tryCommit(certificate.round);
  }

  private onCertificate(certificate: Certificate): boolean {
    if (!bytesEqual(certificate.account, this.keys.account)) return this.log.drop("malformed");
    const lockRound = this.inst.lock?.round ?? -1;
    const stale = certificate.round <= lockRound && certificate.round < this.inst.round;
    if (certificate.phase === "prepare" && stale) return this.log.drop("duplicate");
    if (!verifyCertificate(certificate, this.keys, this.quorum)) return this.log.drop("badSignature");
    this.inst.active = true;
    if (certificate.phase === "commit") this.decide(certificate);
    else this.onPrepareCertificate(certificate);
    return true;
  }

  /** The lock only ever rises: a prepare certificate of a strictly higher round replaces it. */
  private raiseLock(certificate: Certificate | null): void {
    if (certificate === null) return;
    const lock = this.inst.lock;
    if (lock !== null && certificate.round <= lock.round) return;
    this.inst.lock = certificate;
    this.persist({ kind: "lock", certificate });
  }

  private onTimeoutVote(from: OwnerIndex, entry: TimeoutEntry): boolean {
    const { vote } = entry;
    // An owner behind us (restarted in a lower round): hand it what moved us on, or it waits for good.
    if (vote.round < this.inst.round)
      for (const m of this.behind.answer(this.inst, from, vote.round, this.nowMs)) this.send([from], m);
    if (!this.inWindow(vote.round, 0)) return false;
    const known = this.inst.rounds.get(vote.round)?.timeouts.get(vote.voter);
    if (known?.vote.highPrepareRound === vote.highPrepareRound) return this.log.drop("duplicate");
    const problem = checkTimeoutEntry(entry, this.keys, this.quorum);
    if (problem !== null) return this.log.drop(problem);
    this.inst.active = true;
    this.raiseLock(entry.highPrepare);
    return this.countTimeout(entry);
  }

  private countTimeout(entry: TimeoutEntry): boolean {
    const votes = roundVotesOf(this.inst, entry.vote.round);
    const outcome = votes.addTimeout(entry, (proof) => this.log.equivocation(proof));
    if (outcome !== "added") return this.log.drop(outcome);
    // f+1 timeouts include a correct owner's: join them, so owners whose timers drifted still form a TC.
    const { round } = entry.vote;
    if (round === this.inst.round && votes.timeouts.size > this.quorum.f) this.signTimeout();
    if (votes.timeoutCertificate !== undefined) return true;
    const certificate = votes.timeoutCertificateFor(this.inst.seq, this.quorum.q);
    if (certificate === undefined) return true;
    votes.timeoutCertificate = certificate;
    this.enterRound(round + 1, certificate);
    return true;
  }

  private onTimeoutCertificate(certificate: TimeoutCertificate): boolean {
    if (certificate.round < this.inst.round) return this.log.drop("roundBehind");
    if (!verifyTimeoutCertificate(certificate, this.keys, this.quorum)) return this.log.drop("badSignature");
    this.inst.active = true;
    this.raiseLock(certificate.highPrepare);
    this.enterRound(certificate.round + 1, certificate);
    return true;
  }

  /** Sign this round's timeout once (naming the lock), send it and count it. */
  private signTimeout(): void {
    const inst = this.inst;
    if (inst.own.timeout(inst.round) !== undefined) return;
    const highPrepare = inst.lock;
    const highPrepareRound = highPrepare?.round ?? null;
    const { seq, round } = inst;
    const signature = this.options.sign(timeoutSigningBytes(this.keys.account, seq, round, highPrepareRound));
    const vote: TimeoutVote = { seq, round, highPrepareRound, voter: this.self, signature };
    const entry = { vote, highPrepare };
    inst.own.recordTimeout(entry);
    this.log.timeoutsSigned++;
    this.persist({ kind: "timeout", vote, highPrepare });
    this.send("all", { kind: "timeout", vote, highPrepare });
    this.countTimeout(entry);
  }

  private enterRound(round: number, entry: TimeoutCertificate | null): void {
    const inst = this.inst;
    if (round <= inst.round) return;
    inst.round = round;
    inst.entry = entry !== null && entry.round === round - 1 ? entry : null;
    inst.active = true;
    this.log.roundsEntered++;
    this.armTimer();
    for (const old of inst.rounds.keys()) {
      if (old < round - COMMITTEE_BOUNDS.roundsBehind) inst.rounds.delete(old);
    }
    this.tryPropose();
    this.tryPrepare(round);
    this.tryCommit(round);
  }

  private armTimer(): void {
    const doubled = this.options.baseTimeoutMs * 2 ** Math.min(this.inst.round, 30);
    this.inst.deadlineMs = this.nowMs + Math.min(doubled, this.options.maxTimeoutMs);
  }

  private onTick(): void {
    const inst = this.inst;
    if (!inst.active) return;
    if (inst.deadlineMs !== undefined && this.nowMs >= inst.deadlineMs) this.onRoundTimeout();
    this.tryPropose();
  }

  /** Time out the round (once), and re-send everything said in this seq that lossy links may have eaten. */
  private onRoundTimeout(): void {
    const inst = this.inst;
    const { seq, round } = inst;
    const signed = inst.own.timeout(round);
    if (signed === undefined) this.signTimeout();
    else this.send("all", { kind: "timeout", ...signed });
    if (this.inst.seq !== seq || this.inst.round !== round) return; // our own timeout completed a certificate
    const ownRequests = this.queue.ownQueue(this.self).slice(0, COMMITTEE_BOUNDS.requestsResentPerTimeout);
    for (const message of resendOnTimeout(inst, ownRequests)) this.send("all", message);
    this.armTimer();
    // A probe (after a restart, or on hearing of the next seq) that found nobody working here: stop.
    const idle = !inst.heard && this.queue.size === 0 && inst.own.latestVote("prepare") === undefined;
    if (idle) inst.active = false;
  }

  private decide(certificate: Certificate): void {
    const inst = this.inst;
    if (certificate.seq !== inst.seq) return;
    const { digest } = certificate;
    // Any request with this digest is the one decided: the digest binds both its owner and its bytes.
    const request = inst.seen.get(digest) ?? this.queue.find(digest);
    this.persist({ kind: "decided", certificate, request: request ?? null });
    this.out.push(decidedAction(certificate, request));
    this.log.decided++;
    this.decided.remember(certificate);
    this.queue.decided(digest, request?.owner);
    this.inst = newInstance(inst.seq + 1);
    this.queue.purge((r) => this.options.isExpired(inst.seq + 1, r.proposal));
    this.inst.active = this.queue.size > 0;
    for (const [from, message] of this.ahead.take()) this.onMessage(from, message);
    if (this.inst.seq === inst.seq + 1) this.tryPropose();
  }

  private persist(record: CommitteeRecord): void {
    this.out.push({ type: "persist", record });
  }

  private send(to: readonly OwnerIndex[] | "all", message: CommitteeMessage): void {
    this.out.push({ type: "send", to, message });
  }
}
