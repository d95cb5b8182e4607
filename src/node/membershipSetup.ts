import type { PrivateKey } from "@libp2p/interface";
import type { Logger } from "pino";
import type { Channels } from "../channels/channels.ts";
import type { ProtocolSpec } from "../channels/protocolSpec.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import type { PeerId } from "../core/peerId.ts";
import type { RandomSource } from "../core/random.ts";
import type { Genesis } from "../genesis/genesis.ts";
import { OpenMembership } from "../membership/openMembership.ts";
import { OPEN_MAX_RECORDS, OPEN_RESETS_PER_ROUND, OPEN_VIEW_SIZE } from "../membership/openParams.ts";
import type { P2PTransport } from "../p2p/transport.ts";
import { MEMBERSHIP_CHANNEL } from "../protocols/membership/membershipChannel.ts";
import { MembershipDriver } from "./membershipDriver.ts";
import { type NodeMembership, openNodeMembership, staticNodeMembership } from "./nodeMembership.ts";
import { PeerIntroductions } from "./peerIntroductions.ts";
import type { PeerKeeper } from "./peerKeeper.ts";

export interface MembershipSetup {
  readonly self: PeerId;
  readonly membership: NodeMembership;
  /** The open network's core, if the genesis is open. */
  readonly open: OpenMembership | undefined;
  /** Channel protocols membership adds (the exchange channel on an open network). */
  readonly protocols: readonly ProtocolSpec[];
}

/**
 * Static: this node must be listed in the genesis. Open: anyone with a valid identity takes part.
 * `unlinked` (testing only): identities the open sampler never takes into the view.
 */
export function setUpMembership(
  genesis: Genesis,
  genesisId: string,
  self: PeerId,
  random: RandomSource,
  unlinked: readonly PeerId[] = [],
): MembershipSetup {
  const mode = genesis.membership;
  if (mode.mode === "static") {
    if (!genesis.members.some((m) => m.peerId === self)) {
      throw new TallyError(
        ErrorCode.InvalidGenesis,
        `this node (${self}) is not a member of the genesis; a permissioned network needs every node listed`,
      );
    }
    return { self, membership: staticNodeMembership(genesis, self, random), open: undefined, protocols: [] };
  }
  const open = new OpenMembership({
    self,
    network: genesis.network,
    genesisHash: genesisId,
    identityDifficulty: mode.identityDifficulty,
    recordTtlMs: mode.recordTtlSeconds * 1_000,
    viewSize: OPEN_VIEW_SIZE,
    resetsPerRound: OPEN_RESETS_PER_ROUND,
    maxRecords: OPEN_MAX_RECORDS,
    // A correct node refreshes once per refresh period; half of it leaves room for a restart's new record.
    minUpdateIntervalMs: Math.floor((mode.recordRefreshSeconds * 1_000) / 2),
    random,
    ...(unlinked.length > 0 ? { unlinked: new Set(unlinked) } : {}),
  });
  return { self, membership: openNodeMembership(open), open, protocols: [MEMBERSHIP_CHANNEL] };
}

export interface DriverSetup {
  readonly genesis: Genesis;
  readonly genesisId: string;
  readonly open: OpenMembership;
  readonly transport: P2PTransport;
  readonly keeper: PeerKeeper;
  readonly channels: Channels;
  readonly privateKey: PrivateKey;
  readonly bootstrap: readonly string[];
  readonly log: Logger;
  readonly penalize: (peer: PeerId, event: "malformedBody" | "budgetOverrun", count?: number) => void;
}

/**
 * Members-only messages held until a peer knows us: a few seconds of one peer's broadcast traffic (4,096), a
 * 64k-message cap over all peers (at most ~64 MiB of 1 KiB messages), 30 s before giving up on a peer.
 */
const INTRODUCTION_LIMITS = { maxHeldPerPeer: 4_096, maxHeldTotal: 65_536, maxHoldMs: 30_000 } as const;

/** The I/O of an open network: the driver (records, exchanges, connections) and the introductions it answers. */
export function createMembershipDriver(setup: DriverSetup): {
  driver: MembershipDriver;
  introductions: PeerIntroductions;
} {
  const mode = setup.genesis.membership;
  if (mode.mode !== "open") throw new TallyError(ErrorCode.InvalidGenesis, "membership driver: not open");
  const introductions: PeerIntroductions = new PeerIntroductions({
    ...INTRODUCTION_LIMITS,
    introduce: (peer) => driver.introduce(peer),
    send: (peer, bytes) => setup.transport.send(peer, bytes),
  });
  const driver: MembershipDriver = new MembershipDriver({
    membership: setup.open,
    transport: setup.transport,
    keeper: setup.keeper,
    channels: setup.channels,
    privateKey: setup.privateKey,
    network: setup.genesis.network,
    genesisHash: setup.genesisId,
    identityDifficulty: mode.identityDifficulty,
    recordTtlMs: mode.recordTtlSeconds * 1_000,
    recordRefreshMs: mode.recordRefreshSeconds * 1_000,
    bootstrap: [...mode.bootstrap, ...setup.bootstrap],
    log: setup.log.child({ module: "membership" }),
    penalize: setup.penalize,
    onIntroduced: (peer) => introductions.markIntroduced(peer),
  });
  setup.transport.on("peer:disconnect", (peer) => introductions.forget(peer));
  return { driver, introductions };
}
