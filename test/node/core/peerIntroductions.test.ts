import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PeerId } from "../../../src/core/peerId.ts";
import { PeerIntroductions } from "../../../src/node/peerIntroductions.ts";

function setUp(limits = { maxHeldPerPeer: 3, maxHeldTotal: 5, maxHoldMs: 1_000 }) {
  const sent: [PeerId, string][] = [];
  const introduced: PeerId[] = [];
  const intro = new PeerIntroductions({
    ...limits,
    introduce: (peer) => introduced.push(peer),
    send: (peer, bytes) => sent.push([peer, new TextDecoder().decode(bytes)]),
  });
  const msg = (s: string) => new TextEncoder().encode(s);
  return { intro, sent, introduced, msg };
}

describe("peer introductions (open network: members-only traffic waits until the peer has our record)", () => {
  test("messages wait for the introduction, then go out in order; later ones go at once", () => {
    const { intro, sent, introduced, msg } = setUp();
    intro.send("a", msg("1"), 0);
    intro.send("a", msg("2"), 0);
    assert.deepEqual(sent, []);
    assert.deepEqual(introduced, ["a"], "introduced once, not per message");
    intro.markIntroduced("a");
    intro.send("a", msg("3"), 1);
    assert.deepEqual(sent, [
      ["a", "1"],
      ["a", "2"],
      ["a", "3"],
    ]);
    assert.equal(intro.heldMessages, 0);
  });

  test("bounded per peer and in total; a disconnection forgets the introduction", () => {
    const { intro, sent, msg } = setUp();
    for (let i = 0; i < 5; i++) intro.send("a", msg(`a${i}`), 0);
    for (let i = 0; i < 5; i++) intro.send("b", msg(`b${i}`), 0);
    assert.equal(intro.heldMessages, 5, "3 for a, then 2 for b: the total cap");
    assert.equal(intro.dropped, 5);
    intro.markIntroduced("a");
    intro.forget("a");
    intro.send("a", msg("after"), 1);
    assert.equal(sent.length, 3, "after a disconnection, a must be introduced again");
  });

  test("a peer that never answers: asked again each tick, its messages dropped after maxHoldMs", () => {
    const { intro, introduced, msg } = setUp();
    intro.send("a", msg("1"), 0);
    intro.tick(500);
    assert.deepEqual(introduced, ["a", "a"]);
    intro.tick(1_500);
    assert.equal(intro.heldMessages, 0);
    assert.equal(intro.dropped, 1);
  });
});
