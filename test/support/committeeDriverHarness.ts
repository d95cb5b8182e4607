/**
 * What an in-process CommitteeDriver test needs around a real LevelDB and real committees: hosted accounts
 * whose owner at this node has a fixed key, and the parts of the channel layer and transport the driver
 * uses, stubbed.
 */
import pino from "pino";
import type { Channels } from "../../src/channels/channels.ts";
import type { InboundItem } from "../../src/channels/inboundScheduler.ts";
import { bytesEqual, toHex } from "../../src/core/bytes.ts";
import { type SharedDefinition, sharedAccountId, sharedAddress } from "../../src/kshared/definition.ts";
import type { CommitteeDriverOptions } from "../../src/node/shared/committeeDriver.ts";
import type { AccountReader } from "../../src/node/shared/hostedCommittee.ts";
import { ownerSigner } from "../../src/node/shared/ownerSigner.ts";
import type { HostedAccount } from "../../src/node/shared/sharedHosting.ts";
import type { P2PTransport } from "../../src/p2p/transport.ts";
import type { NodeDatabase } from "../../src/storage/database.ts";

/** The key of the owner hosted by the node under test. */
export const NODE_SEED = new Uint8Array(32).fill(1);
/** A co-owner's key. */
export const PEER_SEED = new Uint8Array(32).fill(2);

export function definition(label: string, seeds: readonly Uint8Array[]): SharedDefinition {
  const owners = seeds.map((seed) => ownerSigner(seed).publicKey).sort((a, b) => Buffer.compare(a, b));
  return { owners, label };
}

/** The shared account of `seeds`' owners, as hosted by the owner with NODE_SEED. */
export function hosted(label: string, seeds: readonly Uint8Array[] = [NODE_SEED, PEER_SEED]): HostedAccount {
  const def = definition(label, seeds);
  const signer = ownerSigner(NODE_SEED);
  const id = sharedAccountId(def);
  const self = def.owners.findIndex((o) => bytesEqual(o, signer.publicKey));
  return { definition: def, id, idHex: toHex(id), address: sharedAddress(def), self, signer };
}

/** The channel layer's part the driver's handler uses: decode the body, encode what it sends. */
export const channels = {
  decodeItem: <T>(item: InboundItem, codec: { decode(b: Uint8Array): T }) => ({
    ok: true as const,
    value: codec.decode(item.body),
  }),
  encodeMessage: () => new Uint8Array(1),
} as unknown as Channels;

/** A transport with no peers that drops what it is given. */
export const silentTransport = {
  peerId: "this-node",
  send: () => undefined,
  connectedPeers: () => [],
} as unknown as P2PTransport;

/** A ledger that knows no transfer and holds nothing for any account, at seq 1. */
export const emptyLedger: AccountReader = {
  account: async () => ({ balance: 0n, nextSeq: 1, pendingDeps: [] }),
  transfer: async () => undefined,
};

/**
 * A driver's options for `accounts` on `db`, with the stubs above, a silent log and nothing submitted; a
 * failure is thrown (a test that expects one overrides `onFailure`).
 */
export function driverOptions(
  accounts: readonly HostedAccount[],
  db: NodeDatabase,
  overrides: Partial<CommitteeDriverOptions> = {},
): CommitteeDriverOptions {
  return {
    hosted: accounts,
    network: "test",
    db,
    transport: silentTransport,
    channels,
    reader: emptyLedger,
    submit: async () => undefined,
    penalize: () => undefined,
    log: pino({ level: "silent" }),
    startedAtMs: Date.now(),
    onFailure: (e) => {
      throw e;
    },
    ...overrides,
  };
}
