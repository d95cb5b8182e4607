/**
 * The committee driver's peer queue, in-process: a stub transport and channel layer, a real LevelDB and real
 * committees. A co-owner's host floods one shared account's committee; the other account hosted by the same
 * node loses nothing.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import type { Channels } from "../../../src/channels/channels.ts";
import type { InboundItem } from "../../../src/channels/inboundScheduler.ts";
import type { ProtocolSpec } from "../../../src/channels/protocolSpec.ts";
import { bytesEqual, toHex } from "../../../src/core/bytes.ts";
import { encodeCommitteeMessage } from "../../../src/kshared/committeeCodec.ts";
import { type SharedDefinition, sharedAccountId, sharedAddress } from "../../../src/kshared/definition.ts";
import { CommitteeDriver } from "../../../src/node/shared/committeeDriver.ts";
import { MAX_QUEUED_PEER_EVENTS_PER_ACCOUNT } from "../../../src/node/shared/committeeEventQueue.ts";
import { ownerSigner } from "../../../src/node/shared/ownerSigner.ts";
import type { HostedAccount } from "../../../src/node/shared/sharedHosting.ts";
import type { P2PTransport } from "../../../src/p2p/transport.ts";
import { COMMITTEES_CHANNEL } from "../../../src/protocols/committees/committeeChannel.ts";
import {
  type CommitteeChannelMessage,
  hostRecordSigningBytes,
} from "../../../src/protocols/committees/committeeChannelMessages.ts";
import { type NodeDatabase, openDatabase } from "../../../src/storage/database.ts";

const NODE_SEED = new Uint8Array(32).fill(1);
const PEER_SEED = new Uint8Array(32).fill(2);
const PEER = "co-owner-host";

function definition(label: string): SharedDefinition {
  const owners = [ownerSigner(NODE_SEED).publicKey, ownerSigner(PEER_SEED).publicKey].sort((a, b) =>
    Buffer.compare(a, b),
  );
  return { owners, label };
}

function hosted(label: string): HostedAccount {
  const def = definition(label);
  const signer = ownerSigner(NODE_SEED);
  const id = sharedAccountId(def);
  const self = def.owners.findIndex((o) => bytesEqual(o, signer.publicKey));
  return { definition: def, id, idHex: toHex(id), address: sharedAddress(def), self, signer };
}

/** The channel layer's part the driver's handler uses: decode the body, encode what it sends. */
const channels = {
  decodeItem: <T>(item: InboundItem, codec: { decode(b: Uint8Array): T }) => ({
    ok: true as const,
    value: codec.decode(item.body),
  }),
  encodeMessage: () => new Uint8Array(1),
} as unknown as Channels;

const transport = { peerId: "this-node", send: () => undefined, connectedPeers: () => [] };

function item(message: CommitteeChannelMessage): InboundItem {
  return {
    from: PEER,
    protocol: COMMITTEES_CHANNEL as ProtocolSpec,
    kind: "message",
    requestId: 0,
    body: COMMITTEES_CHANNEL.message!.encode(message),
    error: undefined,
  };
}

describe("CommitteeDriver: peers' committee messages are bounded per hosted account", () => {
  const accounts = [hosted("A"), hosted("B")];
  const [a, b] = accounts as [HostedAccount, HostedAccount];
  let dir: string;
  let db: NodeDatabase;
  let driver: CommitteeDriver;
  const penalized: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "tally-committee-inbox-"));
    db = await openDatabase(dir);
    driver = new CommitteeDriver({
      hosted: accounts,
      network: "test",
      db,
      transport: transport as unknown as P2PTransport,
      channels,
      reader: { account: async () => ({ balance: 0n, nextSeq: 1, pendingDeps: [] }) },
      submit: async () => undefined,
      penalize: (peer) => penalized.push(peer),
      log: pino({ level: "silent" }),
      startedAtMs: Date.now(),
    });
    await driver.start();
  });

  after(async () => {
    await driver.stop();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("a flood for account A does not cost account B a single message", () => {
    const handler = driver.handler();
    const nowMs = Date.now();
    const peerSigner = ownerSigner(PEER_SEED);
    const records = accounts.map((account) => {
      const unsigned = {
        account: account.id,
        owner: peerSigner.publicKey,
        host: PEER,
        expiresAtMs: nowMs + 60_000,
      };
      return { ...unsigned, signature: peerSigner.sign(hostRecordSigningBytes(unsigned)) };
    });
    handler.handle(channels, item({ kind: "hosts", records }), nowMs);

    const vote = (account: HostedAccount, seq: number) =>
      item({
        kind: "committee",
        account: account.id,
        payload: encodeCommitteeMessage({
          kind: "vote",
          vote: {
            phase: "prepare",
            seq,
            round: 0,
            digest: new Uint8Array(32),
            voter: 1 - account.self,
            signature: new Uint8Array(64),
          },
        }),
      });
    // All synchronous: the first message starts a step, which then waits for its write while the rest queue.
    const flood = 3_000; // more than the old node-wide bound of 2,048
    for (let i = 0; i < flood; i++) handler.handle(channels, vote(a, 1), nowMs);
    for (let i = 0; i < 10; i++) handler.handle(channels, vote(b, 1), nowMs);

    const dropped = new Map(driver.droppedPeerEvents().map((d) => [d.account, d.count]));
    assert.equal(dropped.get(b.address), 0, "account B lost nothing");
    const droppedA = dropped.get(a.address) ?? 0;
    assert.ok(droppedA >= flood - MAX_QUEUED_PEER_EVENTS_PER_ACCOUNT - 1, `A dropped ${droppedA}`);
    assert.ok(droppedA <= flood - MAX_QUEUED_PEER_EVENTS_PER_ACCOUNT, `A dropped ${droppedA}`);
    assert.deepEqual(penalized, [], "well-formed messages from the recorded host are not penalized");

    // B's messages did reach the queue: flooding B too is cut at B's own bound, and charged to B alone.
    for (let i = 0; i < 600; i++) handler.handle(channels, vote(b, 1), nowMs);
    const later = new Map(driver.droppedPeerEvents().map((d) => [d.account, d.count]));
    assert.equal(later.get(b.address), 10 + 600 - MAX_QUEUED_PEER_EVENTS_PER_ACCOUNT);
    assert.equal(later.get(a.address), droppedA);
  });
});
