import { ErrorCode, TallyError } from "../core/errors.ts";
import { LOOPBACK_ALLOW_LIST } from "./createLibp2p.ts";

/**
 * Connection-level limits of the transport: how many connections, from where, how much unread frame memory,
 * how many peers are tracked. Every bound on something a remote peer can grow is here, with its number and the
 * reason for it; docs/p2p-limits.md lists them for operators.
 */
export interface TransportLimits {
  /**
   * libp2p refuses inbound connections above this and prunes the lowest-valued peers (members are tagged, so
   * they go last). 300 = a few hundred members plus room for clients and peers that are just passing through.
   */
  maxConnections: number;
  /**
   * Inbound connections still in their Noise/Yamux upgrade. Each costs a handshake (CPU) and a socket before we
   * know who is calling; 32 lets a burst of restarting members in without letting a flood of strangers queue.
   */
  maxIncomingPendingConnections: number;
  /**
   * Open inbound connections per remote IP address (outside `perIpAllowList`). 8 lets a few nodes share a NAT
   * while one host cannot take a large share of `maxConnections`. Counted from TCP accept, before the peer
   * identifies itself, so it limits strangers and members alike.
   */
  maxInboundConnectionsPerIp: number;
  /**
   * CIDR multiaddrs (`/ip4/10.0.0.0/ipcidr/8`) exempt from `maxInboundConnectionsPerIp`. Default: the libp2p
   * allow list (loopback), because a local devnet connects every node from 127.0.0.1; tests pass `[]` to apply
   * the limit to loopback.
   */
  perIpAllowList: readonly string[];
  /**
   * Memory held by all inbound streams for frames that have not fully arrived (each stream holds at most one
   * frame, ≤ maxFrameBytes). Without a global cap, 300 connections × 4 streams × 1 MiB could pin 1.2 GiB from
   * slow senders. A stream whose next frame would break the cap is reset.
   */
  maxBufferedInboundBytes: number;
  /**
   * The same per peer, across all its connections and streams: one connection's worth
   * (MAX_INBOUND_STREAMS_PER_CONNECTION × 1 MiB).
   */
  maxBufferedInboundBytesPerPeer: number;
  /**
   * Part of `maxBufferedInboundBytes` that only members may use, so strangers filling the buffer cannot stall
   * member traffic with large frames.
   */
  memberReservedInboundBytes: number;
  /** Non-members with per-peer inbound counters; the longest idle is forgotten first. Members are always kept. */
  maxTrackedPeers: number;
  /** Active bans; when full, the ban that ends first is dropped to make room. */
  maxBans: number;
}

const MIB = 1024 * 1024;

/**
 * Inbound streams of our protocol per connection. The peer needs one; a few more cover a re-open racing the
 * close of the previous stream. Each costs up to one `maxFrameBytes` reassembly buffer, so it is kept small
 * (libp2p default: 32).
 */
export const MAX_INBOUND_STREAMS_PER_CONNECTION = 4;

export const DEFAULT_TRANSPORT_LIMITS: Readonly<TransportLimits> = {
  maxConnections: 300,
  maxIncomingPendingConnections: 32,
  maxInboundConnectionsPerIp: 8,
  perIpAllowList: LOOPBACK_ALLOW_LIST,
  maxBufferedInboundBytes: 64 * MIB,
  maxBufferedInboundBytesPerPeer: 4 * MIB,
  memberReservedInboundBytes: 16 * MIB,
  maxTrackedPeers: 1024,
  maxBans: 4096,
};

/** Defaults merged with `overrides`; `perIpAllowList` defaults to the libp2p allow list when one is given. */
export function resolveLimits(
  overrides: Partial<TransportLimits> | undefined,
  allowList: readonly string[] | undefined,
  maxFrameBytes: number,
): TransportLimits {
  const limits: TransportLimits = {
    ...DEFAULT_TRANSPORT_LIMITS,
    ...(allowList !== undefined ? { perIpAllowList: allowList } : {}),
    ...overrides,
  };
  const positiveIntegers: (keyof TransportLimits)[] = [
    "maxConnections",
    "maxIncomingPendingConnections",
    "maxInboundConnectionsPerIp",
    "maxBufferedInboundBytes",
    "maxBufferedInboundBytesPerPeer",
    "maxTrackedPeers",
    "maxBans",
  ];
  for (const key of positiveIntegers) {
    const value = limits[key];
    if (!(typeof value === "number" && Number.isSafeInteger(value) && value > 0)) {
      throw new TallyError(ErrorCode.InvalidOption, `${key} must be a positive integer`, { [key]: value });
    }
  }
  const { maxBufferedInboundBytes: total, maxBufferedInboundBytesPerPeer: perPeer } = limits;
  const reserved = limits.memberReservedInboundBytes;
  if (perPeer < maxFrameBytes || total < perPeer) {
    throw new TallyError(
      ErrorCode.InvalidOption,
      "need maxFrameBytes <= maxBufferedInboundBytesPerPeer <= maxBufferedInboundBytes",
      { maxFrameBytes, perPeer, total },
    );
  }
  if (!(Number.isSafeInteger(reserved) && reserved >= 0 && reserved <= total - maxFrameBytes)) {
    throw new TallyError(
      ErrorCode.InvalidOption,
      "memberReservedInboundBytes must leave room for one frame of a non-member",
      { reserved, total, maxFrameBytes },
    );
  }
  return limits;
}
