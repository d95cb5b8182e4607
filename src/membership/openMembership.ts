import { hash } from "node:crypto";
import { BoundedCache } from "../core/boundedCache.ts";
import type { PeerId } from "../core/peerId.ts";
import type { RandomSource } from "../core/random.ts";
import { randomElement } from "../sampling/randomDraw.ts";
import type { SamplingOracle } from "../sampling/samplingOracle.ts";
import { BasaltSampler, type Candidate } from "./basalt.ts";
import { type NodeRecord, type RecordRejection, verifyNodeRecord } from "./nodeRecord.ts";
import { OverBudgetPenalty } from "./overBudgetPenalty.ts";
import { RankedCandidate } from "./rank.ts";
import { addressGroups } from "./rankAddress.ts";
import { AnnouncementBudget, RecordBook } from "./recordBook.ts";
import { ViewOracle } from "./viewOracle.ts";

export interface OpenMembershipOptions {
  readonly self: PeerId;
  readonly network: string;
  readonly genesisHash: string;
  /** Leading zero bits an identity proof must have (genesis). */
  readonly identityDifficulty: number;
  /** Longest lifetime a record may claim (genesis TTL): a record expiring later is refused. */
  readonly recordTtlMs: number;
  /** Basalt's view: slots, and slots reseeded per round. */
  readonly viewSize: number;
  readonly resetsPerRound: number;
  /** Identities remembered at once (the record book's bound). */
  readonly maxRecords: number;
  /** A peer's record is replaced at most this often (its refresh period is far longer). */
  readonly minUpdateIntervalMs: number;
  readonly random: RandomSource;
  /** The record check (`verifyNodeRecord` unless a test counts its calls). */
  readonly verifyRecord?: typeof verifyNodeRecord;
  /**
   * Testing only (`--testing-unlinked-peer`): identities known (their records kept and served) but never
   * sampled, so this node's view never connects to them; for tests of traffic that must find its own way.
   */
  readonly unlinked?: ReadonlySet<PeerId>;
}

const CLOCK_SKEW_MS = 30_000;

/** Lapsed members remembered (`wasMember`): one entry per identity whose record expired recently. */
const LAPSED_ENTRIES = 4_096;
/**
 * Signed records remembered as verified, by the SHA-256 of their bytes. Every sampler exchange carries the
 * view's records again, unchanged until their peers refresh them, and each used to be checked in full every
 * time (decoded with its addresses parsed and its peer id spelled, then the proof of work and the
 * signature): on an idle 4-node devnet a node received ≈ 10 records a second, of which ≈ 2 were new, and
 * the checks were ≈ 0.7 % of its main thread at saturation. Bounded far above a view's worth (100); only
 * records that passed every check get in, so junk cannot push them out.
 */
const VERIFIED_RECORD_ENTRIES = 1_024;
/** What became of one record a peer sent: gossipsub relays accepted ones only; rejected ones cost the sender. */
export type RecordVerdict =
  | { readonly verdict: "accept"; readonly record: NodeRecord; readonly isNew: boolean }
  | {
      readonly verdict: "ignore";
      readonly reason: string;
      /** The sender is due a penalty: every 64th record it sent over its budget (overBudgetPenalty.ts). */
      readonly penalty?: "budgetOverrun";
    }
  | { readonly verdict: "reject"; readonly reason: RecordRejection };

/** Rejections that only a broken or lying sender produces; expiry can happen to a record in flight. */
const SENDER_FAULTS: ReadonlySet<RecordRejection> = new Set([
  "malformed",
  "badSignature",
  "wrongNetwork",
  "badIdentityProof",
]);

export interface MemberView {
  readonly peerId: PeerId;
  readonly addrs: readonly string[];
  /** When this node first accepted a record of the peer (ms since the epoch). */
  readonly since: number;
}

/**
 * Open membership without I/O: the set of identities this node knows (valid signed node records, bounded,
 * aged out when not refreshed) and a Basalt sampler fed from them. The sampler's view is the broadcast's
 * sampling oracle; `isMember` (a valid record) is who may take part at all. Records reach it from the
 * per-network gossipsub topic and from sampler exchanges; either way they are verified here first.
 */
export class OpenMembership {
  readonly oracle: SamplingOracle;
  private readonly options: OpenMembershipOptions;
  private readonly book: RecordBook;
  private readonly sampler: BasaltSampler;
  /** Peers whose records expired, and when (`wasMember`). */
  private readonly lapsed = new BoundedCache<PeerId, number>(LAPSED_ENTRIES);
  private readonly budget: AnnouncementBudget;
  private readonly overBudget = new OverBudgetPenalty();
  /**
   * Per accepted record, its sampler candidate (address parsed, four digests taken) and its record-book group,
   * computed once: every sampler round refills from every record held, and would otherwise parse each one's
   * addresses and look its digests up again. Keyed by the record object, so a replaced record's entry goes
   * with it; bounded by the book.
   */
  private readonly placed = new WeakMap<NodeRecord, PlacedRecord>();
  /** Bytes that passed `verifyNodeRecord`, by their digest, with what they decoded to. */
  private readonly verified = new BoundedCache<string, NodeRecord>(VERIFIED_RECORD_ENTRIES);
  private ownWire: Uint8Array | undefined;

  constructor(options: OpenMembershipOptions) {
    this.options = options;
    this.book = new RecordBook({
      self: options.self,
      maxRecords: options.maxRecords,
      minUpdateIntervalMs: options.minUpdateIntervalMs,
      groupOf: (record) => this.placementOf(record).group,
    });
    this.sampler = new BasaltSampler({
      self: options.self,
      viewSize: options.viewSize,
      resetsPerRound: options.resetsPerRound,
      random: options.random,
      // Reseeded and emptied slots are refilled from every identity this node holds a valid record of (records
      // reach every node by gossipsub flooding), not only from the view: each slot is then the minimum-rank
      // identity of everything the node knows. Verified records only, bounded by the book.
      known: () => this.knownCandidates(),
    });
    this.budget = new AnnouncementBudget();
    this.oracle = new ViewOracle({
      view: this.sampler,
      isMember: (peer) => this.isMember(peer),
      random: options.random,
    });
  }

  /**
   * A peer whose record expired within the last record TTL: a member moments ago, whose traffic still in
   * flight is refused without a penalty (`ChannelsOptions.wasMember`). At most LAPSED_ENTRIES remembered.
   */
  wasMember(peer: PeerId, nowMs: number): boolean {
    const lapsedAtMs = this.lapsed.get(peer);
    return lapsedAtMs !== undefined && nowMs - lapsedAtMs <= this.options.recordTtlMs;
  }

  /** This node itself, or the holder of a valid, unexpired record. */
  isMember(peer: PeerId): boolean {
    return peer === this.options.self || this.book.has(peer);
  }

  /** This node's own signed record, as announced and pushed (signed by the I/O layer: signing is async). */
  setOwnRecord(wire: Uint8Array): void {
    this.ownWire = wire;
  }

  /** One record from `sender` (the relaying peer on gossipsub, the answering peer of an exchange). */
  receive(wire: Uint8Array, sender: PeerId, nowMs: number): RecordVerdict {
    if (!this.budget.allow(sender, nowMs)) {
      return this.overBudget.count(sender)
        ? { verdict: "ignore", reason: "senderOverBudget", penalty: "budgetOverrun" }
        : { verdict: "ignore", reason: "senderOverBudget" };
    }
    const checked = this.verify(wire, nowMs);
    if (!checked.ok) {
      return SENDER_FAULTS.has(checked.reason)
        ? { verdict: "reject", reason: checked.reason }
        : { verdict: "ignore", reason: checked.reason };
    }
    const record = checked.record;
    if (record.peerId === this.options.self) return { verdict: "ignore", reason: "self" };
    const known = this.book.has(record.peerId);
    const outcome = this.book.offer(record, wire, nowMs);
    if (outcome !== "accepted") return { verdict: "ignore", reason: outcome };
    if (!known && this.options.unlinked?.has(record.peerId) !== true)
      this.sampler.offer([this.placementOf(record).candidate]);
    return { verdict: "accept", record, isNew: !known };
  }

  /**
   * `verifyNodeRecord`, once per distinct byte string: the same bytes again get the same verdict, since all
   * it checks but the time window is in the bytes and this node's genesis. Of the window only expiry is
   * judged again: a record may have expired since, while one that was not too far in the future then is not
   * now (the clock has moved forward).
   */
  private verify(wire: Uint8Array, nowMs: number): ReturnType<typeof verifyNodeRecord> {
    const digest = hash("sha256", wire, "hex");
    const known = this.verified.get(digest);
    if (known !== undefined) {
      return known.expiresAtMs > nowMs ? { ok: true, record: known } : { ok: false, reason: "expired" };
    }
    const { network, genesisHash, identityDifficulty, recordTtlMs } = this.options;
    const checked = (this.options.verifyRecord ?? verifyNodeRecord)(wire, {
      network,
      genesisHash,
      difficulty: identityDifficulty,
      nowMs,
      // Clocks differ: a record may claim up to 30 s more than the TTL before it is "too far in the future".
      maxTtlMs: recordTtlMs + CLOCK_SKEW_MS,
    });
    if (checked.ok) this.verified.set(digest, checked.record);
    return checked;
  }

  /** Drops identities whose records were not refreshed in time, from the book and from every slot. */
  expire(nowMs: number): PeerId[] {
    const gone = this.book.expire(nowMs);
    for (const peer of gone) {
      this.sampler.remove(peer);
      this.lapsed.set(peer, nowMs);
    }
    return gone;
  }

  /**
   * One sampler round: whom to exchange with, and the slots reseeded (refilled from known identities). With an
   * empty view (just joined, or everyone expired) the exchange goes to one of `bootstrap`, drawn with the
   * injected randomness so that no peer can predict which; none when there is no bootstrap peer either.
   */
  round(bootstrap: readonly PeerId[] = []): { exchangeWith: PeerId | undefined; samples: PeerId[] } {
    const { exchangeWith, samples } = this.sampler.round();
    if (exchangeWith !== undefined || bootstrap.length === 0) return { exchangeWith, samples };
    return { exchangeWith: randomElement(this.options.random, bootstrap), samples };
  }

  private *knownCandidates(): Iterable<Candidate> {
    const unlinked = this.options.unlinked;
    for (const record of this.book.records()) {
      if (unlinked?.has(record.peerId) !== true) yield this.placementOf(record).candidate;
    }
  }

  private placementOf(record: NodeRecord): PlacedRecord {
    let placed = this.placed.get(record);
    if (placed === undefined) {
      const candidate = candidateOf(record);
      // By /16 (IPv6: /32), the sampler's first rank level: bulk identities on few prefixes yield first.
      placed = { candidate: new RankedCandidate(candidate), group: addressGroups(candidate.ip)[0] };
      this.placed.set(record, placed);
    }
    return placed;
  }

  /** The records to push or answer with: ours, then the view's (≤ `max`). */
  exchangeRecords(max: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (this.ownWire !== undefined) out.push(this.ownWire);
    for (const { peerId } of this.sampler.view()) {
      if (out.length >= max) break;
      const wire = this.book.wire(peerId);
      if (wire !== undefined) out.push(wire);
    }
    return out;
  }

  /** The sampler's view: the peers the broadcast draws from, and the ones this node keeps connected. */
  viewPeers(): readonly PeerId[] {
    return this.sampler.peers();
  }

  addressesOf(peer: PeerId): readonly string[] {
    return this.book.get(peer)?.addrs ?? [];
  }

  members(): MemberView[] {
    return [...this.book.entries()].map(({ record, since }) => ({
      peerId: record.peerId,
      addrs: record.addrs,
      since,
    }));
  }

  get size(): number {
    return this.book.size;
  }
}

interface PlacedRecord {
  readonly candidate: RankedCandidate;
  readonly group: string;
}

/** The sampler ranks by IP prefix first: the record's first IP address, if it lists one. */
function candidateOf(record: NodeRecord): Candidate {
  for (const addr of record.addrs) {
    const match = /^\/ip[46]\/([^/]+)/.exec(addr);
    if (match !== null) return { peerId: record.peerId, ip: match[1]! };
  }
  return { peerId: record.peerId };
}
