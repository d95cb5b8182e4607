import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import { canonicalPeerId, PEER_ID_SPELLINGS, peerIdSpellingsHeld } from "../../src/core/peerId.ts";

describe("canonicalPeerId", () => {
  it("spells a peer id as libp2p does, whichever way it was obtained, and never as another", async () => {
    const ids = await Promise.all(
      [1, 2, 3].map(async () => peerIdFromPrivateKey(await generateKeyPair("Ed25519"))),
    );
    for (const id of ids) {
      const spelled = id.toString();
      assert.equal(canonicalPeerId(spelled), spelled);
      assert.equal(canonicalPeerId(peerIdFromString(spelled).toString()), spelled);
    }
    assert.equal(new Set(ids.map((id) => canonicalPeerId(id.toString()))).size, 3);
  });

  it("holds a bounded number of spellings: a flood of made-up ids only evicts", () => {
    for (let i = 0; i < PEER_ID_SPELLINGS + 100; i++) canonicalPeerId(`12D3KooWmadeup${i}`);
    assert.equal(peerIdSpellingsHeld(), PEER_ID_SPELLINGS);
    assert.equal(canonicalPeerId("12D3KooWmadeup0"), "12D3KooWmadeup0", "an evicted id is spelled again");
  });
});
