import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { isTallyError } from "../../src/core/errors.ts";
import { resolveNodeConfig } from "../../src/node/config.ts";

const peerId = async () => peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();

function refusedWith(pattern: RegExp) {
  return (e: unknown) => isTallyError(e) && e.code === "INVALID_FIELD" && pattern.test(e.message);
}

describe("tally node start --testing-blocked-peer", () => {
  it("starts a node partitioned from the given peers, only with the testing fault controls", async () => {
    const peers = [await peerId(), await peerId()];
    const config = await resolveNodeConfig({
      genesis: "g.json",
      testingFaults: true,
      testingBlockedPeers: peers,
    });
    assert.deepEqual(config.testingBlockedPeers, peers);
    assert.deepEqual((await resolveNodeConfig({ genesis: "g.json" })).testingBlockedPeers, []);
    await assert.rejects(
      resolveNodeConfig({ genesis: "g.json", testingBlockedPeers: peers }),
      refusedWith(/needs --testing-faults/),
    );
  });

  it("refuses what is not a peer id, and a peer given twice, naming them", async () => {
    await assert.rejects(
      resolveNodeConfig({ genesis: "g.json", testingFaults: true, testingBlockedPeers: ["node-1"] }),
      refusedWith(/not a peer id: "node-1"/),
    );
    const peer = await peerId();
    await assert.rejects(
      resolveNodeConfig({ genesis: "g.json", testingFaults: true, testingBlockedPeers: [peer, peer] }),
      refusedWith(new RegExp(`"${peer}" given twice`)),
    );
  });
});

describe("tally node start --testing-unlinked-peer", () => {
  it("is a testing-only list of peer ids, each given once, under the same rules", async () => {
    const peers = [await peerId()];
    const config = await resolveNodeConfig({
      genesis: "g.json",
      testingFaults: true,
      testingUnlinkedPeers: peers,
    });
    assert.deepEqual(config.testingUnlinkedPeers, peers);
    assert.deepEqual((await resolveNodeConfig({ genesis: "g.json" })).testingUnlinkedPeers, []);
    await assert.rejects(
      resolveNodeConfig({ genesis: "g.json", testingUnlinkedPeers: peers }),
      refusedWith(/--testing-unlinked-peer needs --testing-faults/),
    );
    await assert.rejects(
      resolveNodeConfig({ genesis: "g.json", testingFaults: true, testingUnlinkedPeers: ["x"] }),
      refusedWith(/--testing-unlinked-peer: not a peer id: "x"/),
    );
  });
});

describe("tally node start --testing-stall-timeout-ms", () => {
  it("is testing-only whole milliseconds from 1 s to the default 10 min", async () => {
    const config = await resolveNodeConfig({
      genesis: "g.json",
      testingFaults: true,
      testingStallTimeoutMs: "8000",
    });
    assert.equal(config.testingStallTimeoutMs, 8_000);
    assert.equal((await resolveNodeConfig({ genesis: "g.json" })).testingStallTimeoutMs, undefined);
    await assert.rejects(
      resolveNodeConfig({ genesis: "g.json", testingStallTimeoutMs: "8000" }),
      refusedWith(/--testing-stall-timeout-ms needs --testing-faults/),
    );
    for (const bad of ["999", "600001", "8s", "1e4", ""])
      await assert.rejects(
        resolveNodeConfig({ genesis: "g.json", testingFaults: true, testingStallTimeoutMs: bad }),
        refusedWith(/--testing-stall-timeout-ms must be 1000\.\.600000/),
        bad,
      );
  });
});
