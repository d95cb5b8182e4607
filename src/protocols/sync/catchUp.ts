import type { PeerId } from "../../core/peerId.ts";
import type { RandomSource } from "../../core/random.ts";
import { decodeTransfer, type EncodedTransfer } from "../../core/transfer.ts";
import { drawDistinct, randomElement, randomIndex } from "../../sampling/randomDraw.ts";
import { bucketOfAddress, WATERMARK_BUCKETS, type WatermarkSnapshot } from "../status/watermarkSummary.ts";
import { MAX_BODIES, MAX_DIGESTS, type SyncRequest, type SyncResponse } from "./syncMessages.ts";
import { TrustedClaims } from "./trustedClaims.ts";

/** What catch-up reads of this node's ledger. */
export interface CatchUpLedger {
  /**
   * The seq sum of one of this node's watermark buckets now. Only the sums, not a whole summary: catch-up
   * reads them every tick, and a summary spells its 64 digests as hex again after each change.
   */
  seqSumOf(bucket: number): bigint;
  /** The seq of the account's last resolved outgoing transfer (0 before the first). */
  watermarkOf(address: string): number;
  /** Resolved here, or delivered and waiting for its predecessor or deps. */
  isSlotTaken(address: string, seq: number): boolean;
}

export interface CatchUpOptions {
  /** Whether a peer may be asked and believed: a member other than this node (static list or node record). */
  readonly isPeer: (peer: PeerId) => boolean;
  /** Peers asked per digest round: the delivery sample (Bracha: every other member). */
  readonly sampleSize: number;
  /**
   * Draw the sample with replacement and weigh each peer's answer by how often it was drawn, as the
   * contagion broadcast's delivery sample does; without it, `sampleSize` distinct peers (Bracha, full
   * membership). A sampled design's D is far larger than a small network, so distinct draws could never reach
   * its threshold.
   */
  readonly withReplacement?: boolean;
  /** Identical digests needed to accept a transfer: D̂ (Bracha: 2f + 1). */
  readonly threshold: number;
  /**
   * `count` draws from the whole population, as the broadcast draws its delivery sample (its Ω: the member
   * list, or an open network's view); a drawn peer that is not connected counts as no answer. Without it the
   * sample is drawn from the connected peers only, which lets whoever a restarted node first reconnects to
   * hold the whole sample.
   */
  readonly draw?: (count: number) => readonly PeerId[];
  /** False while the broadcast may not decide (an open view still filling): no transfer is accepted then. */
  readonly mayDecide?: () => boolean;
  /** Byzantine members tolerated: `behind` trusts the (f+1)-th most advanced peer, never one liar. */
  readonly f: number;
  readonly random: RandomSource;
  /** How often each connected peer's status is asked again. */
  readonly statusIntervalMs?: number;
  /** A status is acted on only once this old, so broadcasts in flight when it was taken can land first. */
  readonly graceMs?: number;
  /** Accounts known to be behind, remembered at once (beyond: found again at the next listing). */
  readonly maxWanted?: number;
  /** Digest rounds (one account's range each) in flight at once. */
  readonly maxRounds?: number;
}

export type CatchUpAction =
  | { readonly type: "askStatus"; readonly to: PeerId }
  | { readonly type: "request"; readonly ask: number; readonly to: PeerId; readonly request: SyncRequest }
  | { readonly type: "penalize"; readonly peer: PeerId; readonly why: string }
  | { readonly type: "deliver"; readonly encoded: EncodedTransfer };

export interface CatchUpProgress {
  readonly state: "synced" | "syncing";
  /** Resolved transfers this node lacks, by the (f+1)-th most advanced peer's summary. */
  readonly behind: number;
  /** Transfers accepted through catch-up since start. */
  readonly fetched: number;
}

interface PeerStatus {
  snapshot: WatermarkSnapshot;
  atMs: number;
  /** Listing of its lagging buckets already started for this status. */
  listed: boolean;
}

/** One account's range, asked of a fresh sample; decided when every sampled peer answered or failed. */
interface DigestRound {
  readonly source: string;
  readonly fromSeq: number;
  readonly sample: readonly PeerId[];
  /** How many of the sample's draws each peer holds (1 each without replacement). */
  readonly weights: ReadonlyMap<PeerId, number>;
  readonly answers: Map<PeerId, readonly string[] | null>;
}

/** Digests accepted by quorum, their bodies being fetched from one of the peers that voted for them. */
interface BodyFetch {
  readonly source: string;
  readonly fromSeq: number;
  readonly ids: readonly string[];
  readonly voters: PeerId[];
}

type Pending =
  | { readonly kind: "watermarks"; readonly to: PeerId; readonly buckets: readonly number[] }
  | { readonly kind: "digests"; readonly to: PeerId; readonly round: DigestRound }
  | { readonly kind: "bodies"; readonly to: PeerId; readonly fetch: BodyFetch };

export const CATCH_UP_DEFAULTS = {
  statusIntervalMs: 3_000,
  graceMs: 1_000,
  maxWanted: 4_096,
  maxRounds: 16,
} as const;

/** Buckets asked per watermark listing request. */
const BUCKETS_PER_LISTING = 16;

/**
 * Catch-up, without I/O: compares this node's watermark summary with its peers' status answers, lists the
 * accounts of lagging buckets, and fetches the missing (account, seq) ranges. A transfer is accepted only when
 * `threshold` peers of a fresh sample report the same id for its (account, seq); its body must hash to that id
 * and is then handed to the ledger like any broadcast delivery (signature, deps and order checked there).
 * Peers that report another id where the sample agreed are penalized. Everything is bounded: one listing per
 * peer, `maxRounds` digest rounds, one body fetch per round, `maxWanted` accounts.
 */
export class CatchUp {
  private readonly ledger: CatchUpLedger;
  private readonly isPeer: (peer: PeerId) => boolean;
  private readonly options: Required<Omit<CatchUpOptions, "isPeer" | "random" | "draw" | "mayDecide">>;
  private readonly draw: ((count: number) => readonly PeerId[]) | undefined;
  private readonly mayDecide: () => boolean;
  private readonly random: RandomSource;
  private readonly connected = new Set<PeerId>();
  private readonly statuses = new Map<PeerId, PeerStatus>();
  private readonly trusted = new TrustedClaims();
  private readonly lastAskedMs = new Map<PeerId, number>();
  /** Account → highest watermark a peer claimed for it. */
  private readonly wanted = new Map<string, number>();
  /**
   * Account → highest seq handed out for delivery: the ledger sees a `deliver` only after this call returns,
   * so the next range starts past it, not at the ledger's watermark. Bounded by `maxWanted` with `wanted`.
   */
  private readonly handedUpTo = new Map<string, number>();
  private readonly rounds = new Map<string, DigestRound | BodyFetch>();
  private readonly pending = new Map<number, Pending>();
  private nextAsk = 1;
  private fetchedCount = 0;

  constructor(ledger: CatchUpLedger, options: CatchUpOptions) {
    this.ledger = ledger;
    this.isPeer = options.isPeer;
    this.random = options.random;
    this.draw = options.draw;
    this.mayDecide = options.mayDecide ?? (() => true);
    this.options = {
      sampleSize: options.sampleSize,
      withReplacement: options.withReplacement ?? false,
      threshold: options.threshold,
      f: options.f,
      statusIntervalMs: options.statusIntervalMs ?? CATCH_UP_DEFAULTS.statusIntervalMs,
      graceMs: options.graceMs ?? CATCH_UP_DEFAULTS.graceMs,
      maxWanted: options.maxWanted ?? CATCH_UP_DEFAULTS.maxWanted,
      maxRounds: options.maxRounds ?? CATCH_UP_DEFAULTS.maxRounds,
    };
  }

  peerUp(peer: PeerId): void {
    // Membership is checked when a peer is asked or counted, not here: a node restarted with an empty database
    // is connected to before it holds its peers' records, and would otherwise never ask them. Bounded by the
    // transport's connections: `peerDown` removes the peer.
    this.connected.add(peer);
  }

  peerDown(peer: PeerId): void {
    this.connected.delete(peer);
    if (this.statuses.delete(peer)) this.trusted.invalidate();
  }

  onStatus(peer: PeerId, snapshot: WatermarkSnapshot, nowMs: number): void {
    if (!this.isPeer(peer)) return;
    this.connected.add(peer);
    this.statuses.set(peer, { snapshot, atMs: nowMs, listed: false });
    this.trusted.invalidate();
  }

  progress(): CatchUpProgress {
    const behind = this.behind();
    const busy = this.rounds.size > 0 || this.wanted.size > 0;
    return { state: behind > 0 || busy ? "syncing" : "synced", behind, fetched: this.fetchedCount };
  }

  tick(nowMs: number): CatchUpAction[] {
    const out: CatchUpAction[] = [];
    for (const peer of this.connected) {
      if (!this.isPeer(peer)) continue;
      if (nowMs - (this.lastAskedMs.get(peer) ?? -Infinity) >= this.options.statusIntervalMs) {
        this.lastAskedMs.set(peer, nowMs);
        out.push({ type: "askStatus", to: peer });
      }
    }
    this.listLaggingBuckets(nowMs, out);
    this.startRounds(out);
    return out;
  }

  /** A peer answered request `ask`. */
  onAnswer(ask: number, from: PeerId, response: SyncResponse): CatchUpAction[] {
    const pending = this.pending.get(ask);
    if (pending === undefined || pending.to !== from) return [];
    this.pending.delete(ask);
    const out: CatchUpAction[] = [];
    if (pending.kind === "watermarks" && response.kind === "watermarks") {
      this.onWatermarks(pending, response, out);
    } else if (pending.kind === "digests" && response.kind === "digests") {
      pending.round.answers.set(from, response.ids.slice(0, MAX_DIGESTS));
      this.decideRound(pending.round, out);
    } else if (pending.kind === "bodies" && response.kind === "bodies") {
      this.onBodies(pending.fetch, from, response.bodies, out);
    } else {
      out.push({ type: "penalize", peer: from, why: "answer of the wrong kind" });
      this.onFailure(pending, from, out);
    }
    this.startRounds(out);
    return out;
  }

  /** Request `ask` timed out or was refused. */
  onFailed(ask: number, from: PeerId): CatchUpAction[] {
    const pending = this.pending.get(ask);
    if (pending === undefined || pending.to !== from) return [];
    this.pending.delete(ask);
    const out: CatchUpAction[] = [];
    this.onFailure(pending, from, out);
    this.startRounds(out);
    return out;
  }

  private onFailure(pending: Pending, from: PeerId, out: CatchUpAction[]): void {
    if (pending.kind === "digests") {
      pending.round.answers.set(from, null);
      this.decideRound(pending.round, out);
    } else if (pending.kind === "bodies") {
      this.retryBodies(pending.fetch, from, out);
    }
  }

  private request(to: PeerId, request: SyncRequest, pending: Pending, out: CatchUpAction[]): void {
    const ask = this.nextAsk++;
    this.pending.set(ask, pending);
    out.push({ type: "request", ask, to, request });
  }

  /** The (f+1)-th highest claim per bucket bounds what honest peers hold; sum its excess over ours. */
  private behind(): number {
    const trusted = this.trusted.of(() => [...this.statuses.values()].map((s) => s.snapshot), this.options.f);
    if (trusted === undefined) return 0;
    let total = 0n;
    for (let b = 0; b < WATERMARK_BUCKETS; b++) {
      const mine = this.ledger.seqSumOf(b);
      if (trusted[b]! > mine) total += trusted[b]! - mine;
    }
    return Number(total);
  }

  private listLaggingBuckets(nowMs: number, out: CatchUpAction[]): void {
    for (const [peer, status] of this.statuses) {
      if (status.listed || nowMs - status.atMs < this.options.graceMs) continue;
      if ([...this.pending.values()].some((p) => p.kind === "watermarks" && p.to === peer)) continue;
      status.listed = true;
      const lagging: number[] = [];
      status.snapshot.buckets.forEach((b, i) => {
        if (b.seqSum > this.ledger.seqSumOf(i)) lagging.push(i);
      });
      for (let i = 0; i < lagging.length; i += BUCKETS_PER_LISTING) {
        const buckets = lagging.slice(i, i + BUCKETS_PER_LISTING);
        this.request(peer, { kind: "watermarks", buckets }, { kind: "watermarks", to: peer, buckets }, out);
      }
    }
  }

  private onWatermarks(
    pending: Extract<Pending, { kind: "watermarks" }>,
    response: Extract<SyncResponse, { kind: "watermarks" }>,
    out: CatchUpAction[],
  ): void {
    let last: string | undefined;
    for (const [address, seq] of response.entries) {
      if (!pending.buckets.includes(bucketOfAddress(address))) {
        out.push({ type: "penalize", peer: pending.to, why: "listed an account of a bucket not asked for" });
        return;
      }
      last = address;
      if (seq <= this.ledger.watermarkOf(address)) continue;
      const known = this.wanted.get(address);
      if (known !== undefined) this.wanted.set(address, Math.max(known, seq));
      else if (this.wanted.size < this.options.maxWanted) this.wanted.set(address, seq);
    }
    if (response.more && last !== undefined && this.wanted.size < this.options.maxWanted) {
      const request: SyncRequest = { kind: "watermarks", buckets: pending.buckets, after: last };
      this.request(pending.to, request, pending, out);
    }
  }

  /** Starts digest rounds for wanted accounts, up to `maxRounds` at once. */
  private startRounds(out: CatchUpAction[]): void {
    if (!this.mayDecide()) return;
    for (const [source, target] of this.wanted) {
      if (this.rounds.size >= this.options.maxRounds) return;
      if (this.rounds.has(source)) continue;
      let fromSeq = Math.max(this.ledger.watermarkOf(source), this.handedUpTo.get(source) ?? 0) + 1;
      while (fromSeq <= target && this.ledger.isSlotTaken(source, fromSeq)) fromSeq++;
      if (fromSeq > target) {
        this.forget(source);
        continue;
      }
      const weights = this.drawSample();
      if (sumOf(weights.values()) < this.options.threshold) return;
      const sample = [...weights.keys()];
      const count = Math.min(MAX_DIGESTS, target - fromSeq + 1);
      const round: DigestRound = { source, fromSeq, sample, weights, answers: new Map() };
      this.rounds.set(source, round);
      for (const peer of sample) {
        this.request(
          peer,
          { kind: "digests", source, fromSeq, count },
          { kind: "digests", to: peer, round },
          out,
        );
      }
    }
  }

  private forget(source: string): void {
    this.wanted.delete(source);
    this.handedUpTo.delete(source);
  }

  /**
   * A fresh uniform sample, as connected peer → draws: `sampleSize` draws from the population (`draw`), of
   * which only the connected peers' count; or, without `draw`, from the connected peers: `sampleSize` draws
   * with replacement, or (partial Fisher–Yates) up to `sampleSize` distinct peers.
   */
  private drawSample(): Map<PeerId, number> {
    const weights = new Map<PeerId, number>();
    if (this.draw !== undefined) {
      for (const peer of this.draw(this.options.sampleSize)) {
        if (this.connected.has(peer) && this.isPeer(peer)) weights.set(peer, (weights.get(peer) ?? 0) + 1);
      }
      return weights;
    }
    const pool = [...this.connected].filter((peer) => this.isPeer(peer));
    if (this.options.withReplacement) {
      if (pool.length === 0) return weights;
      for (let i = 0; i < this.options.sampleSize; i++) {
        const peer = pool[randomIndex(this.random, pool.length)]!;
        weights.set(peer, (weights.get(peer) ?? 0) + 1);
      }
      return weights;
    }
    for (const peer of drawDistinct(pool, this.options.sampleSize, this.random)) weights.set(peer, 1);
    return weights;
  }

  /** Once every sampled peer answered or failed: accept the longest prefix of seqs with a quorum. */
  private decideRound(round: DigestRound, out: CatchUpAction[]): void {
    if (round.answers.size < round.sample.length) return;
    const ids: string[] = [];
    let voters: PeerId[] = [];
    for (let i = 0; ; i++) {
      const votes = new Map<string, PeerId[]>();
      for (const [peer, answer] of round.answers) {
        const id = answer?.[i];
        if (id !== undefined) votes.set(id, [...(votes.get(id) ?? []), peer]);
      }
      const weightOf = (voters: readonly PeerId[]) => sumOf(voters.map((p) => round.weights.get(p) ?? 0));
      const winner = [...votes].find(([, v]) => weightOf(v) >= this.options.threshold);
      if (winner === undefined) break;
      for (const [id, liars] of votes) {
        if (id === winner[0]) continue;
        for (const peer of liars) {
          out.push({
            type: "penalize",
            peer,
            why: `reported another transfer for ${round.source}:${round.fromSeq + i}`,
          });
          // A contradicted peer no longer counts as a source for this round's bodies.
          round.answers.set(peer, null);
        }
      }
      ids.push(winner[0]);
      voters = i === 0 ? winner[1] : voters.filter((p) => winner[1].includes(p));
    }
    if (ids.length === 0) {
      // No quorum yet (peers have not resolved it, or too few answered): found again at the next listing.
      this.rounds.delete(round.source);
      this.forget(round.source);
      return;
    }
    const fetch: BodyFetch = { source: round.source, fromSeq: round.fromSeq, ids, voters };
    this.rounds.set(round.source, fetch);
    this.askBodies(fetch, out);
  }

  private askBodies(fetch: BodyFetch, out: CatchUpAction[]): void {
    const peer = randomElement(this.random, fetch.voters);
    if (peer === undefined) {
      this.rounds.delete(fetch.source);
      return;
    }
    const count = Math.min(MAX_BODIES, fetch.ids.length);
    this.request(
      peer,
      { kind: "bodies", source: fetch.source, fromSeq: fetch.fromSeq, count },
      { kind: "bodies", to: peer, fetch },
      out,
    );
  }

  private retryBodies(fetch: BodyFetch, from: PeerId, out: CatchUpAction[]): void {
    const i = fetch.voters.indexOf(from);
    if (i >= 0) fetch.voters.splice(i, 1);
    this.askBodies(fetch, out);
  }

  private onBodies(
    fetch: BodyFetch,
    from: PeerId,
    bodies: readonly Uint8Array[],
    out: CatchUpAction[],
  ): void {
    let accepted = 0;
    for (const [i, bytes] of bodies.entries()) {
      if (i >= fetch.ids.length) break;
      let encoded: EncodedTransfer;
      try {
        encoded = decodeTransfer(bytes);
      } catch {
        break;
      }
      const t = encoded.transfer;
      if (encoded.id !== fetch.ids[i] || t.source !== fetch.source || t.seq !== fetch.fromSeq + i) break;
      out.push({ type: "deliver", encoded });
      this.handedUpTo.set(fetch.source, t.seq);
      accepted++;
    }
    this.fetchedCount += accepted;
    if (accepted < Math.min(MAX_BODIES, fetch.ids.length)) {
      // It voted for these ids and cannot produce them, or produced others: it contradicts itself.
      out.push({ type: "penalize", peer: from, why: "bodies do not match the digests it reported" });
      const rest = { ...fetch, fromSeq: fetch.fromSeq + accepted, ids: fetch.ids.slice(accepted) };
      this.rounds.set(fetch.source, rest);
      this.retryBodies(rest, from, out);
      return;
    }
    const rest = fetch.ids.slice(accepted);
    if (rest.length > 0) {
      const next: BodyFetch = { ...fetch, fromSeq: fetch.fromSeq + accepted, ids: rest };
      this.rounds.set(fetch.source, next);
      this.askBodies(next, out);
    } else {
      // The next range of this account (if still wanted) starts at the next tick or answer.
      this.rounds.delete(fetch.source);
    }
  }
}

function sumOf(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
