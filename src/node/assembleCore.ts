import { randomInt } from "node:crypto";
import type { Logger } from "pino";
import { INSTANCE_DEFAULTS } from "../broadcast/instance/instanceOptions.ts";
import type { ProtocolSpec } from "../channels/protocolSpec.ts";
import type { PeerId } from "../core/peerId.ts";
import { sodiumVerifier } from "../crypto/ed25519Sodium.ts";
import type { Genesis } from "../genesis/genesis.ts";
import { SignatureAuthorizer } from "../ledger/authorization.ts";
import { Ledger } from "../ledger/ledger.ts";
import { OPEN_VIEW_SIZE } from "../membership/openParams.ts";
import type { StatusIdentity } from "../protocols/status/statusProtocol.ts";
import { coversMembership } from "../sampling/fullMembership.ts";
import type { LevelLedgerStore } from "../storage/levelLedgerStore.ts";
import { createBroadcast } from "./core/createBroadcast.ts";
import { NodeCore } from "./core/nodeCore.ts";
import { PayloadInspector } from "./core/payloadInspector.ts";
import { samplerRoundMs } from "./membershipDriver.ts";
import type { NodeMembership } from "./nodeMembership.ts";

export interface CoreSetup {
  readonly genesis: Genesis;
  readonly genesisId: string;
  readonly self: PeerId;
  readonly membership: NodeMembership;
  readonly store: LevelLedgerStore;
  readonly protocols: readonly ProtocolSpec[];
  /** Testing only: the misbehaviour this node adopts (see src/broadcast/byzantine.ts). */
  readonly byzantine: string | undefined;
  /** Testing only: the broadcast's stall timeout, instead of its 10 minutes (`INSTANCE_DEFAULTS`). */
  readonly stallTimeoutMs?: number | undefined;
  readonly log: Logger;
  /**
   * Uniform [0, 1) draws for the broadcast's samples and catch-up's; default crypto-backed. Only the cluster
   * bench's replayable mode passes a seeded one: draws an attacker could predict would let it position itself.
   */
  readonly random?: () => number;
}

/**
 * The composition root of the node's decisions: ledger over the store, the payload inspector (signatures
 * checked with libsodium, once per transfer), the genesis's broadcast mode, and the core around them.
 */
export function assembleCore(setup: CoreSetup): { core: NodeCore; identity: StatusIdentity } {
  const { genesis, store, log, membership } = setup;
  const random = setup.random ?? cryptoRandom;
  const stallTimeoutMs = setup.stallTimeoutMs ?? INSTANCE_DEFAULTS.stallTimeoutMs;
  const authorizer = new SignatureAuthorizer(sodiumVerifier);
  const ledger = new Ledger(genesis, store, authorizer);
  const inspector = new PayloadInspector(genesis.network, authorizer);
  if (setup.byzantine !== undefined)
    log.warn({ strategy: setup.byzantine }, "BYZANTINE TEST MODE: this node deliberately misbehaves");
  const broadcast = createBroadcast({
    self: setup.self,
    members: membership.members,
    oracle: membership.oracle,
    config: genesis.broadcast,
    ...(genesis.membership.mode === "open"
      ? {
          refreshIntervalMs: genesis.membership.recordRefreshSeconds * 1_000,
          // A view that took no new peer for two sampler rounds has heard of every member its sampler can reach.
          viewSettleMs: 2 * samplerRoundMs(genesis.membership.recordRefreshSeconds * 1_000),
          // The view (≤ OPEN_VIEW_SIZE peers) shares the live instances, as a static list's members do.
          maxOpenedPerPeer: Math.ceil(INSTANCE_DEFAULTS.maxLiveInstances / OPEN_VIEW_SIZE),
        }
      : {}),
    inspect: inspector.inspect,
    random,
    isSettled: (instance) => ledger.isSlotTaken(instance.source, instance.seq),
    byzantine: setup.byzantine,
    stallTimeoutMs,
  });
  const identity: StatusIdentity = {
    network: genesis.network,
    genesis: setup.genesisId,
    protocols: setup.protocols.map((p) => ({ id: p.code, version: p.version })),
  };
  const others = membership.members.length - 1;
  // An open network has no member count: `behind` then trusts the second most advanced peer.
  const f = membership.kind === "open" ? 1 : Math.floor(others / 3);
  const { broadcast: mode } = genesis;
  const withReplacement =
    mode.mode === "contagion" && (membership.kind === "open" || !coversMembership(mode.params, others));
  const core = new NodeCore({
    // Catch-up's evidence is the broadcast's: a delivery sample and its threshold (Bracha: every other member
    // asked, 2f + 1 must agree), drawn as the broadcast draws it — with replacement unless the params cover
    // the whole membership. docs/catch-up.md and docs/analysis.md argue why that suffices.
    catchUp: {
      isPeer: (peer) => peer !== setup.self && membership.isMember(peer),
      sampleSize: mode.mode === "contagion" ? mode.params.D : others,
      threshold: mode.mode === "contagion" ? mode.params.Dhat : 2 * f + 1,
      // From the broadcast's population, not from whoever is connected: a restarted node's first connections
      // must not make up its whole sample. And nothing while the broadcast itself may not decide.
      draw: (count) =>
        withReplacement ? membership.oracle.sample(count) : membership.oracle.distinct(count),
      mayDecide: () => broadcast.samplesSettled?.() ?? true,
      f,
      random,
    },
    broadcast,
    ledger,
    inspector,
    identity,
    takeLedgerWrites: () => store.takeQueued(),
    signatureChecks: () => authorizer.checks,
    onLedgerRefusal: (id, reason) => log.error({ id, reason }, "ledger refused a delivered transfer"),
    // A tenth of the stall timeout: a dropped submission is offered again at most a minute after the drop.
    reofferSweepMs: stallTimeoutMs / 10,
  });
  return { core, identity };
}

/**
 * A uniform [0, 1) draw, crypto-backed: the node's samples (membership's, the broadcast's, catch-up's) use
 * it, since draws an attacker could predict would let it position itself in them.
 */
export function cryptoRandom(): number {
  return randomInt(2 ** 47) / 2 ** 47;
}
