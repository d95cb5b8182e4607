import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { type GossipSub, gossipsub, StrictNoSign } from "@libp2p/gossipsub";
import { type Identify, identify } from "@libp2p/identify";
import type { ComponentLogger, ConnectionGater, Libp2p, PrivateKey } from "@libp2p/interface";
import { type Ping, ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { createLibp2p } from "libp2p";
import { announceable } from "./announceAddrs.ts";
import { sodiumNoiseCrypto } from "./noiseCrypto.ts";
import { applyStreamTuning, gaterTuningWrites } from "./streamTuning.ts";

/**
 * The one factory that builds the libp2p node (STYLE: one factory per outside system). Input is split into
 * plain options and injected modules; every setting that differs from the libp2p default says why.
 */
export type TallyLibp2p = Libp2p<{ identify: Identify; ping: Ping; pubsub?: GossipSub }>;

/** Loopback, v4 and v6: a local devnet opens many connections from one IP in the same second. */
export const LOOPBACK_ALLOW_LIST: readonly string[] = ["/ip4/127.0.0.0/ipcidr/8", "/ip6/::1/ipcidr/128"];

export interface Libp2pNodeOptions {
  /** The node identity (see peerKey.ts). */
  privateKey: PrivateKey;
  /** Multiaddrs to listen on, e.g. `/ip4/127.0.0.1/tcp/0`. */
  listen: readonly string[];
  /** Addresses to announce instead of the listening ones (`--announce`, announceAddrs.ts). */
  announce?: readonly string[];
  /**
   * CIDR multiaddrs exempt from the inbound connection rate limit (`inboundConnectionThreshold`, 5/s per IP),
   * the pending-upgrade cap (`maxIncomingPendingConnections`) and connection pruning.
   * Default: loopback only.
   */
  allowList?: readonly string[];
  /** Reported to peers by identify. */
  version?: string;
  /** See `TransportLimits.maxConnections`; default libp2p's (300). */
  maxConnections?: number;
  /** See `TransportLimits.maxIncomingPendingConnections`; default libp2p's (10). */
  maxIncomingPendingConnections?: number;
  /** Run gossipsub (open membership announces node records on it). */
  pubsub?: boolean;
}

/**
 * Gossipsub for node-record announcements. Records carry their own ed25519 signature, so messages are
 * unsigned (StrictNoSign: no second signature to check, id = hash of the data). Publishing alone is no
 * error (the first node of a network). One RPC is at most 256 KiB: records are ≤ 2 KiB each.
 */
function recordPubsub() {
  return gossipsub({
    globalSignaturePolicy: StrictNoSign,
    allowPublishToZeroTopicPeers: true,
    ignoreDuplicatePublishError: true,
    doPX: false,
    maxInboundDataLength: 256 * 1024,
  });
}

export interface Libp2pNodeModules {
  /** libp2p's own logger; default: the `debug`-based one, silent unless `DEBUG=libp2p:*`. */
  logger?: ComponentLogger;
  /** Bans and per-IP limits (connectionGater.ts); default: libp2p's, which allows everything on Node. */
  connectionGater?: ConnectionGater;
}

export async function createTallyLibp2p(
  opts: Libp2pNodeOptions,
  modules: Libp2pNodeModules = {},
): Promise<TallyLibp2p> {
  applyStreamTuning();
  return createLibp2p({
    privateKey: opts.privateKey,
    // The transport registers its protocol handler before listening, so no inbound stream can race it.
    start: false,
    // Default is to listen nowhere; a node must be reachable by its members. What it announces (identify, and
    // its node record) is what another host can dial: announceAddrs.ts.
    addresses: {
      listen: [...opts.listen],
      ...(opts.announce !== undefined && opts.announce.length > 0 ? { announce: [...opts.announce] } : {}),
      announceFilter: (addrs) => announceable(addrs),
    },
    // Identify tells peers which implementation and version they talk to (default: "js-libp2p").
    nodeInfo: { name: "tally", version: opts.version ?? "0.0.0" },
    ...(modules.logger !== undefined ? { logger: modules.logger } : {}),
    connectionGater: gaterTuningWrites(modules.connectionGater),
    transports: [tcp()],
    connectionEncrypters: [noise({ crypto: sodiumNoiseCrypto })],
    // A stream's flow-control window may grow to 2 MiB (default 16 MiB): a peer that is throttled (paused,
    // inboundThrottle.ts) has at most one window in flight, and libp2p resets a paused stream whose read buffer
    // passes 4 MiB — so a paused peer is not reset, and pins at most 2 MiB. 2 MiB per round trip is 20 MB/s
    // per peer at 100 ms, far above what one peer's broadcast traffic needs.
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: 2 * 1024 * 1024 } })],
    // No peerDiscovery modules: membership is static (devnet) or comes from src/sampling, and the transport
    // dials members itself and redials them forever — libp2p's KEEP_ALIVE reconnect queue gives up after
    // `reconnectRetries` (5) and @libp2p/bootstrap dials only once.
    connectionManager: {
      // libp2p refuses more than 5 inbound connections/s per IP (`inboundConnectionThreshold`) and more than
      // 10 concurrent pending upgrades; a loopback devnet of N nodes opens N-1 connections per node at once and
      // again on every restart, so loopback is allow-listed (which bypasses both checks and pruning).
      allow: [...(opts.allowList ?? LOOPBACK_ALLOW_LIST)],
      // Numbers and reasons: TransportLimits in limits.ts.
      ...(opts.maxConnections !== undefined ? { maxConnections: opts.maxConnections } : {}),
      ...(opts.maxIncomingPendingConnections !== undefined
        ? { maxIncomingPendingConnections: opts.maxIncomingPendingConnections }
        : {}),
    },
    services: {
      // Learns the remote's listen addresses into the peer store, so peers that dialled us can be dialled back.
      identify: identify(),
      // Answers the built-in connection monitor, which pings every connection every 10 s and aborts those
      // whose ping fails; without a handler the probe degrades to a protocol-negotiation round trip.
      ping: ping(),
      ...(opts.pubsub === true ? { pubsub: recordPubsub() } : {}),
    },
  });
}
