import type { PeerId } from "../../core/peerId.ts";
import { decodeHostAnnouncement, type HostAnnouncement } from "./hostAnnouncement.ts";

/** A host may publish one announcement per 10 s (a correct one publishes every 20 s). */
export const HOST_ANNOUNCEMENT_MIN_INTERVAL_MS = 10_000;
/** An announcement issued more than 30 s ago, or more than 30 s ahead of our clock, is not relayed. */
export const HOST_ANNOUNCEMENT_MAX_SKEW_MS = 30_000;

export type HostAnnouncementVerdict =
  | { readonly verdict: "accept"; readonly announcement: HostAnnouncement }
  /** Not relayed, nobody's fault worth a penalty (old, early, repeated, an unknown host, no room). */
  | { readonly verdict: "ignore"; readonly reason: IgnoreReason }
  /** Only a broken or lying node relays this: malformed, or the host's signature fails. */
  | { readonly verdict: "reject"; readonly reason: "malformed" | "badSignature" };

type IgnoreReason = "self" | "unknownHost" | "stale" | "early" | "tooFast" | "full";

export interface HostAnnouncementGateOptions {
  readonly self: PeerId;
  /** Whether the host holds a valid record: an identity that paid its proof of work. */
  readonly isKnownHost: (host: PeerId) => boolean;
  /** Whether the host's own key signed it (hostAnnouncementSigned; injected for tests). */
  readonly signed: (announcement: HostAnnouncement) => boolean;
  /** Hosts remembered at once: the record book's bound, since only known hosts are remembered. */
  readonly maxHosts: number;
}

/**
 * Decides, for a relay, whether a host announcement travels on (sans-I/O, clock passed in). The budget is per
 * host identity, and identities cost a proof of work: each may get one announcement per 10 s through this
 * node, issued within ±30 s of its clock and newer than the last one accepted, so a flood costs its sender's
 * identities and a replay goes nowhere. The cheap checks come first; the one signature check is made only
 * for an announcement that would otherwise be accepted, and a budget is spent only on a signed one, so
 * nobody can spend another node's budget. What is remembered: the last accepted issue time per host, at most
 * `maxHosts`, each forgotten once it can no longer refuse anything (older than the skew plus the interval).
 */
export class HostAnnouncementGate {
  private readonly options: HostAnnouncementGateOptions;
  private readonly lastIssued = new Map<PeerId, number>();

  constructor(options: HostAnnouncementGateOptions) {
    this.options = options;
  }

  get size(): number {
    return this.lastIssued.size;
  }

  judge(wire: Uint8Array, nowMs: number): HostAnnouncementVerdict {
    let announcement: HostAnnouncement;
    try {
      announcement = decodeHostAnnouncement(wire);
    } catch {
      return { verdict: "reject", reason: "malformed" };
    }
    const { host, issuedAtMs } = announcement;
    if (host === this.options.self) return { verdict: "ignore", reason: "self" };
    if (!this.options.isKnownHost(host)) return { verdict: "ignore", reason: "unknownHost" };
    if (issuedAtMs < nowMs - HOST_ANNOUNCEMENT_MAX_SKEW_MS) return { verdict: "ignore", reason: "stale" };
    if (issuedAtMs > nowMs + HOST_ANNOUNCEMENT_MAX_SKEW_MS) return { verdict: "ignore", reason: "early" };
    const last = this.lastIssued.get(host);
    if (last !== undefined && issuedAtMs < last + HOST_ANNOUNCEMENT_MIN_INTERVAL_MS)
      return { verdict: "ignore", reason: issuedAtMs <= last ? "stale" : "tooFast" };
    if (last === undefined && this.lastIssued.size >= this.options.maxHosts) {
      this.sweep(nowMs);
      if (this.lastIssued.size >= this.options.maxHosts) return { verdict: "ignore", reason: "full" };
    }
    if (!this.options.signed(announcement)) return { verdict: "reject", reason: "badSignature" };
    this.lastIssued.set(host, issuedAtMs);
    return { verdict: "accept", announcement };
  }

  /**
   * Forgets hosts whose last announcement can no longer refuse anything: any announcement still fresh enough
   * to pass is at least the interval after it.
   */
  sweep(nowMs: number): void {
    const before = nowMs - HOST_ANNOUNCEMENT_MAX_SKEW_MS - HOST_ANNOUNCEMENT_MIN_INTERVAL_MS;
    for (const [host, issuedAtMs] of this.lastIssued) if (issuedAtMs < before) this.lastIssued.delete(host);
  }
}
