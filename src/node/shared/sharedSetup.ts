import type { EventEmitter } from "node:events";
import type { Logger } from "pino";
import { Counter, type Registry } from "prom-client";
import type { Channels } from "../../channels/channels.ts";
import { ErrorCode, TallyError } from "../../core/errors.ts";
import type { PeerId } from "../../core/peerId.ts";
import type { EncodedTransfer } from "../../core/transfer.ts";
import type { P2PTransport } from "../../p2p/transport.ts";
import type { NodeDatabase } from "../../storage/database.ts";
import type { NodeConfig } from "../config.ts";
import { CommitteeDriver } from "./committeeDriver.ts";
import type { AccountReader } from "./hostedCommittee.ts";
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
