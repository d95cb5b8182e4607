/**
 * Monotonic counters of the p2p layer. Plain numbers mutated in place on the hot path (no allocation, no
 * label lookups); the metrics module can export them to Prometheus by reading a snapshot.
 *
 * Bytes are counted at this layer — frame headers and length prefixes included, Noise/Yamux/TCP overhead not.
 */
export interface P2PCounters {
  framesOut: number;
  messagesOut: number;
  bytesOut: number;
  framesIn: number;
  messagesIn: number;
  bytesIn: number;
  /** `send` refused: the peer's queue was at `maxQueuedMessages` / `maxQueuedBytes` (drop-new policy). */
  dropsQueueFull: number;
  /** `send` to a peer that is neither a member nor connected, or queued messages of a non-member whose stream went away. */
  dropsNoRoute: number;
  /** Messages still queued when the transport stopped or a peer was removed. */
  dropsOnClose: number;
  /** Messages handed to a stream whose `send` threw (the stream was closing under us). */
  dropsStreamError: number;
  /** Inbound messages that arrived before any `onMessage` handler was installed. */
  dropsNoHandler: number;
  /** `onMessage` handler threw; the message is counted as delivered. */
  handlerErrors: number;
  /** Inbound streams reset because the remote broke the wire format (oversized frame, bad length, …). */
  protocolViolations: number;
  /** Outbound streams opened (first open and every re-open). */
  streamsOpened: number;
  /** Outbound streams that ended with an error (remote reset, connection lost, drain timeout). */
  streamErrors: number;
  /** Outbound streams we reset because the remote stopped reading. */
  drainTimeouts: number;
  /** Failed attempts to dial a peer / open a stream to it. */
  openFailures: number;
  /** Messages refused by `send`/`broadcast`, or dropped from a queue, because their peer is banned. */
  dropsBanned: number;
  /** `ban` calls. */
  bansApplied: number;
  /** Connections and dials refused because the peer is banned (per peer: `bans()`). */
  banRefusals: number;
  /** Times a peer's inbound streams were paused because it sent faster than it was admitted. */
  throttles: number;
  /** Inbound connections refused because their IP already had `maxInboundConnectionsPerIp`. */
  perIpRefusals: number;
  /** Inbound streams reset because the buffered-frame budget had no room for their next frame. */
  inboundBufferResets: number;
  /** Testing only: dials and connections refused because a test partitioned the peer off (`--testing-faults`). */
  partitionRefusals: number;
}

export function newP2PCounters(): P2PCounters {
  return {
    framesOut: 0,
    messagesOut: 0,
    bytesOut: 0,
    framesIn: 0,
    messagesIn: 0,
    bytesIn: 0,
    dropsQueueFull: 0,
    dropsNoRoute: 0,
    dropsOnClose: 0,
    dropsStreamError: 0,
    dropsNoHandler: 0,
    handlerErrors: 0,
    protocolViolations: 0,
    streamsOpened: 0,
    streamErrors: 0,
    drainTimeouts: 0,
    openFailures: 0,
    dropsBanned: 0,
    bansApplied: 0,
    banRefusals: 0,
    throttles: 0,
    perIpRefusals: 0,
    inboundBufferResets: 0,
    partitionRefusals: 0,
  };
}
