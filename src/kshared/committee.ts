import { bytesEqual, toHex } from "../core/bytes.ts";
import {
  type CommitteeKeys,
  highPrepareMatches,
  requestSigningBytes,
  timeoutSigningBytes,
  verifyCertificate,
  verifyRequest,
  verifyTimeoutCertificate,
  verifyTimeoutVote,
  verifyVote,
  voteSigningBytes,
} from "./certificate.ts";
import { COMMITTEE_BOUNDS, type CommitteeOptions, resolveCommitteeOptions } from "./committeeOptions.ts";
import type {
  Certificate,
  CommitteeAction,
  CommitteeDropReason,
  CommitteeEvent,
  CommitteeMessage,
  CommitteeRecord,
  Equivocation,
  OwnerIndex,
  SignedRequest,
  TimeoutCertificate,
  TimeoutVote,
  Vote,
  VotePhase,
} from "./committeeTypes.ts";
import { type CommitteeQuorum, committeeQuorum } from "./quorum.ts";
import { RequestQueue } from "./requestQueue.ts";
import { type Instance, OwnStatements, RoundVotes, SeenRequests, type TimeoutEntry } from "./roundState.ts";
import { cachingVerifier } from "./verifyCache.ts";
import { restoreCommittee } from "./committeeRestore.ts";

export interface CommitteeCounters {
  readonly dropped: Readonly<Partial<Record<CommitteeDropReason, number>>>;
  readonly equivocations: number;
  readonly timeoutsSigned: number;
  readonly roundsEntered: number;
  readonly decided: number;
}

/**
 * The committee of a k-shared account: a two-phase, leader-based, locking BFT consensus per seq (the
 * protocol is in docs/kshared.md, "Committee protocol"), as a sans-I/O state machine. Every peer message is
 * checked before it counts: owner index, signatures (cached verifier), seq and round windows; each owner
 * holds at most one vote per (round, phase) here, later conflicting ones are kept as evidence only.
 */
export class Committee {
  readonly quorum: CommitteeQuorum;
  readonly self: OwnerIndex;
  private readonly keys: CommitteeKeys;
  private readonly options: ReturnType<typeof resolveCommitteeOptions>;
  private readonly queue: RequestQueue;
  private readonly decidedDigests = new Set<string>();
  private readonly decidedCertificates = new Map<number, Certificate>();
  private ahead = new Map<OwnerIndex, CommitteeMessage[]>();
  private readonly lateAnsweredAt = new Map<OwnerIndex, number>();
  private readonly evidenceLog: Equivocation[] = [];
  private readonly dropped: Partial<Record<CommitteeDropReason, number>> = {};
  private equivocations = 0;
  private timeoutsSigned = 0;
  private roundsEntered = 0;
  private decidedCount = 0;
  private lastDecidedOwner: OwnerIndex;
  private inst: Instance;
  private nowMs = 0;
  private out: CommitteeAction[] = [];

  constructor(options: CommitteeOptions) {
    this.options = resolveCommitteeOptions(options);
    this.self = this.options.self;
    this.quorum = committeeQuorum(this.options.owners.length);
    const verifier = cachingVerifier(this.options.verifier, COMMITTEE_BOUNDS.verifiedSignaturesCached);
    this.keys = { account: this.options.account, owners: this.options.owners, verifier };
    this.queue = new RequestQueue(this.quorum.k, this.options.maxPendingPerOwner);
    this.lastDecidedOwner = this.quorum.k - 1;
    this.inst = this.newInstance(this.options.firstSeq);
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
    return this.evidenceLog;
  }

  counters(): CommitteeCounters {
    return {
      dropped: { ...this.dropped },
      equivocations: this.equivocations,
      timeoutsSigned: this.timeoutsSigned,
      roundsEntered: this.roundsEntered,
      decided: this.decidedCount,
    };
  }

  /**
   * Rebuilds the state from the records persisted before a crash; call once, before the first event. The
   * owner resumes at the seq after its last decision, in the highest round it spoke in, with its own
   * statements of that seq, so it re-sends rather than re-signs, and with its own undecided requests
   * queued again. Re-sending starts at the first timeout.
   */
  restore(records: Iterable<CommitteeRecord>): void {
    const restored = restoreCommittee(records, this.options.firstSeq, (seq) => this.newInstance(seq));
    this.inst = restored.instance;
    this.lastDecidedOwner = restored.lastDecidedOwner ?? this.lastDecidedOwner;
    for (const certificate of restored.decided) this.rememberDecided(certificate);
    for (const request of restored.pendingRequests) this.queue.add(request);
    if (this.queue.size > 0) this.inst.active = true;
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

  // ── requests ───────────────────────────────────────────────────────────────────────────────────────

  private onSubmit(proposal: Uint8Array): void {
    const digest = this.options.hash(proposal);
    if (proposal.length > this.options.maxProposalBytes) {
      this.out.push({ type: "submitResult", outcome: "full", digest });
      return;
    }
    if (this.decidedDigests.has(toHex(digest))) {
      this.out.push({ type: "submitResult", outcome: "decided", digest });
      return;
    }
    const signature = this.options.sign(requestSigningBytes(this.keys.account, digest));
    const request: SignedRequest = { owner: this.self, proposal, digest, signature };
    const added = this.queue.add(request);
    // Durable before acknowledged: an accepted request survives a crash.
    if (added === "added") this.persist({ kind: "request", request });
    this.out.push({ type: "submitResult", outcome: added === "added" ? "accepted" : added, digest });
    if (added !== "added") return;
    this.send("all", { kind: "request", request });
    this.inst.active = true;
    this.tryPropose();
  }

  /** Null if the request is acceptable; else why not. Verifies the signature last (the costly check). */
  private checkRequest(request: SignedRequest): CommitteeDropReason | null {
    if (!Number.isInteger(request.owner) || request.owner < 0 || request.owner >= this.quorum.k) return "notOwner";
    if (request.proposal.length > this.options.maxProposalBytes) return "malformed";
    if (!bytesEqual(this.options.hash(request.proposal), request.digest)) return "malformed";
    if (this.decidedDigests.has(toHex(request.digest))) return "alreadyDecided";
    return verifyRequest(this.keys, request) ? null : "badSignature";
  }

  private onRequest(request: SignedRequest): void {
    if (this.queue.has(request.digest)) return this.drop("duplicate");
    const problem = this.checkRequest(request);
    if (problem !== null) return this.drop(problem);
    if (this.queue.add(request) === "full") return this.drop("queueFull");
    this.inst.active = true;
    this.tryPropose();
  }

  // ── message routing ────────────────────────────────────────────────────────────────────────────────

  private onMessage(from: OwnerIndex, message: CommitteeMessage): void {
    if (!Number.isInteger(from) || from < 0 || from >= this.quorum.k || from === this.self) {
      return this.drop("notOwner");
    }
    if (message.kind === "request") return this.onRequest(message.request);
    const seq = seqOf(message);
    if (seq > this.inst.seq + 1) return this.drop("seqAhead");
    if (seq === this.inst.seq + 1) return this.bufferAhead(from, message);
    if (seq < this.inst.seq) {
      if (message.kind === "timeout" || message.kind === "propose") this.answerLate(from, seq);
      return this.drop("seqBehind");
    }
    switch (message.kind) {
      case "propose":
        return this.onPropose(from, message);
      case "vote":
        return this.onVote(message.vote);
      case "timeout":
        return this.onTimeoutVote({ vote: message.vote, highPrepare: message.highPrepare });
      case "certificate":
        return this.onCertificate(message.certificate);
      case "timeoutCertificate":
        return this.onTimeoutCertificate(message.certificate);
    }
  }

  private bufferAhead(from: OwnerIndex, message: CommitteeMessage): void {
    const buffered = this.ahead.get(from) ?? [];
    if (buffered.length >= COMMITTEE_BOUNDS.aheadPerOwner) return this.drop("aheadBufferFull");
    buffered.push(message);
    this.ahead.set(from, buffered);
  }

  /** An owner still working on a decided seq gets its commit certificate, at most once per half base timeout. */
  private answerLate(from: OwnerIndex, seq: number): void {
    const certificate = this.decidedCertificates.get(seq);
    if (certificate === undefined) return;
    const last = this.lateAnsweredAt.get(from);
    if (last !== undefined && this.nowMs - last < this.options.baseTimeoutMs / 2) return;
    this.lateAnsweredAt.set(from, this.nowMs);
    this.send([from], { kind: "certificate", certificate });
  }

  private inWindow(round: number, behind: number): boolean {
    if (round > this.inst.round + COMMITTEE_BOUNDS.roundsAhead) {
      this.drop("roundAhead");
      return false;
    }
    if (round < this.inst.round - behind) {
      this.drop("roundBehind");
      return false;
    }
    return true;
  }

  private roundVotes(round: number): RoundVotes {
    let votes = this.inst.rounds.get(round);
    if (votes === undefined) {
      votes = new RoundVotes(round);
      this.inst.rounds.set(round, votes);
    }
    return votes;
  }

  // ── proposals ──────────────────────────────────────────────────────────────────────────────────────

  private onPropose(from: OwnerIndex, m: Extract<CommitteeMessage, { kind: "propose" }>): void {
    if (!this.inWindow(m.round, 0)) return;
    // The transport authenticates `from`; the proposal itself carries no leader signature.
    if (from !== this.leaderOf(m.seq, m.round)) return this.drop("notLeader");
    const votes = this.roundVotes(m.round);
    if (votes.proposal !== undefined) {
      if (bytesEqual(votes.proposal.request.digest, m.request.digest)) return this.drop("duplicate");
      if (this.checkRequest(m.request) === null) {
        this.recordEvidence({
          kind: "proposal",
          seq: m.seq,
          round: m.round,
          leader: from,
          first: votes.proposal.request,
          second: m.request,
        });
      }
      return this.drop("equivocation");
    }
    const problem = this.checkRequest(m.request) ?? this.checkJustification(m);
    if (problem !== null) return this.drop(problem);
    votes.proposal = { request: m.request, justify: m.justify };
    this.inst.seen.add(m.request);
    this.inst.active = true;
    this.raiseLock(m.justify);
    this.raiseLock(m.entry?.highPrepare ?? null);
    if (m.round > this.inst.round && m.entry !== null) this.enterRound(m.round, m.entry);
    else this.tryPrepare(m.round);
  }

  /**
   * Round 0 proposals carry nothing. A later round's carries the timeout certificate of the round before
   * (proof it started) and, if that certificate names a prepare certificate, a justify at least as high
   * whose digest is the one proposed: a leader can never drop a value that may have been committed.
   */
  private checkJustification(m: Extract<CommitteeMessage, { kind: "propose" }>): CommitteeDropReason | null {
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
      if (!verifyCertificate(justify, this.keys, this.quorum)) return "badSignature";
    }
    return verifyTimeoutCertificate(entry, this.keys, this.quorum) ? null : "badSignature";
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
        : this.queue.next(this.lastDecidedOwner);
    if (request === undefined) return;
    const proposal = { seq: inst.seq, round: inst.round, request, justify, entry: inst.entry };
    inst.own.recordProposal(inst.round, proposal);
    this.persist({ kind: "proposal", ...proposal });
    this.send("all", { kind: "propose", ...proposal });
    this.roundVotes(inst.round).proposal = { request, justify };
    inst.seen.add(request);
    inst.active = true;
    this.tryPrepare(inst.round);
  }

  // ── votes ──────────────────────────────────────────────────────────────────────────────────────────

  /** Prepare the round's proposal once, if the lock allows it (the lock was already raised past any justify). */
  private tryPrepare(round: number): void {
    const inst = this.inst;
    const proposal = inst.rounds.get(round)?.proposal;
    if (proposal === undefined || round !== inst.round) return;
    if (inst.own.vote("prepare", round) !== undefined) return;
    const digest = proposal.request.digest;
    if (inst.lock !== null && !bytesEqual(inst.lock.digest, digest)) return this.drop("lockedOut");
    this.castVote("prepare", round, digest);
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

  private onVote(vote: Vote): void {
    if (!this.inWindow(vote.round, COMMITTEE_BOUNDS.roundsBehind)) return;
    const known = this.inst.rounds.get(vote.round)?.votes(vote.phase).get(vote.voter);
    if (known !== undefined && bytesEqual(known.digest, vote.digest)) return this.drop("duplicate");
    if (!verifyVote(this.keys, vote)) return this.drop("badSignature");
    this.inst.active = true;
    this.countVote(vote);
  }

  private countVote(vote: Vote): void {
    const votes = this.roundVotes(vote.round);
    const outcome = votes.addVote(vote, (e) => this.recordEvidence(e));
    if (outcome !== "added") return this.drop(outcome);
    const { account } = this.keys;
    if (vote.phase === "prepare" && votes.prepareCertificate === undefined) {
      const certificate = votes.certificateFor("prepare", account, vote.seq, vote.digest, this.quorum.q);
      if (certificate !== undefined) this.onPrepareCertificate(certificate);
    } else if (vote.phase === "commit" && votes.commitCertificate === undefined) {
      const certificate = votes.certificateFor("commit", account, vote.seq, vote.digest, this.quorum.q);
      if (certificate === undefined) return;
      votes.commitCertificate = certificate;
      // The round's leader spreads the certificate; everyone else also forms it from the votes.
      if (this.leaderOf(vote.seq, vote.round) === this.self) this.send("all", { kind: "certificate", certificate });
      this.decide(certificate);
    }
  }

  private onPrepareCertificate(certificate: Certificate): void {
    const votes = this.inst.rounds.get(certificate.round);
    if (votes !== undefined && votes.prepareCertificate === undefined) votes.prepareCertificate = certificate;
    this.raiseLock(certificate);
    if (certificate.round > this.inst.round) this.enterRound(certificate.round, null);
    else this.tryCommit(certificate.round);
  }

  private onCertificate(certificate: Certificate): void {
    if (!bytesEqual(certificate.account, this.keys.account)) return this.drop("malformed");
    if (certificate.phase === "prepare") {
      const lockRound = this.inst.lock?.round ?? -1;
      if (certificate.round <= lockRound && certificate.round < this.inst.round) return this.drop("duplicate");
    }
    if (!verifyCertificate(certificate, this.keys, this.quorum)) return this.drop("badSignature");
    this.inst.active = true;
    if (certificate.phase === "commit") this.decide(certificate);
    else this.onPrepareCertificate(certificate);
  }

  private raiseLock(certificate: Certificate | null): void {
    if (certificate === null) return;
    const lock = this.inst.lock;
    if (lock !== null && certificate.round <= lock.round) return;
    this.inst.lock = certificate;
    this.persist({ kind: "lock", certificate });
  }

  // ── timeouts and rounds ────────────────────────────────────────────────────────────────────────────

  private onTimeoutVote(entry: TimeoutEntry): void {
    const { vote, highPrepare } = entry;
    if (!this.inWindow(vote.round, 0)) return;
    if (!highPrepareMatches(highPrepare, vote.highPrepareRound, vote.seq, vote.round)) {
      return this.drop("malformed");
    }
    const known = this.inst.rounds.get(vote.round)?.timeouts.get(vote.voter);
    if (known !== undefined && known.vote.highPrepareRound === vote.highPrepareRound) return this.drop("duplicate");
    if (!verifyTimeoutVote(this.keys, vote)) return this.drop("badSignature");
    if (highPrepare !== null && !verifyCertificate(highPrepare, this.keys, this.quorum)) {
      return this.drop("badSignature");
    }
    this.inst.active = true;
    this.raiseLock(highPrepare);
    this.countTimeout(entry);
  }

  private countTimeout(entry: TimeoutEntry): void {
    const votes = this.roundVotes(entry.vote.round);
    const outcome = votes.addTimeout(entry, (e) => this.recordEvidence(e));
    if (outcome !== "added") return this.drop(outcome);
    // f+1 timeouts include a correct owner's: join them, so owners whose timers drifted still form a TC.
    const { round } = entry.vote;
    if (round === this.inst.round && votes.timeouts.size > this.quorum.f) this.signTimeout();
    if (votes.timeoutCertificate !== undefined) return;
    const certificate = votes.timeoutCertificateFor(this.inst.seq, this.quorum.q);
    if (certificate === undefined) return;
    votes.timeoutCertificate = certificate;
    this.enterRound(round + 1, certificate);
  }

  private onTimeoutCertificate(certificate: TimeoutCertificate): void {
    if (certificate.round < this.inst.round) return this.drop("roundBehind");
    if (!verifyTimeoutCertificate(certificate, this.keys, this.quorum)) return this.drop("badSignature");
    this.inst.active = true;
    this.raiseLock(certificate.highPrepare);
    this.enterRound(certificate.round + 1, certificate);
  }

  /** Sign this round's timeout once (naming the lock), send it and count it. */
  private signTimeout(): void {
    const inst = this.inst;
    if (inst.own.timeout(inst.round) !== undefined) return;
    const highPrepare = inst.lock;
    const highPrepareRound = highPrepare?.round ?? null;
    const message = timeoutSigningBytes(this.keys.account, inst.seq, inst.round, highPrepareRound);
    const vote: TimeoutVote = {
      seq: inst.seq,
      round: inst.round,
      highPrepareRound,
      voter: this.self,
      signature: this.options.sign(message),
    };
    const entry = { vote, highPrepare };
    inst.own.recordTimeout(entry);
    this.timeoutsSigned++;
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
    this.roundsEntered++;
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
    if (inst.deadlineMs === undefined || this.nowMs < inst.deadlineMs) return this.tryPropose();
    const seq = inst.seq;
    const round = inst.round;
    const signed = inst.own.timeout(round);
    if (signed === undefined) this.signTimeout();
    else this.send("all", { kind: "timeout", ...signed });
    if (this.inst.seq !== seq || this.inst.round !== round) return; // our own timeout completed a certificate
    // Lossy links: re-send everything this owner said in this seq that others may still need.
    for (const phase of ["prepare", "commit"] as const) {
      const vote = inst.own.latestVote(phase);
      if (vote !== undefined) this.send("all", { kind: "vote", vote });
    }
    const proposal = inst.own.proposal(round);
    if (proposal !== undefined) this.send("all", { kind: "propose", ...proposal });
    if (inst.entry !== null) this.send("all", { kind: "timeoutCertificate", certificate: inst.entry });
    for (const request of this.queue.ownQueue(this.self).slice(0, COMMITTEE_BOUNDS.requestsResentPerTimeout)) {
      this.send("all", { kind: "request", request });
    }
    this.armTimer();
    this.tryPropose();
  }

  // ── decisions ──────────────────────────────────────────────────────────────────────────────────────

  private decide(certificate: Certificate): void {
    const inst = this.inst;
    if (certificate.seq !== inst.seq) return;
    const request = inst.seen.get(certificate.digest) ?? this.queue.find(certificate.digest);
    this.persist({ kind: "decided", certificate, requestOwner: request?.owner ?? null });
    this.out.push({
      type: "decided",
      seq: certificate.seq,
      digest: certificate.digest,
      certificate,
      proposal: request?.proposal,
    });
    this.decidedCount++;
    this.rememberDecided(certificate);
    this.queue.remove(certificate.digest);
    if (request !== undefined) this.lastDecidedOwner = request.owner;
    this.inst = this.newInstance(inst.seq + 1);
    this.inst.active = this.queue.size > 0;
    this.inst.deadlineMs = undefined;
    const buffered = this.ahead;
    this.ahead = new Map();
    for (const [from, messages] of buffered) for (const message of messages) this.onMessage(from, message);
    if (this.inst.seq === certificate.seq + 1) this.tryPropose();
  }

  private rememberDecided(certificate: Certificate): void {
    this.decidedCertificates.set(certificate.seq, certificate);
    for (const seq of this.decidedCertificates.keys()) {
      if (this.decidedCertificates.size <= COMMITTEE_BOUNDS.decidedCertificatesKept) break;
      this.decidedCertificates.delete(seq);
    }
    this.decidedDigests.add(toHex(certificate.digest));
    for (const digest of this.decidedDigests) {
      if (this.decidedDigests.size <= COMMITTEE_BOUNDS.decidedDigestsKept) break;
      this.decidedDigests.delete(digest);
    }
  }

  // ── plumbing ───────────────────────────────────────────────────────────────────────────────────────

  private newInstance(seq: number): Instance {
    return {
      seq,
      round: 0,
      rounds: new Map(),
      lock: null,
      entry: null,
      own: new OwnStatements(),
      seen: new SeenRequests(COMMITTEE_BOUNDS.seenRequestsPerSeq),
      active: false,
      deadlineMs: undefined,
    };
  }

  private persist(record: CommitteeRecord): void {
    this.out.push({ type: "persist", record });
  }

  private send(to: readonly OwnerIndex[] | "all", message: CommitteeMessage): void {
    this.out.push({ type: "send", to, message });
  }

  private drop(reason: CommitteeDropReason): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
  }

  private recordEvidence(equivocation: Equivocation): void {
    this.equivocations++;
    if (this.evidenceLog.length < COMMITTEE_BOUNDS.evidenceKept) this.evidenceLog.push(equivocation);
  }
}

function seqOf(message: Exclude<CommitteeMessage, { kind: "request" }>): number {
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
