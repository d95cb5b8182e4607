import type {
  Connection,
  ConnectionGater,
  PeerId as Libp2pPeerId,
  MultiaddrConnection,
} from "@libp2p/interface";
import type { Logger } from "pino";
import { ErrorCode, TallyError } from "../core/errors.ts";
import type { BanList } from "./banList.ts";
import type { P2PCounters } from "./counters.ts";
import { type InboundIpLimit, ipOf } from "./inboundIpLimit.ts";
import type { PartitionGate } from "./partitionGate.ts";

/**
 * The libp2p connection gater of a Tally node: where bans and the per-IP limit are enforced inside libp2p.
 *
 * - Inbound, right after TCP accept (`denyInboundConnection`): the per-IP limit, before any handshake work.
 * - Inbound, after Noise has authenticated the remote (`denyInboundEncryptedConnection`): bans. Earlier the
 *   peer id is unknown; later would cost a muxer negotiation.
 * - Outbound: bans, both before dialling a known peer id (`denyDialPeer`, `denyOutboundConnection`) and after
 *   the handshake for dials by address alone (`denyOutboundEncryptedConnection`).
 * - Testing only: peers in the partition gate are refused at the same points as bans (and counted apart).
 */
export interface GaterDeps {
  bans: BanList;
  ipLimit: InboundIpLimit;
  counters: P2PCounters;
  /** Testing only (`--testing-faults`); empty unless a test cuts the network. */
  partition: PartitionGate;
  log: Logger;
  now(): number;
}

export function tallyConnectionGater(deps: GaterDeps): ConnectionGater {
  const { bans, ipLimit, counters, partition, log } = deps;
  const refuseBanned = (peerId: Libp2pPeerId, where: string): boolean => {
    const peer = peerId.toString();
    if (partition.isBlocked(peer)) {
      counters.partitionRefusals++;
      log.debug({ peer, where }, "refused partitioned peer (testing)");
      return true;
    }
    if (!bans.refuse(peer, deps.now())) return false;
    counters.banRefusals++;
    log.debug({ peer, where }, "refused banned peer");
    return true;
  };
  return {
    denyDialPeer: (peerId) => refuseBanned(peerId, "dial"),
    denyOutboundConnection: (peerId) => refuseBanned(peerId, "outbound"),
    denyOutboundEncryptedConnection: (peerId) => refuseBanned(peerId, "outbound-encrypted"),
    denyInboundEncryptedConnection: (peerId) => refuseBanned(peerId, "inbound-encrypted"),
    denyInboundConnection: (maConn: MultiaddrConnection): boolean => {
      const ip = ipOf(maConn.remoteAddr);
      if (ip === undefined || ipLimit.isExempt(ip)) return false;
      if (maConn.status !== "open") return true;
      if (!ipLimit.tryAcquire(ip)) {
        counters.perIpRefusals++;
        log.debug({ ip }, "refused inbound connection: per-IP limit");
        return true;
      }
      // 'close' fires once whichever way the socket ends (closed, reset, upgrade failed and aborted).
      maConn.addEventListener("close", () => ipLimit.release(ip), { once: true });
      return false;
    },
  };
}

/**
 * A connection whose upgrade passed the gater just before a `ban` (or a testing partition) landed: aborted
 * here, on libp2p's `connection:open`.
 */
export function abortIfRefused(deps: GaterDeps, connection: Connection): void {
  const peer = connection.remotePeer.toString();
  if (deps.partition.isBlocked(peer)) {
    deps.counters.partitionRefusals++;
    connection.abort(new TallyError(ErrorCode.PeerBanned, "peer is partitioned off (testing)", { peer }));
  } else if (deps.bans.refuse(peer, deps.now())) {
    deps.counters.banRefusals++;
    connection.abort(new TallyError(ErrorCode.PeerBanned, "peer is banned", { peer }));
  }
}
