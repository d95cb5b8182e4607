import type { Stream, StreamCloseEvent } from "@libp2p/interface";
import type { Logger } from "pino";
import { ErrorCode, TallyError } from "../core/errors.ts";
import type { P2PCounters } from "./counters.ts";
import { DEFAULT_MAX_FRAME_BYTES, encodedMessageBytes, encodeFrame } from "./framing.ts";

/**
 * The one place where per-peer outbound queues and their limits live (inbound admission is src/channels).
 *
 * One `PeerQueue` per remote peer owns one long-lived outbound stream and a FIFO of messages. Messages are
 * batched into frames: a flush runs when the synchronous run that queued the first message of a batch ends
 * (`batchDelayMs` 0, the default) or `batchDelayMs` after it, and at once when a full frame is waiting.
 * Backpressure comes from the stream: when `send` returns false we stop and wait for its 'drain' event (not
 * `onDrain()`, which in @libp2p/utils 7.4.x resolves immediately after the first drain, see
 * docs/architecture.md, "Decisions") while messages keep accumulating in the queue — so the next frame is
 * bigger, which is exactly how batching should react to a slow link.
 *
 * Overflow policy: **drop-new**. When the queue is at `maxQueuedMessages` or `maxQueuedBytes`, `enqueue` refuses
 * the message and returns false (counted in `dropsQueueFull`). Reasons: the caller learns about the loss
 * synchronously, at the moment it still has the context to react (pick another peer, mark the peer as slow),
 * whereas drop-oldest would silently revoke messages the caller believed accepted; the messages already queued
 * keep their FIFO order with no gap in the middle; and refusing is O(1) with no wasted encoding work. The
 * broadcast protocols tolerate loss (sampled quorums, pulls of missing payloads, catch-up).
 *
 * Delivery is at-most-once and FIFO per (sender, receiver) while a stream lives. A stream that dies loses the
 * frames already handed to it; queued messages survive and go out on the next stream, unless the peer's
 * last connection closed meanwhile (`discardQueued`).
 *
 * Members ("wanted" peers) keep a stream open even when idle and are re-opened with exponential backoff for as
 * long as they stay wanted. A queue for a non-member (a peer that connected to us) lives only while its stream
 * does: when the stream closes or cannot be opened, its queued messages are dropped (`dropsNoRoute`) and the
 * owner forgets the queue.
 */
export interface PeerQueueOptions {
  /**
   * Flush delay after the first message of a batch. 0: when the current synchronous run ends (a microtask),
   * so what a caller sends in one go — a node's processing step — leaves as one frame per peer, with no wait.
   */
  batchDelayMs: number;
  /** Upper bound of a frame payload; must match the receivers' limit. */
  maxFrameBytes: number;
  /** Messages per frame; 1 gives one frame (one stream write) per message, the unbatched baseline. */
  maxFrameMessages: number;
  /** Per-peer queue bound in messages. */
  maxQueuedMessages: number;
  /** Per-peer queue bound in message bytes. */
  maxQueuedBytes: number;
  /** First delay before re-opening a failed or closed stream to a member. */
  reconnectInitialDelayMs: number;
  /** Backoff cap; a stream that lived at least this long resets the backoff. */
  reconnectMaxDelayMs: number;
  /** A stream that does not drain within this time is reset and re-opened: the remote stopped reading. */
  drainTimeoutMs: number;
  /** Dial + protocol negotiation budget for opening one stream. */
  openTimeoutMs: number;
  /** Budget for flushing and closing the stream gracefully on shutdown before resetting it. */
  closeTimeoutMs: number;
}

export const DEFAULT_PEER_QUEUE_OPTIONS: Readonly<PeerQueueOptions> = {
  // A node sends a step's messages in one synchronous run: a delay would only add latency to every hop.
  batchDelayMs: 0,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  // Bounds the receiver's synchronous decode+dispatch burst per frame; at ~1M msgs/s that is ~4 ms.
  maxFrameMessages: 4096,
  // ~16 MiB or 64k items per peer: several seconds of full-rate gossip, bounded memory with 100s of peers.
  maxQueuedMessages: 65_536,
  maxQueuedBytes: 16 * 1024 * 1024,
  reconnectInitialDelayMs: 100,
  reconnectMaxDelayMs: 5_000,
  drainTimeoutMs: 30_000,
  openTimeoutMs: 10_000,
  closeTimeoutMs: 1_000,
};

/** The part of a libp2p `Stream` a queue uses (tests provide a fake). */
export type FrameSink = Pick<
  Stream,
  "send" | "abort" | "close" | "writeStatus" | "addEventListener" | "removeEventListener"
>;

export interface PeerQueueDeps {
  /** Dial the peer if needed and open an outbound protocol stream. */
  openStream(signal: AbortSignal): Promise<FrameSink>;
  counters: P2PCounters;
  log: Logger;
  /** Called once when a non-member queue gives up, so the owner drops its reference. */
  onDispose(queue: PeerQueue): void;
}

export class PeerQueue {
  readonly peerId: string;
  /** Members are kept connected and re-opened forever; see class comment. */
  wanted: boolean;

  private readonly opts: PeerQueueOptions;
  private readonly deps: PeerQueueDeps;
  private readonly log: Logger;

  // FIFO as array + head index: O(1) dequeue without Array#shift.
  private items: Uint8Array[] = [];
  private head = 0;
  private bytes = 0;

  private stream: FrameSink | null = null;
  private opening = false;
  private waitingDrain = false;
  private openedAtMs = 0;
  private backoffMs: number;
  private overflowing = false;
  private closed = false;
  /** Epoch ms before which the peer must not be dialled (it is banned); 0 when not held. */
  private heldUntilMs = 0;
  private readonly lifetime = new AbortController();

  private flushTimer: NodeJS.Timeout | null = null;
  /** A flush is due at the end of the current synchronous run (`batchDelayMs` 0). */
  private flushQueued = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private drainTimer: NodeJS.Timeout | null = null;

  private readonly flushNow = (): void => {
    this.flushTimer = null;
    this.flush();
  };

  private readonly flushAfterRun = (): void => {
    if (!this.flushQueued) return;
    this.flushQueued = false;
    this.flush();
  };

  constructor(peerId: string, wanted: boolean, opts: PeerQueueOptions, deps: PeerQueueDeps) {
    this.peerId = peerId;
    this.wanted = wanted;
    this.opts = opts;
    this.deps = deps;
    this.log = deps.log;
    this.backoffMs = opts.reconnectInitialDelayMs;
  }

  get queuedMessages(): number {
    return this.items.length - this.head;
  }

  get queuedBytes(): number {
    return this.bytes;
  }

  /** True while an outbound stream is open and accepting writes. */
  get isOpen(): boolean {
    return this.stream !== null;
  }

  /**
   * Queue one message. Returns false when it was refused (queue full, or queue closed). `msg` must not be
   * mutated afterwards: it is framed later, by reference.
   */
  enqueue(msg: Uint8Array): boolean {
    if (this.closed) {
      this.deps.counters.dropsNoRoute++;
      return false;
    }
    if (
      this.queuedMessages >= this.opts.maxQueuedMessages ||
      this.bytes + msg.length > this.opts.maxQueuedBytes
    ) {
      this.deps.counters.dropsQueueFull++;
      if (!this.overflowing) {
        this.overflowing = true;
        this.log.warn(
          { peer: this.peerId, queuedMessages: this.queuedMessages, queuedBytes: this.bytes },
          "peer queue full, dropping new messages",
        );
      }
      return false;
    }
    this.items.push(msg);
    this.bytes += msg.length;

    if (this.stream === null) {
      this.ensureOpen();
    } else if (!this.waitingDrain) {
      if (this.queuedMessages >= this.opts.maxFrameMessages || this.bytes >= this.opts.maxFrameBytes) {
        // A full frame is ready; waiting would only add latency.
        this.flush();
      } else if (this.opts.batchDelayMs === 0) {
        if (!this.flushQueued) {
          this.flushQueued = true;
          queueMicrotask(this.flushAfterRun);
        }
      } else if (this.flushTimer === null) {
        this.flushTimer = setTimeout(this.flushNow, this.opts.batchDelayMs);
      }
    }
    return true;
  }

  /** Open the stream now if there is none (members call this at start, and on reconnect of the peer). */
  ensureOpen(): void {
    if (this.closed || this.stream !== null || this.opening || this.retryTimer !== null) return;
    if (this.isHeld()) {
      this.retryLater();
      return;
    }
    void this.open();
  }

  /** The peer just connected: skip the remaining backoff (not a ban). */
  kick(): void {
    if (this.retryTimer === null || this.isHeld()) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.ensureOpen();
  }

  /**
   * Flush what is queued, close the stream gracefully (bounded by `closeTimeoutMs`), drop the rest.
   * Idempotent; the queue accepts nothing afterwards.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    const stream = this.stream;
    if (stream !== null) this.flush();
    this.closed = true;
    this.clearTimers();
    this.lifetime.abort();
    this.dropQueued("dropsOnClose");
    if (stream === null) return;
    try {
      await stream.close({ signal: AbortSignal.timeout(this.opts.closeTimeoutMs) });
    } catch (err) {
      stream.abort(err as Error);
    }
  }

  private async open(): Promise<void> {
    this.opening = true;
    let stream: FrameSink;
    try {
      const signal = AbortSignal.any([this.lifetime.signal, AbortSignal.timeout(this.opts.openTimeoutMs)]);
      stream = await this.deps.openStream(signal);
    } catch (err) {
      this.opening = false;
      if (this.closed) return;
      this.deps.counters.openFailures++;
      this.log.debug({ peer: this.peerId, err: (err as Error).message }, "could not open stream to peer");
      this.retryLater();
      return;
    }
    this.opening = false;
    if (this.closed) {
      stream.abort(new Error("peer queue closed while opening"));
      return;
    }
    this.attach(stream);
    this.flush();
  }

  private attach(stream: FrameSink): void {
    this.stream = stream;
    this.openedAtMs = Date.now();
    this.deps.counters.streamsOpened++;
    this.log.debug({ peer: this.peerId }, "stream to peer open");

    const onDrain = (): void => {
      if (this.stream !== stream || !this.waitingDrain) return;
      this.waitingDrain = false;
      if (this.drainTimer !== null) {
        clearTimeout(this.drainTimer);
        this.drainTimer = null;
      }
      this.flush();
    };
    const onClose = (evt: StreamCloseEvent): void => {
      stream.removeEventListener("drain", onDrain);
      stream.removeEventListener("close", onClose);
      this.streamEnded(stream, evt.error, evt.local);
    };
    stream.addEventListener("drain", onDrain);
    stream.addEventListener("close", onClose);
    // The stream may have been reset between negotiation and now; its 'close' event is then already gone.
    if (stream.writeStatus !== "writable") {
      stream.removeEventListener("drain", onDrain);
      stream.removeEventListener("close", onClose);
      this.streamEnded(stream, new Error(`stream ${stream.writeStatus} on open`), false);
    }
  }

  private streamEnded(stream: FrameSink, error: Error | undefined, local: boolean | undefined): void {
    if (this.stream !== stream) return;
    this.stream = null;
    this.waitingDrain = false;
    this.clearTimers();
    if (error !== undefined) this.deps.counters.streamErrors++;
    if (this.closed) return;
    this.log.debug({ peer: this.peerId, err: error?.message, local }, "stream to peer closed");
    if (Date.now() - this.openedAtMs >= this.opts.reconnectMaxDelayMs) {
      this.backoffMs = this.opts.reconnectInitialDelayMs;
    }
    this.retryLater();
  }

  /** Frame and write as much as the stream accepts. */
  private flush(): void {
    this.flushQueued = false;
    if (this.flushTimer !== null) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    const stream = this.stream;
    if (stream === null || this.waitingDrain) return;
    const counters = this.deps.counters;
    while (this.queuedMessages > 0) {
      // A stream that is closing emits 'close' shortly; keep the messages for the next one.
      if (stream.writeStatus !== "writable") return;
      const start = this.head;
      const end = this.pickBatchEnd();
      const frame = encodeFrame(this.items, start, end, this.lastBatchPayloadBytes);
      this.consume(end);
      const count = end - start;
      let more: boolean;
      try {
        more = stream.send(frame);
      } catch (err) {
        counters.dropsStreamError += count;
        this.log.debug({ peer: this.peerId, err: (err as Error).message }, "stream send failed");
        return;
      }
      counters.framesOut++;
      counters.messagesOut += count;
      counters.bytesOut += frame.length;
      if (!more) {
        this.waitingDrain = true;
        this.drainTimer = setTimeout(() => this.onDrainTimeout(stream), this.opts.drainTimeoutMs);
        return;
      }
    }
    this.overflowing = false;
  }

  private lastBatchPayloadBytes = 0;

  /** Index one past the last message of the next frame; sets `lastBatchPayloadBytes`. */
  private pickBatchEnd(): number {
    const items = this.items;
    const limit = Math.min(items.length, this.head + this.opts.maxFrameMessages);
    const maxBytes = this.opts.maxFrameBytes;
    let payload = 0;
    let i = this.head;
    while (i < limit) {
      const size = encodedMessageBytes(items[i]!.length);
      if (payload + size > maxBytes) break;
      payload += size;
      i++;
    }
    this.lastBatchPayloadBytes = payload;
    return i;
  }

  private consume(end: number): void {
    for (let i = this.head; i < end; i++) this.bytes -= this.items[i]!.length;
    if (end === this.items.length) {
      this.items = [];
      this.head = 0;
    } else {
      this.head = end;
      // Compact once the consumed prefix dominates, keeping dequeue amortised O(1).
      if (this.head > 4096 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
    }
  }

  private onDrainTimeout(stream: FrameSink): void {
    this.drainTimer = null;
    if (this.stream !== stream) return;
    this.deps.counters.drainTimeouts++;
    this.log.warn(
      { peer: this.peerId, drainTimeoutMs: this.opts.drainTimeoutMs },
      "peer stopped reading, resetting stream",
    );
    stream.abort(new TallyError(ErrorCode.DrainTimeout, "peer did not drain the stream in time"));
  }

  private retryLater(): void {
    if (!this.wanted) {
      this.dispose();
      return;
    }
    // ±20% jitter so members restarted together do not redial in lock-step.
    const backoff = Math.round(this.backoffMs * (0.8 + 0.4 * Math.random()));
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.reconnectMaxDelayMs);
    const delay = this.isHeld() ? Math.max(backoff, this.heldUntilMs - Date.now()) : backoff;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.ensureOpen();
    }, delay);
  }

  /** Non-members: forget everything, tell the owner. */
  private dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    this.lifetime.abort();
    this.dropQueued("dropsNoRoute");
    const stream = this.stream;
    this.stream = null;
    if (stream !== null) stream.close().catch((err: Error) => stream.abort(err));
    this.deps.onDispose(this);
  }

  /**
   * The peer is banned until `untilMs`: drop what is queued (it would be stale by then) and do not dial before
   * that instant — one timer, no redial loop against the gater. The owner closes the connections; the stream
   * ending then lands in `retryLater`, which honours the hold.
   */
  hold(untilMs: number): void {
    this.heldUntilMs = Math.max(this.heldUntilMs, untilMs);
    this.dropQueued("dropsBanned");
    this.backoffMs = this.opts.reconnectInitialDelayMs;
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.retryLater();
    }
  }

  /** The ban was lifted early: redial now. */
  unhold(): void {
    this.heldUntilMs = 0;
    this.kick();
  }

  private isHeld(): boolean {
    return this.heldUntilMs !== 0 && Date.now() < this.heldUntilMs;
  }

  /**
   * Drops what is queued (counted in `dropsNoRoute`) and keeps the queue: the transport does this when the
   * peer's last connection closes, since what waits was meant for a process that may have restarted.
   */
  discardQueued(): void {
    this.dropQueued("dropsNoRoute");
  }

  /** Stop wanting the peer: a member becomes a plain connected peer (or goes away if it has no stream). */
  unwant(): void {
    this.wanted = false;
    if (this.stream === null && !this.opening) this.dispose();
  }

  private dropQueued(counter: "dropsOnClose" | "dropsNoRoute" | "dropsBanned"): void {
    this.deps.counters[counter] += this.queuedMessages;
    this.items = [];
    this.head = 0;
    this.bytes = 0;
  }

  private clearTimers(): void {
    this.flushQueued = false;
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.drainTimer !== null) clearTimeout(this.drainTimer);
    this.flushTimer = null;
    this.retryTimer = null;
    this.drainTimer = null;
  }
}
