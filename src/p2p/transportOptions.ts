import type { PeerId as Libp2pPeerId, PrivateKey } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import type { Logger } from "pino";
import { ErrorCode, TallyError } from "../core/errors.ts";
import type { PeerId } from "../core/peerId.ts";
import type { Libp2pNodeModules } from "./createLibp2p.ts";
import type { TransportLimits } from "./limits.ts";
import type { PeerQueueOptions } from "./peerQueue.ts";

/** The options of `P2PTransport` and the parsing of what callers pass in them. */
export type MessageHandler = (from: PeerId, msg: Uint8Array) => void;

export interface P2PTransportEvents {
  "peer:connect": [peerId: PeerId];
  "peer:disconnect": [peerId: PeerId];
  /** The peer broke the frame format (its stream was reset): the channel layer scores it. */
  "peer:violation": [peerId: PeerId];
}

export interface P2PTransportOptions {
  privateKey: PrivateKey;
  /** Listen multiaddrs. Default `/ip4/127.0.0.1/tcp/0`. */
  listen?: readonly string[];
  /** Addresses to announce instead of the listening ones (announceAddrs.ts). */
  announce?: readonly string[];
  /**
   * Static members: multiaddrs ending in `/p2p/<peerId>`. Our own id may appear and is skipped; several
   * addresses of one peer are all kept.
   */
  bootstrap?: readonly string[];
  /** Structured logger; default silent. */
  logger?: Logger;
  /** Message hook; may also be set later with `onMessage`. */
  onMessage?: MessageHandler;
  /** Default `TALLY_MSG_PROTOCOL`. */
  protocol?: string;
  /** Upper bound of a frame payload, enforced on send and receive. Default 1 MiB. */
  maxFrameBytes?: number;
  /** Upper bound of one message, enforced on send and receive. Default 256 KiB. */
  maxMessageBytes?: number;
  /** Per-peer queue tuning (batching, limits, reconnect backoff); see `PeerQueueOptions`. */
  queue?: Partial<Omit<PeerQueueOptions, "maxFrameBytes">>;
  /** Run gossipsub (open membership's record announcements); see `transport.pubsub`. */
  pubsub?: boolean;
  /** See `Libp2pNodeOptions.allowList`; default loopback. Also the default of `limits.perIpAllowList`. */
  allowList?: readonly string[];
  /** Connection, per-IP, buffer, tracking and ban bounds; see `TransportLimits` for defaults and reasons. */
  limits?: Partial<TransportLimits>;
  /** Reported to peers by identify. */
  version?: string;
  /** Injected libp2p modules (the transport supplies its own connection gater unless one is given here). */
  libp2pModules?: Libp2pNodeModules;
}

export function validateQueueOptions(o: PeerQueueOptions): void {
  const positive: (keyof PeerQueueOptions)[] = [
    "maxFrameMessages",
    "maxQueuedMessages",
    "maxQueuedBytes",
    "reconnectInitialDelayMs",
    "reconnectMaxDelayMs",
    "drainTimeoutMs",
    "openTimeoutMs",
    "closeTimeoutMs",
  ];
  for (const key of positive) {
    if (!(o[key] > 0)) throw new TallyError(ErrorCode.InvalidOption, `${key} must be > 0`, { [key]: o[key] });
  }
  if (!(o.batchDelayMs >= 0)) throw new TallyError(ErrorCode.InvalidOption, "batchDelayMs must be >= 0");
}

/** A member address `…/p2p/<peerId>`, split into the peer id and the address to dial. */
export function parseMemberAddr(addr: string): { peerId: PeerId; ma: Multiaddr } {
  try {
    const ma = multiaddr(addr);
    const value = ma.getComponents().find((c) => c.name === "p2p")?.value;
    if (value === undefined) throw new Error("missing /p2p/<peerId>");
    return { peerId: peerIdFromString(value).toString(), ma };
  } catch (err) {
    throw new TallyError(ErrorCode.InvalidOption, `bad peer multiaddr ${addr}: ${(err as Error).message}`, {
      addr,
    });
  }
}

export function parsePeerId(peerId: PeerId): Libp2pPeerId {
  try {
    return peerIdFromString(peerId);
  } catch {
    throw new TallyError(ErrorCode.InvalidPeer, `not a peer id: ${peerId}`);
  }
}

/** Caller bugs `send` throws on: the transport is not started (`notStarted` names its state), or the size. */
export function checkSendable(
  notStarted: string | undefined,
  msg: Uint8Array,
  maxMessageBytes: number,
): void {
  if (notStarted !== undefined) throw new TallyError(ErrorCode.NotStarted, `transport is ${notStarted}`);
  if (msg.length === 0 || msg.length > maxMessageBytes) {
    throw new TallyError(ErrorCode.MessageTooLarge, "message must have 1..maxMessageBytes bytes", {
      bytes: msg.length,
      maxMessageBytes,
    });
  }
}
