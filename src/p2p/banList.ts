import type { PeerId } from "../core/peerId.ts";

/**
 * Who is banned until when (sans-I/O: callers pass `nowMs`). The admission layer decides bans; this list only
 * remembers them and counts how often each banned peer was refused. Expired entries disappear on the next
 * look-up. Bounded by `maxEntries`: when full, the ban that ends first is dropped for the new one.
 */
export interface BanInfo {
  peerId: PeerId;
  /** Epoch milliseconds; the peer is admitted again from this instant. */
  untilMs: number;
  reason: string;
  /** Connections and dials refused because of this ban. */
  refusals: number;
}

export class BanList {
  private readonly maxEntries: number;
  private readonly entries = new Map<PeerId, BanInfo>();

  constructor(maxEntries: number) {
    this.maxEntries = maxEntries;
  }

  /** Ban until `untilMs`; a peer already banned keeps the later end, takes the new reason. */
  ban(peerId: PeerId, untilMs: number, reason: string, nowMs: number): void {
    const existing = this.get(peerId, nowMs);
    if (existing !== undefined) {
      existing.untilMs = Math.max(existing.untilMs, untilMs);
      existing.reason = reason;
      return;
    }
    if (untilMs <= nowMs) return;
    if (this.entries.size >= this.maxEntries) this.makeRoom(nowMs);
    this.entries.set(peerId, { peerId, untilMs, reason, refusals: 0 });
  }

  /** Entries, expired ones included until looked up: 0 means nobody is banned. */
  get size(): number {
    return this.entries.size;
  }

  unban(peerId: PeerId): boolean {
    return this.entries.delete(peerId);
  }

  /** The live ban of `peerId`, or undefined (an expired one is forgotten here). */
  get(peerId: PeerId, nowMs: number): BanInfo | undefined {
    const entry = this.entries.get(peerId);
    if (entry === undefined) return undefined;
    if (nowMs >= entry.untilMs) {
      this.entries.delete(peerId);
      return undefined;
    }
    return entry;
  }

  /** True, and counted, when `peerId` is banned: the caller refuses it. */
  refuse(peerId: PeerId, nowMs: number): boolean {
    const entry = this.get(peerId, nowMs);
    if (entry === undefined) return false;
    entry.refusals++;
    return true;
  }

  /** Copies of the live bans. */
  list(nowMs: number): BanInfo[] {
    const out: BanInfo[] = [];
    for (const [peerId, entry] of this.entries) {
      if (nowMs >= entry.untilMs) this.entries.delete(peerId);
      else out.push({ ...entry });
    }
    return out;
  }

  private makeRoom(nowMs: number): void {
    let soonest: BanInfo | undefined;
    for (const [peerId, entry] of this.entries) {
      if (nowMs >= entry.untilMs) {
        this.entries.delete(peerId);
        return;
      }
      if (soonest === undefined || entry.untilMs < soonest.untilMs) soonest = entry;
    }
    if (soonest !== undefined) this.entries.delete(soonest.peerId);
  }
}
