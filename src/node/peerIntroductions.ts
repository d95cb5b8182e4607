import type { PeerId } from "../core/peerId.ts";

export interface PeerIntroductionsOptions {
  /** Messages held for one peer until it knows us; beyond, new ones are dropped (and counted). */
  readonly maxHeldPerPeer: number;
  /** Messages held for all peers together. */
  readonly maxHeldTotal: number;
  /** Held messages older than this are dropped: the peer never answered our introduction. */
  readonly maxHoldMs: number;
  /** Push our record to `peer` (a membership exchange); its answer calls `introduced`. */
  readonly introduce: (peer: PeerId) => void;
  readonly send: (peer: PeerId, bytes: Uint8Array) => void;
}

/**
 * On an open network a peer admits members-only traffic (broadcast, sync) only from holders of a record it
 * has accepted, and scores anything else as forbidden. A node that has just started, restarted or healed from
 * a partition cannot know whether a peer has its record yet. So it introduces itself first: members-only
 * messages to a peer are held (bounded) until that peer has answered a membership exchange carrying our
 * record, which it judged before answering. A disconnection forgets the introduction — after a partition
 * longer than the record TTL the peer may have dropped us.
 */
export class PeerIntroductions {
  private readonly options: PeerIntroductionsOptions;
  private readonly introduced = new Set<PeerId>();
  private readonly held = new Map<PeerId, { sinceMs: number; messages: Uint8Array[] }>();
  private heldTotal = 0;
  /** Messages dropped because a bound was reached or the peer never answered. */
  dropped = 0;

  constructor(options: PeerIntroductionsOptions) {
    this.options = options;
  }

  send(peer: PeerId, bytes: Uint8Array, nowMs: number): void {
    if (this.introduced.has(peer)) {
      this.options.send(peer, bytes);
      return;
    }
    let entry = this.held.get(peer);
    if (entry === undefined) {
      entry = { sinceMs: nowMs, messages: [] };
      this.held.set(peer, entry);
      this.options.introduce(peer);
    }
    if (entry.messages.length >= this.options.maxHeldPerPeer || this.heldTotal >= this.options.maxHeldTotal) {
      this.dropped++;
      return;
    }
    entry.messages.push(bytes);
    this.heldTotal++;
  }

  /** `peer` answered an exchange carrying our record: release what waited for it. */
  markIntroduced(peer: PeerId): void {
    this.introduced.add(peer);
    const entry = this.held.get(peer);
    if (entry === undefined) return;
    this.release(peer);
    for (const bytes of entry.messages) this.options.send(peer, bytes);
  }

  /** The connection ended: introduce again before the next members-only message. */
  forget(peer: PeerId): void {
    this.introduced.delete(peer);
    const entry = this.held.get(peer);
    if (entry === undefined) return;
    this.dropped += entry.messages.length;
    this.release(peer);
  }

  /** Drops what waited too long, and asks again those still waiting. */
  tick(nowMs: number): void {
    for (const [peer, entry] of this.held) {
      if (nowMs - entry.sinceMs <= this.options.maxHoldMs) {
        this.options.introduce(peer);
        continue;
      }
      this.dropped += entry.messages.length;
      this.release(peer);
    }
  }

  get heldMessages(): number {
    return this.heldTotal;
  }

  private release(peer: PeerId): void {
    const entry = this.held.get(peer);
    if (entry === undefined) return;
    this.heldTotal -= entry.messages.length;
    this.held.delete(peer);
  }
}
