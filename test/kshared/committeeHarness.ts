/**
 * A seeded in-memory network for the k-shared committee: real ed25519 keys (libsodium), every message
 * encoded and decoded through the wire codec, random delays (reordering), losses and duplicates drawn from
 * one seeded PRNG, round timers driven by ticks. Byzantine owners run a real committee behind an
 * `Adversary` that rewrites what it sends; crashes cut an owner's action list at a random point (persists
 * before the cut are durable, sends after it never leave) and restart it from its records. Each owner's
 * durable records are compacted after every event, as the node's driver compacts them in every batch.
 */

import sodium from "sodium-native";
import { toHex } from "../../src/core/bytes.ts";
import { sodiumVerifier } from "../../src/crypto/ed25519Sodium.ts";
import { Committee, type CommitteeCounters } from "../../src/kshared/committee.ts";
import { decodeCommitteeMessage, encodeCommitteeMessage } from "../../src/kshared/committeeCodec.ts";
import type {
  CommitteeAction,
  CommitteeMessage,
  CommitteeRecord,
  OwnerIndex,
  Vote,
} from "../../src/kshared/committeeTypes.ts";
import { RetainedRecords, type RetentionRules } from "../../src/kshared/recordRetention.ts";
import { seededRandom } from "../../src/sim/prng.ts";

export const ACCOUNT = new TextEncoder().encode("tally1-kshared-test-account");

export interface OwnerKey {
  readonly publicKey: Uint8Array;
  readonly secretKey: Buffer;
  sign(message: Uint8Array): Uint8Array;
}

/** k deterministic key pairs in canonical order (ascending public key). */
export function ownerKeys(k: number, seed: number): OwnerKey[] {
  const keys = Array.from({ length: k }, (_, i) => {
    const publicKey = Buffer.alloc(32);
    const secretKey = Buffer.alloc(64);
    sodium.crypto_sign_seed_keypair(publicKey, secretKey, Buffer.alloc(32, (seed * 31 + i + 1) & 0xff));
    return {
      publicKey: new Uint8Array(publicKey),
      secretKey,
      sign(message: Uint8Array): Uint8Array {
        const signature = Buffer.alloc(64);
        sodium.crypto_sign_detached(signature, Buffer.from(message), secretKey);
        return new Uint8Array(signature);
      },
    };
  });
  return keys.sort((a, b) => Buffer.compare(a.publicKey, b.publicKey));
}

/** What a Byzantine owner sends instead of what its own committee asked for. */
export type Adversary = (actions: CommitteeAction[], net: Network, self: OwnerIndex) => CommitteeAction[];

export interface NetworkOptions {
  readonly k: number;
  readonly seed: number;
  readonly dropRate?: number;
  readonly duplicateRate?: number;
  readonly maxDelayMs?: number;
  readonly tickMs?: number;
  readonly baseTimeoutMs?: number;
  readonly adversaries?: ReadonlyMap<OwnerIndex, Adversary>;
}

/** The harness's committees use the default options: first seq 0, nothing ever expires. */
const RETENTION: RetentionRules = { firstSeq: 0, isExpired: () => false };

interface Pending {
  readonly at: number;
  readonly order: number;
  readonly run: () => void;
}

export class Network {
  readonly k: number;
  readonly keys: OwnerKey[];
  readonly random: () => number;
  readonly nodes: Committee[];
  /** Per owner: its durable records, compacted as the node compacts them. */
  readonly stores: RetainedRecords[];
  /** Per owner: every record it ever persisted, uncompacted (to compare restores). */
  readonly log: CommitteeRecord[][];
  /** Per owner: every vote it ever persisted, compacted away or not. */
  readonly signedVotes: Vote[][];
  /** Per owner: records its compactions deleted. */
  readonly compacted: number[];
  /** Per owner: seq → decided digest (hex), in decision order. */
  readonly decisions: Map<number, string>[];
  readonly decidedAtMs: Map<string, number>[];
  /** Per owner: seq → the owner it names as the decided request's requester (undefined: unknown). */
  readonly requesters: Map<number, OwnerIndex | undefined>[];
  /** Every vote an owner sent, as it left: to check that no owner ever signs two digests in one slot. */
  readonly sentVotes: Vote[][];
  nowMs = 0;
  private readonly queue: Pending[] = [];
  private order = 0;
  private readonly down = new Set<OwnerIndex>();
  private readonly crashAtNextEvent = new Map<OwnerIndex, number>();
  private readonly crashAfterCompactionMs = new Map<OwnerIndex, number>();
  crashes = 0;
  /** Digests of submissions the committee accepted (a submit to a crashed owner is lost, as in life). */
  readonly accepted = new Set<string>();
  /** When set, a message leaves only if this returns true. */
  linkFilter: ((from: OwnerIndex, to: OwnerIndex, message: CommitteeMessage) => boolean) | undefined;
  private readonly options: NetworkOptions;

  constructor(options: NetworkOptions) {
    this.options = options;
    this.k = options.k;
    this.keys = ownerKeys(options.k, options.seed);
    this.random = seededRandom(options.seed);
    this.stores = this.keys.map(() => new RetainedRecords());
    this.log = this.keys.map(() => []);
    this.signedVotes = this.keys.map(() => []);
    this.compacted = this.keys.map(() => 0);
    this.decisions = this.keys.map(() => new Map());
    this.decidedAtMs = this.keys.map(() => new Map());
    this.requesters = this.keys.map(() => new Map());
    this.sentVotes = this.keys.map(() => []);
    this.nodes = this.keys.map((_, i) => this.newCommittee(i));
    const tickMs = options.tickMs ?? 100;
    for (let i = 0; i < this.k; i++)
      this.every(tickMs, () => this.deliver(i, { type: "tick", nowMs: this.nowMs }));
  }

  /** Per owner: its durable records now, in the order it wrote them. */
  get records(): CommitteeRecord[][] {
    return this.stores.map((store) => store.records());
  }

  newCommittee(index: OwnerIndex, firstSeq?: number): Committee {
    return new Committee({
      ...(firstSeq === undefined ? {} : { firstSeq }),
      account: ACCOUNT,
      owners: this.keys.map((key) => key.publicKey),
      self: index,
      sign: (message) => this.keys[index]!.sign(message),
      verifier: sodiumVerifier,
      baseTimeoutMs: this.options.baseTimeoutMs ?? 1_000,
    });
  }

  isByzantine(index: OwnerIndex): boolean {
    return this.options.adversaries?.has(index) ?? false;
  }

  correctOwners(): OwnerIndex[] {
    return this.keys.map((_, i) => i).filter((i) => !this.isByzantine(i));
  }

  at(timeMs: number, run: () => void): void {
    const heap = this.queue;
    heap.push({ at: timeMs, order: this.order++, run });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): Pending | undefined {
    const heap = this.queue;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && earlier(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && earlier(heap[r]!, heap[m]!)) m = r;
      if (m === i) return top;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }

  private every(periodMs: number, run: () => void): void {
    const loop = (): void => {
      run();
      this.at(this.nowMs + periodMs, loop);
    };
    this.at(periodMs * this.random(), loop);
  }

  submit(owner: OwnerIndex, proposal: Uint8Array, atMs: number): void {
    this.at(atMs, () => this.deliver(owner, { type: "submit", proposal, nowMs: this.nowMs }));
  }

  /**
   * Crash `owner` at its first event after `atMs`, cutting that event's actions at a random point (persists
   * before the cut are durable, nothing after it happens), and restart it from its records `downMs` later.
   */
  crash(owner: OwnerIndex, atMs: number, downMs: number): void {
    this.at(atMs, () => this.crashAtNextEvent.set(owner, downMs));
  }

  /**
   * Crash `owner` right after its next event whose records compacted older ones away: that event's batch
   * (records and deletions) is durable, none of its sends or decisions happen; restart `downMs` later.
   */
  crashAfterCompaction(owner: OwnerIndex, atMs: number, downMs: number): void {
    this.at(atMs, () => this.crashAfterCompactionMs.set(owner, downMs));
  }

  private crashNow(owner: OwnerIndex, actions: readonly CommitteeAction[], downMs: number): void {
    this.crashAtNextEvent.delete(owner);
    this.carryOut(owner, actions.slice(0, Math.floor(this.random() * (actions.length + 1))));
    this.goDown(owner, downMs);
  }

  private goDown(owner: OwnerIndex, downMs: number): void {
    this.down.add(owner);
    this.crashes++;
    this.at(this.nowMs + downMs, () => {
      const restarted = this.newCommittee(owner);
      const replayed = restarted.restore(this.stores[owner]!.records());
      this.nodes[owner] = restarted;
      this.down.delete(owner);
      this.carryOut(owner, replayed);
    });
  }

  /** Runs until `done()` holds (checked after each event) or simulated time passes `untilMs`. */
  run(untilMs: number, done: () => boolean = () => false): void {
    for (;;) {
      const next = this.queue[0];
      if (next === undefined || next.at > untilMs) return;
      this.pop();
      this.nowMs = Math.max(this.nowMs, next.at);
      next.run();
      if (done()) return;
    }
  }

  deliver(to: OwnerIndex, event: Parameters<Committee["handle"]>[0]): void {
    if (this.down.has(to)) return;
    let actions = this.nodes[to]!.handle(event);
    const adversary = this.options.adversaries?.get(to);
    if (adversary !== undefined) actions = adversary(actions, this, to);
    const downMs = this.crashAtNextEvent.get(to);
    if (downMs !== undefined && actions.length > 0) {
      this.crashNow(to, actions, downMs);
      return;
    }
    const afterCompactionMs = this.crashAfterCompactionMs.get(to);
    if (afterCompactionMs !== undefined && actions.some((a) => a.type === "persist")) {
      const before = this.compacted[to]!;
      this.carryOut(to, actions, false);
      if (this.compacted[to]! > before) {
        this.crashAfterCompactionMs.delete(to);
        this.goDown(to, afterCompactionMs);
      } else
        this.carryOut(
          to,
          actions.filter((a) => a.type !== "persist"),
        );
      return;
    }
    this.carryOut(to, actions);
  }

  /** Carries out an action list; `effects` false persists (and compacts) only. */
  carryOut(from: OwnerIndex, actions: readonly CommitteeAction[], effects = true): void {
    for (const action of actions) {
      if (action.type === "persist") this.persist(from, action.record);
      else if (!effects) continue;
      else if (action.type === "send") this.transmit(from, action.to, action.message);
      else if (action.type === "submitResult" && action.outcome === "accepted")
        this.accepted.add(toHex(action.digest));
      else if (action.type === "decided") {
        const digest = toHex(action.digest);
        const previous = this.decisions[from]!.get(action.seq);
        if (previous !== undefined && previous !== digest) throw new Error(`owner ${from} decided seq twice`);
        this.decisions[from]!.set(action.seq, digest);
        this.decidedAtMs[from]!.set(digest, this.nowMs);
        this.requesters[from]!.set(action.seq, action.requester);
      }
    }
    if (actions.some((a) => a.type === "persist"))
      this.compacted[from]! += this.stores[from]!.compact(RETENTION).length;
  }

  /** Durable at once; the store is compacted after each action list, as the driver does per batch. */
  private persist(owner: OwnerIndex, record: CommitteeRecord): void {
    this.stores[owner]!.add(record);
    this.log[owner]!.push(record);
    if (record.kind === "vote") this.signedVotes[owner]!.push(record.vote);
  }

  /** One copy per recipient, through the codec, each with its own delay; some lost, some duplicated. */
  transmit(from: OwnerIndex, to: readonly OwnerIndex[] | "all", message: CommitteeMessage): void {
    if (message.kind === "vote" && message.vote.voter === from) this.sentVotes[from]!.push(message.vote);
    const bytes = encodeCommitteeMessage(message);
    const recipients = to === "all" ? this.keys.map((_, i) => i).filter((i) => i !== from) : to;
    const maxDelay = this.options.maxDelayMs ?? 50;
    for (const recipient of recipients) {
      if (this.random() < (this.options.dropRate ?? 0)) continue;
      if (this.linkFilter !== undefined && !this.linkFilter(from, recipient, message)) continue;
      const copies = this.random() < (this.options.duplicateRate ?? 0) ? 2 : 1;
      for (let c = 0; c < copies; c++) {
        this.at(this.nowMs + 1 + this.random() * maxDelay, () =>
          this.deliver(recipient, {
            type: "message",
            from,
            message: decodeCommitteeMessage(bytes),
            nowMs: this.nowMs,
          }),
        );
      }
    }
  }

  counters(owner: OwnerIndex): CommitteeCounters {
    return this.nodes[owner]!.counters();
  }

  /** Every accepted submission decided by every correct owner. */
  allAcceptedDecided(): boolean {
    return this.correctOwners().every((i) => {
      const decided = new Set(this.decisions[i]!.values());
      return [...this.accepted].every((digest) => decided.has(digest));
    });
  }

  /** Seqs 0..n−1 decided by every correct owner. */
  allDecided(n: number): boolean {
    return this.correctOwners().every((i) => this.decisions[i]!.size >= n);
  }
}

function earlier(a: Pending, b: Pending): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}

/** A proposal's bytes: distinct per (owner, n). */
export function proposalBytes(owner: OwnerIndex, n: number, tag = "transfer"): Uint8Array {
  return new TextEncoder().encode(`${tag} from owner ${owner} #${n}`);
}

/** For each owner: the (seq, round, phase) slots in which it signed more than one digest. */
export function doubleSignedSlots(votes: readonly Vote[]): string[] {
  const seen = new Map<string, string>();
  const doubles: string[] = [];
  for (const vote of votes) {
    const slot = `${vote.seq}/${vote.round}/${vote.phase}`;
    const digest = toHex(vote.digest);
    const first = seen.get(slot);
    if (first === undefined) seen.set(slot, digest);
    else if (first !== digest) doubles.push(slot);
  }
  return doubles;
}
