import type { EventEmitter } from "node:events";
import type { PrivateKey } from "@libp2p/interface";
import type { Logger } from "pino";
import { Counter, type Registry } from "prom-client";
import type { Channels } from "../../channels/channels.ts";
import { ErrorCode, TallyError } from "../../core/errors.ts";
import type { PeerId } from "../../core/peerId.ts";
import type { EncodedTransfer } from "../../core/transfer.ts";
import { OPEN_MAX_RECORDS } from "../../membership/openParams.ts";
import type { P2PTransport } from "../../p2p/transport.ts";
import type { NodeDatabase } from "../../storage/database.ts";
import type { NodeConfig } from "../config.ts";
import type { PeerKeeper } from "../peerKeeper.ts";
import { CommitteeDriver } from "./committeeDriver.ts";
import { CoOwnerLinks } from "./coOwnerLinks.ts";
import type { AccountReader } from "./hostedCommittee.ts";
import { HostRelay, hostTopic } from "./hostRelay.ts";
import { loadHostedAccounts, parseOwnerKeyFlag } from "./sharedHosting.ts";

/** Testing-only owner misbehaviours (`--byzantine-owner`). */
export const BYZANTINE_OWNER_MODES: readonly string[] = ["silent", "equivocate"];

export interface SharedSetupContext {
  readonly config: NodeConfig;
  readonly network: string;
  readonly db: NodeDatabase;
  readonly transport: P2PTransport;
  readonly channels: Channels;
  readonly log: Logger;
  readonly node: AccountReader & {
    submit(encoded: EncodedTransfer): Promise<unknown>;
    readonly events: EventEmitter;
    readonly metrics: Registry;
  };
  readonly penalize: (peer: PeerId, event: "malformedBody") => void;
  /** A committee's write failed: the node stops (committees promise write-then-send). */
  readonly onFailure: (e: unknown) => void;
  /** An open network's: co-owners' nodes find each other through its hosts topic and link up directly. */
  readonly open?: OpenNetworkHosting | undefined;
}

export interface OpenNetworkHosting {
  readonly keeper: PeerKeeper;
  readonly addressesOf: (peer: PeerId) => readonly string[];
}

export interface HostRelayContext {
  readonly network: string;
  readonly genesisHash: string;
  readonly transport: P2PTransport;
  readonly privateKey: PrivateKey;
  readonly isKnownHost: (peer: PeerId) => boolean;
  readonly penalize: (peer: PeerId, event: "malformedBody") => void;
  readonly log: Logger;
}

/**
 * Every node of an open network judges and relays host announcements, hosting or not (gossipsub forwards a
 * topic only among its subscribers); a hosting node also publishes its own and keeps the records of its
 * accounts. `shared` is the node's committee driver, if it hosts any account.
 */
export function createHostRelay(ctx: HostRelayContext, shared: () => CommitteeDriver | undefined): HostRelay {
  return new HostRelay({
    self: ctx.transport.peerId,
    topic: hostTopic(ctx.network, ctx.genesisHash),
    pubsub: () => ctx.transport.pubsub,
    privateKey: ctx.privateKey,
    isKnownHost: ctx.isKnownHost,
    maxHosts: OPEN_MAX_RECORDS,
    ownRecords: (nowMs) => shared()?.hostRecords(nowMs) ?? [],
    onRecords: (records, nowMs) => shared()?.onRelayedHosts(records, nowMs),
    penalize: (peer) => ctx.penalize(peer, "malformedBody"),
    log: ctx.log,
  });
}

/** The committee driver if the node was given owner keys (undefined otherwise); refuses bad hosting. */
export async function setUpSharedHosting(ctx: SharedSetupContext): Promise<CommitteeDriver | undefined> {
  const { config } = ctx;
  if ((config.ownerKeys?.length ?? 0) === 0) return undefined;
  const mode = config.byzantineOwner;
  if (mode !== undefined && !BYZANTINE_OWNER_MODES.includes(mode))
    throw new TallyError(
      ErrorCode.InvalidConfig,
      `--byzantine-owner must be ${BYZANTINE_OWNER_MODES.join(" or ")}, got "${mode}"`,
    );
  const hosted = await loadHostedAccounts(
    (config.ownerKeys ?? []).map(parseOwnerKeyFlag),
    config.shared ?? [],
  );
  const open = ctx.open;
  const links =
    open === undefined
      ? undefined
      : new CoOwnerLinks({ self: ctx.transport.peerId, keeper: open.keeper, addressesOf: open.addressesOf });
  const driver = new CommitteeDriver({
    hosted,
    network: ctx.network,
    db: ctx.db,
    transport: ctx.transport,
    channels: ctx.channels,
    reader: ctx.node,
    submit: (encoded) => ctx.node.submit(encoded),
    penalize: ctx.penalize,
    log: ctx.log,
    byzantineOwner: config.byzantineOwner,
    startedAtMs: Date.now(),
    links,
    onFailure: ctx.onFailure,
  });
  perAccountCounter(
    ctx.node.metrics,
    "tally_kshared_equivocations_total",
    "Equivocation proofs a hosted shared account's committee holds against its co-owners",
    () => driver.equivocations(),
  );
  perAccountCounter(
    ctx.node.metrics,
    "tally_kshared_peer_events_dropped_total",
    "Peers' committee messages for a hosted shared account dropped because that account's share of the committee queue was full",
    () => driver.droppedPeerEvents(),
  );
  if (links !== undefined)
    new Counter({
      name: "tally_kshared_host_links_total",
      help: "Co-owners' hosts this node started keeping connected that nothing else (view, bootstrap) kept",
      registers: [ctx.node.metrics],
      collect() {
        this.reset();
        this.inc(links.links);
      },
    });
  ctx.node.events.on("transfer", (event: { id: string; source: string; status: string }) =>
    driver.onTransfer(event),
  );
  return driver;
}

/** A counter per hosted account, read from the driver at each scrape. */
function perAccountCounter(
  registry: Registry,
  name: string,
  help: string,
  read: () => { account: string; count: number }[],
): void {
  new Counter({
    name,
    help,
    labelNames: ["account"],
    registers: [registry],
    collect() {
      this.reset();
      for (const { account, count } of read()) this.inc({ account }, count);
    },
  });
}
