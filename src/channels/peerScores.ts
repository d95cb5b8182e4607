import { ErrorCode, TallyError } from "../core/errors.ts";
import type { PeerId } from "../core/peerId.ts";

/**
 * Misbehaviour scores. Each event adds a (negative) weight to the peer's score; scores decay exponentially toward
 * 0 with an injected clock, so an honest peer's occasional glitch is forgotten while a sustained offender crosses
 * the threshold and gets a ban verdict. This class only decides; the caller disconnects.
 *
 * A ban resets the score to 0: when it ends, the peer starts over, and offending again bans it again.
 * At most `maxTrackedPeers` peers are tracked: to make room, the least recently scored neutral peer (|score| < 1,
 * not banned) is forgotten first, then the least recently scored unbanned one, and only if every tracked peer is
 * banned, the oldest ban (that peer may return early: the bound on memory wins).
 */
export const SCORE_EVENTS = [
  "malformedEnvelope",
  "malformedBody",
  "unknownProtocol",
  "unsupportedVersion",
  "forbidden",
  "budgetOverrun",
  "unsolicitedResponse",
  "requestOverload",
  "contradiction",
  "forgedPayload",
] as const;
export type ScoreEvent = (typeof SCORE_EVENTS)[number];

export interface PeerScoreOptions {
  weights: Readonly<Record<ScoreEvent, number>>;
  /** `budgetOverrun` is applied once per this many budget drops (strangers only; see docs/channels.md). */
  budgetDropsPerEvent: number;
  halfLifeMs: number;
  /** A score at or below this bans the peer. */
  banThreshold: number;
  banMs: number;
  maxTrackedPeers: number;
}

export const DEFAULT_SCORE_WEIGHTS: Readonly<Record<ScoreEvent, number>> = {
  malformedEnvelope: -20,
  malformedBody: -20,
  unknownProtocol: -2,
  unsupportedVersion: -2,
  forbidden: -10,
  budgetOverrun: -5,
  unsolicitedResponse: -10,
  requestOverload: -1,
  contradiction: -50,
  forgedPayload: -20,
};

export const DEFAULT_PEER_SCORE_OPTIONS: Readonly<PeerScoreOptions> = {
  weights: DEFAULT_SCORE_WEIGHTS,
  budgetDropsPerEvent: 256,
  halfLifeMs: 10_000,
  banThreshold: -100,
  banMs: 60_000,
  maxTrackedPeers: 4_096,
};

export interface BanVerdict {
  type: "ban";
  peer: PeerId;
  untilMs: number;
}

interface ScoreEntry {
  score: number;
  atMs: number;
  /** 0 when not banned. */
  bannedUntilMs: number;
  budgetDrops: number;
}

const NEUTRAL_SCORE = 1;
const EVICTION_SCAN = 64;

export class PeerScores {
  private readonly opts: PeerScoreOptions;
  /** Map order is least recently scored first: every update re-inserts the entry. */
  private readonly entries = new Map<PeerId, ScoreEntry>();
  private readonly banned = new Set<PeerId>();

  constructor(opts: Partial<PeerScoreOptions> = {}) {
    this.opts = { ...DEFAULT_PEER_SCORE_OPTIONS, ...opts };
    const o = this.opts;
    const ok =
      o.halfLifeMs > 0 &&
      o.banThreshold < 0 &&
      o.banMs >= 0 &&
      Number.isSafeInteger(o.maxTrackedPeers) &&
      o.maxTrackedPeers > 0 &&
      Number.isSafeInteger(o.budgetDropsPerEvent) &&
      o.budgetDropsPerEvent > 0 &&
      SCORE_EVENTS.every((e) => Number.isFinite(o.weights[e]));
    if (!ok) throw new TallyError(ErrorCode.ChannelInvalidOption, "invalid peer score options");
  }

  /** Score `count` occurrences of `event`; returns a ban verdict when the peer crosses the threshold. */
  record(peer: PeerId, event: ScoreEvent, nowMs: number, count = 1): BanVerdict | undefined {
    const entry = this.entryFor(peer, nowMs);
    if (entry.bannedUntilMs > nowMs) return undefined; // already banned: its traffic is not even decoded
    let occurrences = count;
    if (event === "budgetOverrun") {
      const before = Math.floor(entry.budgetDrops / this.opts.budgetDropsPerEvent);
      entry.budgetDrops += count;
      occurrences = Math.floor(entry.budgetDrops / this.opts.budgetDropsPerEvent) - before;
      if (occurrences === 0) return undefined;
    }
    entry.score = this.decayed(entry, nowMs) + occurrences * this.opts.weights[event];
    entry.atMs = nowMs;
    if (entry.score > this.opts.banThreshold) return undefined;
    entry.score = 0;
    entry.budgetDrops = 0;
    entry.bannedUntilMs = nowMs + this.opts.banMs;
    this.banned.add(peer);
    return { type: "ban", peer, untilMs: entry.bannedUntilMs };
  }

  score(peer: PeerId, nowMs: number): number {
    const entry = this.entries.get(peer);
    return entry === undefined ? 0 : this.decayed(entry, nowMs);
  }

  isBanned(peer: PeerId, nowMs: number): boolean {
    const entry = this.entries.get(peer);
    return entry !== undefined && entry.bannedUntilMs > nowMs;
  }

  /** End of the peer's ban, if banned at `nowMs`. */
  bannedUntil(peer: PeerId, nowMs: number): number | undefined {
    const entry = this.entries.get(peer);
    return entry !== undefined && entry.bannedUntilMs > nowMs ? entry.bannedUntilMs : undefined;
  }

  /** Lift bans that ended by `nowMs`; returns the peers that may connect again. */
  tick(nowMs: number): PeerId[] {
    const lifted: PeerId[] = [];
    for (const peer of this.banned) {
      const entry = this.entries.get(peer);
      if (entry === undefined || entry.bannedUntilMs <= nowMs) {
        this.banned.delete(peer);
        if (entry !== undefined) entry.bannedUntilMs = 0;
        lifted.push(peer);
      }
    }
    return lifted;
  }

  get trackedPeers(): number {
    return this.entries.size;
  }

  get bannedPeers(): number {
    return this.banned.size;
  }

  private decayed(entry: ScoreEntry, nowMs: number): number {
    const dt = Math.max(0, nowMs - entry.atMs);
    return entry.score * 2 ** (-dt / this.opts.halfLifeMs);
  }

  private entryFor(peer: PeerId, nowMs: number): ScoreEntry {
    let entry = this.entries.get(peer);
    if (entry !== undefined) {
      this.entries.delete(peer);
    } else {
      if (this.entries.size >= this.opts.maxTrackedPeers) this.evictOne(nowMs);
      entry = { score: 0, atMs: nowMs, bannedUntilMs: 0, budgetDrops: 0 };
    }
    this.entries.set(peer, entry);
    return entry;
  }

  private evictOne(nowMs: number): void {
    let firstUnbanned: PeerId | undefined;
    let scanned = 0;
    for (const [peer, entry] of this.entries) {
      if (entry.bannedUntilMs > nowMs) continue;
      firstUnbanned ??= peer;
      if (Math.abs(this.decayed(entry, nowMs)) < NEUTRAL_SCORE) {
        this.forget(peer);
        return;
      }
      if (++scanned >= EVICTION_SCAN) break;
    }
    const victim = firstUnbanned ?? this.entries.keys().next().value;
    if (victim !== undefined) this.forget(victim);
  }

  private forget(peer: PeerId): void {
    this.entries.delete(peer);
    this.banned.delete(peer);
  }
}
