/**
 * The committee driver's peer queue, in-process: a stub transport and channel layer, a real LevelDB and real
 * committees. A co-owner's host floods one shared account's committee; the other account hosted by the same
 * node loses nothing. Host records relayed over the hosts topic link the co-owners' hosts of hosted accounts.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Channels } from "../../../src/channels/channels.ts";
import type { InboundItem } from "../../../src/channels/inboundScheduler.ts";
import type { ProtocolSpec } from "../../../src/channels/protocolSpec.ts";
import { bytesEqual } from "../../../src/core/bytes.ts";
import { sodiumVerifier } from "../../../src/crypto/ed25519Sodium.ts";
import { encodeCommitteeMessage } from "../../../src/kshared/committeeCodec.ts";
import { PeerKeeper } from "../../../src/node/peerKeeper.ts";
import { CommitteeDriver } from "../../../src/node/shared/committeeDriver.ts";
import { MAX_QUEUED_PEER_EVENTS_PER_ACCOUNT } from "../../../src/node/shared/committeeEventQueue.ts";
import { CoOwnerLinks } from "../../../src/node/shared/coOwnerLinks.ts";
import { ownerSigner } from "../../../src/node/shared/ownerSigner.ts";
import type { HostedAccount } from "../../../src/node/shared/sharedHosting.ts";
import type { P2PTransport } from "../../../src/p2p/transport.ts";
import { COMMITTEES_CHANNEL } from "../../../src/protocols/committees/committeeChannel.ts";
import {
  type CommitteeChannelMessage,
  hostRecordSigningBytes,
} from "../../../src/protocols/committees/committeeChannelMessages.ts";
import { type NodeDatabase, openDatabase } from "../../../src/storage/database.ts";
import {
  channels,
  driverOptions,
  hosted,
  NODE_SEED,
  PEER_SEED,
} from "../../support/committeeDriverHarness.ts";

const PEER = "co-owner-host";
const PEER2_SEED = new Uint8Array(32).fill(3);
const PEER2 = "second-co-owner-host";

function item(message: CommitteeChannelMessage, from = PEER): InboundItem {
  return {
    from,
    protocol: COMMITTEES_CHANNEL as ProtocolSpec,
    kind: "message",
    requestId: 0,
    body: COMMITTEES_CHANNEL.message!.encode(message),
    error: undefined,
  };
}

describe("CommitteeDriver: peers' committee messages are bounded per hosted account", () => {
  const accounts = [hosted("A"), hosted("B"), hosted("C", [NODE_SEED, PEER_SEED, PEER2_SEED])];
  const [a, b, c] = accounts as [HostedAccount, HostedAccount, HostedAccount];
  let dir: string;
  let db: NodeDatabase;
  let driver: CommitteeDriver;
  const penalized: string[] = [];
  const options = () => driverOptions(accounts, db, { penalize: (peer) => penalized.push(peer) });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "tally-committee-inbox-"));
    db = await openDatabase(dir);
    driver = new CommitteeDriver(options());
    await driver.start();
  });

  after(async () => {
    await driver.stop();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Signed records naming `host` as the host of the owner with `seed`, for every account it owns. */
  function announceHost(seed: Uint8Array, host: string, nowMs: number): void {
    const signer = ownerSigner(seed);
    const records = accounts
      .filter((account) => account.definition.owners.some((o) => bytesEqual(o, signer.publicKey)))
      .map((account) => {
        const unsigned = { account: account.id, owner: signer.publicKey, host, expiresAtMs: nowMs + 60_000 };
        return { ...unsigned, signature: signer.sign(hostRecordSigningBytes(unsigned)) };
      });
    driver.handler().handle(channels, item({ kind: "hosts", records }, host), nowMs);
  }

  /** A (never valid) prepare vote for `account`, as its co-owner at `host` would send it. */
  const vote = (account: HostedAccount, seq: number, host = PEER) =>
    item(
      {
        kind: "committee",
        account: account.id,
        payload: encodeCommitteeMessage({
          kind: "vote",
          vote: {
            phase: "prepare",
            seq,
            round: 0,
            digest: new Uint8Array(32),
            voter: account.self === 0 ? 1 : 0,
            signature: new Uint8Array(64),
          },
        }),
      },
      host,
    );

  it("a flood for account A does not cost account B a single message", () => {
    const handler = driver.handler();
    const nowMs = Date.now();
    announceHost(PEER_SEED, PEER, nowMs);
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

  it("within account C, a flooding co-owner's host fills only its share: the other co-owner loses nothing", async () => {
    await driver.stop(); // lets the previous test's step finish; a new driver starts with empty queues
    driver = new CommitteeDriver(options());
    await driver.start();
    const handler = driver.handler();
    const nowMs = Date.now();
    announceHost(PEER_SEED, PEER, nowMs);
    announceHost(PEER2_SEED, PEER2, nowMs);
    const share = Math.floor(MAX_QUEUED_PEER_EVENTS_PER_ACCOUNT / 2); // k = 3: two co-owners send here
    const flood = 1_000;
    for (let i = 0; i < flood; i++) handler.handle(channels, vote(c, 1, PEER), nowMs);
    for (let i = 0; i < 20; i++) handler.handle(channels, vote(c, 1, PEER2), nowMs);

    const dropped = new Map(driver.droppedPeerEvents().map((d) => [d.account, d.count]));
    const droppedC = dropped.get(c.address) ?? 0;
    // The first message may have started a step (taken at once). With the account's bound alone, the flood
    // would have taken all 512 places and every one of the second owner's 20 messages would be dropped.
    assert.ok(droppedC >= flood - share - 1 && droppedC <= flood - share, `C dropped ${droppedC}`);
    assert.deepEqual(penalized, []);
  });

  it("signs its host records once per refresh period, not once per peer it tells", async () => {
    const sent: { peer: string; message: CommitteeChannelMessage }[] = [];
    const recording = {
      peerId: "this-node",
      send: (peer: string, message: CommitteeChannelMessage) => sent.push({ peer, message }),
      connectedPeers: () => [],
    };
    const told = new CommitteeDriver({
      ...options(),
      transport: recording as unknown as P2PTransport,
      // The stub transport receives the message object itself (encodeMessage passes it through).
      channels: { ...channels, encodeMessage: (_id: string, m: unknown) => m } as unknown as Channels,
    });
    await told.start();
    for (const peer of ["p1", "p2", "p3"]) told.onPeerConnect(peer);
    await told.stop();
    assert.equal(sent.length, 3);
    const records = sent.map(({ message }) => (message.kind === "hosts" ? message.records : []));
    assert.equal(records[0]!.length, accounts.length, "one record per hosted account");
    assert.ok(
      records.every((r) => r === records[0]),
      "the same signed records for every peer",
    );
    for (const record of records[0]!) {
      const expected = hostRecordSigningBytes(record);
      assert.ok(sodiumVerifier.verify(record.signature, expected, record.owner), "and they verify");
    }
  });

  it("relayed host records link co-owners' hosts of hosted accounts only, and follow a host change", async () => {
    const members = new Set<string>();
    const keeper = new PeerKeeper({
      addPeer: (addr) => {
        const peer = addr.slice(addr.lastIndexOf("/p2p/") + 5);
        members.add(peer);
        return peer;
      },
      removePeer: (peer) => void members.delete(peer),
    });
    const links = new CoOwnerLinks({ self: "this-node", keeper, addressesOf: () => ["/ip4/10.0.0.1/tcp/1"] });
    const linked = new CommitteeDriver({ ...options(), links });
    await linked.start();
    try {
      const nowMs = Date.now();
      const signer = ownerSigner(PEER_SEED);
      const record = (
        account: HostedAccount | { id: Uint8Array },
        host: string,
        expiresAtMs = nowMs + 60_000,
      ) => {
        const unsigned = { account: account.id, owner: signer.publicKey, host, expiresAtMs };
        return { ...unsigned, signature: signer.sign(hostRecordSigningBytes(unsigned)) };
      };
      const forged = { ...record(a, "forger"), signature: new Uint8Array(64) };
      linked.onRelayedHosts([record({ id: new Uint8Array(32).fill(9) }, "stranger"), forged], nowMs);
      assert.deepEqual([...members], [], "an account not hosted here and a forged record link nothing");
      assert.deepEqual(penalized, [], "and nobody is scored for a relayed record");
      linked.onRelayedHosts([record(a, "host-1"), record(b, "host-1")], nowMs);
      assert.deepEqual([...members], ["host-1"]);
      linked.onRelayedHosts([record(a, "host-2", nowMs + 61_000)], nowMs);
      assert.deepEqual([...members].sort(), ["host-1", "host-2"], "account B's owner is still at host-1");
      linked.onRelayedHosts([record(b, "host-2", nowMs + 61_000)], nowMs);
      assert.deepEqual([...members], ["host-2"], "host-1 hosts no co-owner any more");
      assert.equal(links.links, 2);
    } finally {
      await linked.stop();
    }
  });
});
