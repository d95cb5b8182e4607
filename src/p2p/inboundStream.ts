import type { Stream, StreamMessageEvent } from "@libp2p/interface";
import type { Logger } from "pino";
import { ErrorCode, isTallyError } from "../core/errors.ts";
import type { PeerId } from "../core/peerId.ts";
import type { P2PCounters } from "./counters.ts";
import { isFramingError } from "./errors.ts";
import { decodeFramePayload, FRAME_HEADER_BYTES, type FrameBufferBudget, FrameDecoder } from "./framing.ts";
import type { PeerInboundStats } from "./peerInboundStats.ts";

/**
 * The receiving end of one peer's message stream: split frames, count them globally and per peer, hand each
 * message on. This end never writes. Whatever the peer sends, the outcome is either delivered messages or a
 * reset of this stream — never an exception into libp2p.
 */
export interface InboundStreamDeps {
  maxFrameBytes: number;
  maxMessageBytes: number;
  counters: P2PCounters;
  stats: PeerInboundStats;
  /** Reservations for frames that span chunks (the global and per-peer buffer caps). */
  budget: FrameBufferBudget;
  deliver(from: PeerId, msg: Uint8Array): void;
  /** The peer broke the frame format. */
  onViolation(from: PeerId): void;
  log: Logger;
}

export function readInboundStream(stream: Stream, from: PeerId, deps: InboundStreamDeps): void {
  const { counters, stats, maxMessageBytes, log } = deps;
  const decoder = new FrameDecoder(deps.maxFrameBytes, deps.budget);
  const onFrame = (payload: Uint8Array): void => {
    const msgs = decodeFramePayload(payload, maxMessageBytes);
    const bytes = FRAME_HEADER_BYTES + payload.length;
    counters.framesIn++;
    counters.bytesIn += bytes;
    counters.messagesIn += msgs.length;
    const peer = stats.touch(from);
    peer.framesIn++;
    peer.bytesIn += bytes;
    peer.messagesIn += msgs.length;
    for (const msg of msgs) deps.deliver(from, msg);
  };
  stream.addEventListener("message", (evt: StreamMessageEvent) => {
    try {
      const data = evt.data;
      if (data instanceof Uint8Array) decoder.push(data, onFrame);
      else for (const chunk of data) decoder.push(chunk, onFrame);
    } catch (err) {
      if (isFramingError(err)) {
        counters.protocolViolations++;
        stats.touch(from).protocolViolations++;
        deps.onViolation(from);
        log.warn(
          { peer: from, code: err.code, reason: err.message, ...err.meta },
          "peer broke the frame format, resetting its stream",
        );
      } else if (isTallyError(err, ErrorCode.InboundBufferFull)) {
        counters.inboundBufferResets++;
        stats.touch(from).bufferResets++;
        log.warn({ peer: from, ...err.meta }, "inbound frame buffer budget exhausted, resetting stream");
      } else {
        log.error({ peer: from, err }, "inbound stream failed");
      }
      decoder.dispose();
      stream.abort(err as Error);
    }
  });
  // Whichever way the stream ends, a partial frame's reservation goes back to the budget.
  stream.addEventListener("close", () => decoder.dispose(), { once: true });
  // Closing our (unused) half now lets the stream finish as soon as the sender closes theirs.
  stream.close().catch(() => {});
}
