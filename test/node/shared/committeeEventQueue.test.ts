import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CommitteeEvent } from "../../../src/kshared/committeeTypes.ts";
import { CommitteeEventQueue } from "../../../src/node/shared/committeeEventQueue.ts";

const tick = (nowMs: number): CommitteeEvent => ({ type: "tick", nowMs });

/** Peer events are told apart by their nowMs; the committee message inside does not matter here. */
const peer = (nowMs: number): CommitteeEvent => ({ type: "tick", nowMs });

describe("CommitteeEventQueue: what the committee driver's next step takes", () => {
  it("a flood for one account neither drops nor delays another account's peer events", () => {
    const queue = new CommitteeEventQueue<string>((account) => account, 100, 1_000_000);
    for (let i = 0; i < 1_000; i++) queue.offerPeer("A", 0, 1, peer(i), 100);
    for (let i = 0; i < 3; i++) assert.equal(queue.offerPeer("B", 0, 1, peer(10_000 + i), 100), true);
    assert.deepEqual([...queue.droppedPeerEvents()], [["A", 900]]);

    const batch = queue.nextBatch(10);
    assert.deepEqual(
      batch.map((e) => `${e.account}${e.event.nowMs}`),
      ["A0", "B10000", "A1", "B10001", "A2", "B10002", "A3", "A4", "A5", "A6"],
    );
    assert.equal(queue.size, 100 + 3 - 10);
  });

  it("own events always queue and go first; the rest of the step is filled with peers' events", () => {
    const queue = new CommitteeEventQueue<string>((account) => account, 2, 1_000_000);
    queue.offerPeer("A", 0, 1, peer(1), 100);
    queue.offerPeer("A", 0, 1, peer(2), 100);
    assert.equal(queue.offerPeer("A", 0, 1, peer(3), 100), false);
    for (let i = 0; i < 5; i++) queue.pushOwn("A", tick(100 + i));
    assert.equal(queue.size, 7);
    assert.deepEqual(
      queue.nextBatch(6).map((e) => e.event.nowMs),
      [100, 101, 102, 103, 104, 1],
    );
    assert.deepEqual(
      queue.nextBatch().map((e) => e.event.nowMs),
      [2],
    );
    assert.equal(queue.size, 0);
    assert.deepEqual([...queue.droppedPeerEvents()], [["A", 1]]);
  });

  it("an account's peer events are also bounded in bytes", () => {
    const queue = new CommitteeEventQueue<string>((account) => account, 512, 200 * 1024);
    assert.equal(queue.offerPeer("A", 0, 1, peer(1), 80 * 1024), true);
    assert.equal(queue.offerPeer("A", 0, 1, peer(2), 80 * 1024), true);
    assert.equal(queue.offerPeer("A", 0, 1, peer(3), 80 * 1024), false, "240 KiB would pass 200 KiB");
    assert.equal(queue.offerPeer("A", 0, 1, peer(4), 200), true, "a small message still fits");
    assert.equal(queue.offerPeer("B", 0, 1, peer(5), 80 * 1024), true, "B's bytes are its own");
  });

  it("within an account, a flooding co-owner fills only its own share; the other owners lose nothing", () => {
    // k = 5: four co-owners send here, each may hold ⌊100 / 4⌋ = 25 events and ⌊1 MB / 4⌋ bytes.
    const queue = new CommitteeEventQueue<string>((account) => account, 100, 1_000_000);
    let accepted = 0;
    for (let i = 0; i < 1_000; i++) if (queue.offerPeer("A", 1, 4, peer(i), 100)) accepted++;
    assert.equal(accepted, 25, "the flooder keeps exactly its share");
    for (const owner of [2, 3, 4]) {
      for (let i = 0; i < 20; i++) {
        assert.equal(queue.offerPeer("A", owner, 4, peer(owner * 1_000 + i), 100), true, `owner ${owner}`);
      }
    }
    assert.deepEqual([...queue.droppedPeerEvents()], [["A", 975]], "the flood's overflow, charged to A");
    assert.equal(queue.size, 25 + 60);

    // Served in arrival order within the account; a share frees as its events are taken.
    const first = queue.nextBatch(30);
    assert.deepEqual(
      first.slice(0, 26).map((e) => e.event.nowMs),
      [...Array.from({ length: 25 }, (_, i) => i), 2_000],
    );
    for (let i = 0; i < 25; i++)
      assert.equal(queue.offerPeer("A", 1, 4, peer(5_000 + i), 100), true, "room again");
    assert.equal(queue.offerPeer("A", 1, 4, peer(5_025), 100), false, "and only its share");
  });

  it("a co-owner's share is also bounded in bytes", () => {
    const queue = new CommitteeEventQueue<string>((account) => account, 512, 400_000);
    // Two co-owners: 200,000 bytes each.
    assert.equal(queue.offerPeer("A", 0, 2, peer(1), 150_000), true);
    assert.equal(queue.offerPeer("A", 0, 2, peer(2), 60_000), false, "210,000 would pass 200,000");
    assert.equal(queue.offerPeer("A", 1, 2, peer(3), 190_000), true, "the other owner's bytes are its own");
    assert.deepEqual(
      queue.nextBatch().map((e) => e.event.nowMs),
      [1, 3],
    );
    assert.equal(queue.offerPeer("A", 0, 2, peer(4), 200_000), true, "taken events free their bytes");
  });
});
