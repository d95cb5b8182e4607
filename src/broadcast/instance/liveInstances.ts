import type { InlineMap } from "../../core/inlineMap.ts";
import type { PeerId } from "../../core/peerId.ts";
import type { Digest, InstanceRef, PayloadInfo } from "../types.ts";
import { copyRef, instanceKey } from "./instanceId.ts";
import { PayloadPull } from "./payloadPull.ts";

/** Resolution of the table's activity order (see `touch`). */
const TOUCH_GRANULARITY_MS = 1_000;

/** What the table keeps of every live instance; each mode adds its votes and decisions. */
export interface LiveInstance {
  readonly key: string;
  readonly ref: InstanceRef;
  /** The peer whose vote created this instance before any valid payload; charged against its quota. */
  openedBy: PeerId | undefined;
  /**
   * Who brought the instance its first payload: a peer (charged against its introduction quota until the
   * instance leaves the table), "self" for a wallet's submission here, or undefined while it has none.
   * Either way the source account is charged too. Not optional: set in the object a mode creates, so every
   * instance has one shape (a field added later would make a second, and every site that reads instances
   * would see both).
   */
  introducedBy: PeerId | "self" | undefined;
  lastActivityMs: number;
  /** One digest's payload in the common case: inline (see `InlineMap`). */
  readonly payloads: InlineMap<Digest, Uint8Array>;
  pull: PayloadPull | undefined;
}

/** The counters the table keeps itself: those of the mode that owns it. */
export interface LiveInstanceCounters {
  readonly dropped: Record<"liveFull" | "peerQuota" | "accountQuota", number>;
  pullsStarted: number;
  pullRetries: number;
  stalledEvicted: number;
}

export interface LiveInstancesOptions<T extends LiveInstance> {
  readonly maxInstances: number;
  readonly maxOpenedPerPeer: number;
  /** Live instances one peer may have introduced (sent their first payload); released when they leave. */
  readonly maxIntroducedPerPeer: number;
  /** Live instances with a payload per source account, however introduced. */
  readonly maxIntroducedPerAccount: number;
  readonly stallTimeoutMs: number;
  /** A new instance, once the table has made room for it and charged its opener. */
  readonly create: (key: string, ref: InstanceRef, openedBy: PeerId | undefined, nowMs: number) => T;
  /** Whether an instance idle past the stall timeout stays anyway (the mode's reasons). */
  readonly keepStalled: (inst: T) => boolean;
  readonly count: LiveInstanceCounters;
}

/**
 * The undelivered instances a node holds full state for (votes, payloads, a pull), bounded in number, with
 * an equal quota per peer for those opened by votes alone, and kept in least-recently-active order so the
 * stall sweep is cheap. It also tracks which of them are pulling a payload.
 */
export class LiveInstances<T extends LiveInstance> {
  /** Insertion order = least recently active first, which makes the stall sweep stop at the first fresh entry. */
  private readonly byKey = new Map<string, T>();
  private readonly pulling = new Set<string>();
  private readonly openedByPeer = new Map<PeerId, number>();
  private readonly introducedByPeer = new Map<PeerId, number>();
  private readonly introducedByAccount = new Map<string, number>();
  private readonly maxInstances: number;
  private readonly maxOpenedPerPeer: number;
  private readonly maxIntroducedPerPeer: number;
  private readonly maxIntroducedPerAccount: number;
  private readonly stallTimeoutMs: number;
  private readonly create: LiveInstancesOptions<T>["create"];
  private readonly keepStalled: (inst: T) => boolean;
  private readonly count: LiveInstanceCounters;

  constructor(options: LiveInstancesOptions<T>) {
    this.maxInstances = options.maxInstances;
    this.maxOpenedPerPeer = options.maxOpenedPerPeer;
    this.maxIntroducedPerPeer = options.maxIntroducedPerPeer;
    this.maxIntroducedPerAccount = options.maxIntroducedPerAccount;
    this.stallTimeoutMs = options.stallTimeoutMs;
    this.create = options.create;
    this.keepStalled = options.keepStalled;
    this.count = options.count;
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Live instances waiting for a payload. */
  get pullingCount(): number {
    return this.pulling.size;
  }

  get(key: string): T | undefined {
    return this.byKey.get(key);
  }

  /** Least recently active first. */
  values(): MapIterator<T> {
    return this.byKey.values();
  }

  /** A new instance, or undefined (counted) when the table or the opening voter's quota is full. */
  open(key: string, instance: InstanceRef, opener: PeerId | undefined, nowMs: number): T | undefined {
    if (this.byKey.size >= this.maxInstances) {
      this.count.dropped.liveFull++;
      return undefined;
    }
    if (opener !== undefined) {
      // Forged votes for instances nobody has a payload for could otherwise fill the table; each peer gets an
      // equal share, so f Byzantine members hold at most f/N of it (in contagion, only sampled peers' votes
      // get this far).
      const opened = this.openedByPeer.get(opener) ?? 0;
      if (opened >= this.maxOpenedPerPeer) {
        this.count.dropped.peerQuota++;
        return undefined;
      }
      this.openedByPeer.set(opener, opened + 1);
    }
    const inst = this.create(key, copyRef(instance), opener, nowMs);
    this.byKey.set(key, inst);
    return inst;
  }

  /**
   * Marks activity, moving the instance to the back of the table (least recently active first). Only once
   * per TOUCH_GRANULARITY_MS: re-inserting on every vote dominated the cost of counting it, and the stall
   * sweep needs the order only to a second against a timeout of minutes.
   */
  touch(inst: T, nowMs: number): void {
    if (nowMs - inst.lastActivityMs < TOUCH_GRANULARITY_MS) return;
    inst.lastActivityMs = nowMs;
    this.byKey.delete(inst.key);
    this.byKey.set(inst.key, inst);
  }

  /**
   * Charges the instance's introduction, once: to `by` (a peer that sent a payload unasked, or "self" for a
   * submission) and to the source account. False (counted, nothing charged) when either quota is full: the
   * caller then ignores the payload. A payload that arrives when the instance is already introduced, or by a
   * pull (the instance is decided), is not charged.
   */
  chargeIntroduction(inst: T, by: PeerId | "self"): boolean {
    if (inst.introducedBy !== undefined) return true;
    const source = inst.ref.source;
    const byAccount = this.introducedByAccount.get(source) ?? 0;
    if (byAccount >= this.maxIntroducedPerAccount) {
      this.count.dropped.accountQuota++;
      return false;
    }
    if (by !== "self") {
      const byPeer = this.introducedByPeer.get(by) ?? 0;
      if (byPeer >= this.maxIntroducedPerPeer) {
        this.count.dropped.peerQuota++;
        return false;
      }
      this.introducedByPeer.set(by, byPeer + 1);
    }
    this.introducedByAccount.set(source, byAccount + 1);
    inst.introducedBy = by;
    return true;
  }

  /** Takes a valid payload into the instance; it ends a pull for its digest. */
  acceptPayload(inst: T, digest: Digest, payload: Uint8Array, nowMs: number): void {
    if (!inst.payloads.has(digest)) inst.payloads.set(digest, payload);
    if (inst.pull?.digest === digest) {
      inst.pull = undefined;
      this.pulling.delete(inst.key);
    }
    // A validly signed payload makes the instance real: it no longer counts against its opener's quota.
    this.releaseOpener(inst);
    this.touch(inst, nowMs);
  }

  /** Removes the instance (delivered or stalled); its opener and introducer get their quota back. */
  drop(inst: T): void {
    this.byKey.delete(inst.key);
    this.pulling.delete(inst.key);
    this.releaseOpener(inst);
    this.releaseIntroduction(inst);
  }

  /** Starts pulling `digest` (replacing any other pull of the instance); the caller asks the first peer. */
  startPull(inst: T, digest: Digest): void {
    inst.pull = new PayloadPull(digest);
    this.pulling.add(inst.key);
    this.count.pullsStarted++;
  }

  /** The live instance pulling exactly this payload, if any. */
  instancePulling(info: PayloadInfo): T | undefined {
    const inst = this.byKey.get(instanceKey(info.instance));
    // Self-certifying: whoever answers, only bytes that hash to the pulled digest are taken.
    return inst?.pull !== undefined && inst.pull.digest === info.digest ? inst : undefined;
  }

  /** Timer: `ask` again for every pull whose peer stayed silent past the deadline. */
  retryDuePulls(nowMs: number, ask: (inst: T) => void): void {
    for (const key of this.pulling) {
      const inst = this.byKey.get(key)!;
      if (nowMs < inst.pull!.deadlineMs) continue;
      this.count.pullRetries++;
      this.touch(inst, nowMs);
      ask(inst);
    }
  }

  /**
   * Timer: drops the instances idle past the stall timeout, but those the mode keeps. Their commitments stay
   * (`OwnCommitmentIndex`): forgetting an echo would let this node echo a second digest for the instance.
   */
  evictStalled(nowMs: number): void {
    const cutoffMs = nowMs - this.stallTimeoutMs;
    for (const inst of this.byKey.values()) {
      if (inst.lastActivityMs > cutoffMs) break;
      if (this.keepStalled(inst)) continue;
      this.drop(inst);
      this.count.stalledEvicted++;
    }
  }

  private releaseOpener(inst: T): void {
    if (inst.openedBy === undefined) return;
    const opened = this.openedByPeer.get(inst.openedBy) ?? 1;
    if (opened <= 1) this.openedByPeer.delete(inst.openedBy);
    else this.openedByPeer.set(inst.openedBy, opened - 1);
    inst.openedBy = undefined;
  }

  private releaseIntroduction(inst: T): void {
    const by = inst.introducedBy;
    if (by === undefined) return;
    inst.introducedBy = undefined;
    decrement(this.introducedByAccount, inst.ref.source);
    if (by !== "self") decrement(this.introducedByPeer, by);
  }
}

function decrement<K>(counts: Map<K, number>, key: K): void {
  const n = counts.get(key) ?? 1;
  if (n <= 1) counts.delete(key);
  else counts.set(key, n - 1);
}
