import type { Stream } from "@libp2p/interface";
import type { PeerId } from "../core/peerId.ts";

/**
 * Stops reading a peer for a while. Each inbound stream of the peer is paused: libp2p buffers what is already
 * in flight and the muxer stops granting the sender flow-control window, so a peer that sends faster than it is
 * admitted waits in its own send buffer instead of costing this node a read, a decode and garbage per message.
 * Bounded: one entry per peer with a live inbound stream (at most a few streams each).
 */
export class InboundThrottle {
  private readonly streams = new Map<PeerId, Set<Stream>>();
  private readonly timers = new Map<PeerId, { untilMs: number; timer: NodeJS.Timeout }>();
  /** Throttles applied (for the transport's counters). */
  applied = 0;

  track(peer: PeerId, stream: Stream): void {
    let set = this.streams.get(peer);
    if (set === undefined) {
      set = new Set();
      this.streams.set(peer, set);
    }
    set.add(stream);
    if (this.timers.has(peer)) pauseSafely(stream);
    stream.addEventListener(
      "close",
      () => {
        // A peer that closed cleanly while paused expects what it sent to be read: hand over what libp2p
        // still holds for us (this listener runs before the frame decoder's, which is registered after it).
        resumeSafely(stream);
        set.delete(stream);
        if (set.size === 0 && this.streams.get(peer) === set) this.streams.delete(peer);
      },
      { once: true },
    );
  }

  /** Pause the peer's inbound streams until `untilMs` (a later call extends, never shortens). */
  throttle(peer: PeerId, untilMs: number): void {
    const current = this.timers.get(peer);
    if (current !== undefined && current.untilMs >= untilMs) return;
    if (current !== undefined) clearTimeout(current.timer);
    else {
      this.applied++;
      for (const stream of this.streams.get(peer) ?? []) pauseSafely(stream);
    }
    const timer = setTimeout(() => this.release(peer), Math.max(0, untilMs - Date.now()));
    timer.unref();
    this.timers.set(peer, { untilMs, timer });
  }

  isThrottled(peer: PeerId): boolean {
    return this.timers.has(peer);
  }

  /** Resume everything (on stop). */
  clear(): void {
    for (const peer of [...this.timers.keys()]) this.release(peer);
  }

  private release(peer: PeerId): void {
    const entry = this.timers.get(peer);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    this.timers.delete(peer);
    for (const stream of this.streams.get(peer) ?? []) resumeSafely(stream);
  }
}

// The connection under a stream may be gone (a ban aborts it) before the stream reports closed: pausing or
// resuming it then throws, and there is nothing left to pause or resume.
function pauseSafely(stream: Stream): void {
  try {
    if (stream.readStatus === "readable") stream.pause();
  } catch {}
}

function resumeSafely(stream: Stream): void {
  try {
    if (stream.readStatus === "paused") stream.resume();
  } catch {}
}
