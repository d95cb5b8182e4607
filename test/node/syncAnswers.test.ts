import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { Channels } from "../../src/channels/channels.ts";
import type { PeerId } from "../../src/core/peerId.ts";
import { NodeNetwork } from "../../src/node/nodeNetwork.ts";
import type { P2PTransport } from "../../src/p2p/transport.ts";
import { STATUS_CHANNEL } from "../../src/protocols/status/statusChannel.ts";
import { SYNC_CHANNEL } from "../../src/protocols/sync/syncChannel.ts";
import type { SyncRequest, SyncResponse } from "../../src/protocols/sync/syncMessages.ts";

const REQUESTER: PeerId = "requester";
const PROTOCOLS = [STATUS_CHANNEL, SYNC_CHANNEL];

/**
 * A sync answer is read from disk after the request arrived. If the requester's connection ended meanwhile
 * (it crashed and restarted), the answer must not go out: the new process never asked, would score it
 * as unsolicited or forbidden, and a chaos run saw a node that had lost its database ban its bootstrap peer
 * over such answers.
 */
test("sync answers: dropped when the requester's connection ended while they were read, sent otherwise", async () => {
  const sent: PeerId[] = [];
  const transport = {
    send: (to: PeerId) => {
      sent.push(to);
      return true;
    },
    throttle: () => {},
    ban: () => {},
    disconnect: async () => {},
  } as unknown as P2PTransport;
  const pending: ((r: SyncResponse) => void)[] = [];
  const server = new NodeNetwork({
    transport,
    channels: new Channels({ protocols: PROTOCOLS, isMember: () => true }),
    identity: { network: "n", genesis: "g", protocols: [] } as never,
    log: pino({ level: "silent" }),
    onAdmitted: () => {},
    emit: () => {},
    serveSync: () => new Promise<SyncResponse>((resolve) => pending.push(resolve)),
  });
  const requester = new Channels({ protocols: PROTOCOLS, isMember: () => true });
  const ask = (request: SyncRequest) => {
    const opened = requester.request("server", SYNC_CHANNEL.id, request, Date.now());
    assert.ok(opened.ok);
    server.offer(REQUESTER, opened.bytes);
    server.takeEvents(10, Date.now());
  };
  const answer = async () => {
    pending.shift()!({ kind: "watermarks", entries: [], more: false });
    await new Promise((r) => setImmediate(r));
  };

  ask({ kind: "watermarks", buckets: [0] });
  ask({ kind: "watermarks", buckets: [1] });
  assert.equal(pending.length, 2, "both requests are being served");
  server.peerDisconnected(REQUESTER);
  await answer();
  await answer();
  assert.deepEqual(sent, [], "no answer to a connection that ended");

  // The requester came back and asks again: served as usual.
  ask({ kind: "watermarks", buckets: [2] });
  await answer();
  assert.deepEqual(sent, [REQUESTER]);
});
