import assert from "node:assert/strict";
import { test } from "node:test";
import type { P2PTransport } from "../../src/p2p/transport.ts";
import { meshTransport, nodeSpecs, seqMessage, waitFor } from "./helpers.ts";

const fastQueue = { reconnectInitialDelayMs: 50, reconnectMaxDelayMs: 200 };

test("a one-sided testing partition cuts both directions, counts refusals, and heals at once", async (t) => {
  const specs = await nodeSpecs(2);
  const [a, b] = specs.map((_, i) => meshTransport(specs, i, { queue: fastQueue })) as [
    P2PTransport,
    P2PTransport,
  ];
  t.after(() => Promise.all([a.stop(), b.stop()]));
  const [A, B] = [specs[0]!.peerId, specs[1]!.peerId];
  const atA: number[] = [];
  const atB: number[] = [];
  a.onMessage((_from, msg) => atA.push(Buffer.from(msg).readUInt32BE(4)));
  b.onMessage((_from, msg) => atB.push(Buffer.from(msg).readUInt32BE(4)));
  await Promise.all([a.start(), b.start()]);
  await waitFor(() => a.connectedPeers().includes(B) && b.connectedPeers().includes(A), 10_000, "mesh");

  // Only A blocks B: A drops the connection now and refuses B's redials and its own dials to B.
  a.setBlockedPeers([B]);
  await waitFor(() => !a.connectedPeers().includes(B), 2_000, "cut");
  await waitFor(() => a.counters.partitionRefusals >= 2, 5_000, "refused redials");
  a.send(B, seqMessage(0, 1));
  b.send(A, seqMessage(1, 2));
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual([atA, atB], [[], []], "nothing crosses the cut");
  assert.equal(a.connectedPeers().includes(B), false);

  a.setBlockedPeers([]);
  await waitFor(() => a.connectedPeers().includes(B), 5_000, "reconnect after heal");
  await waitFor(() => a.send(B, seqMessage(0, 3)) && atB.includes(3), 5_000, "A→B after heal");
  await waitFor(() => b.send(A, seqMessage(1, 4)) && atA.includes(4), 5_000, "B→A after heal");
});

test("setBlockedPeers refuses a malformed peer id or more than 1,000 peers and changes nothing", async (t) => {
  const specs = await nodeSpecs(2);
  const a = meshTransport(specs, 0, { queue: fastQueue });
  t.after(() => a.stop());
  await a.start();
  assert.throws(() => a.setBlockedPeers([specs[1]!.peerId, "nope"]), { code: "P2P_INVALID_PEER" });
  const many = Array.from({ length: 1_001 }, () => specs[1]!.peerId);
  assert.throws(() => a.setBlockedPeers(many), { code: "TESTING_INVALID_PARTITION" });
  assert.equal(a.counters.partitionRefusals, 0);
});
