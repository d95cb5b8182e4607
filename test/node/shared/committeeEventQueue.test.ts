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
    for (let i = 0; i < 1_000; i++) queue.offerPeer("A", peer(i), 100);
    for (let i = 0; i < 3; i++) assert.equal(queue.offerPeer("B", peer(10_000 + i), 100), true);
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
    queue.offerPeer("A", peer(1), 100);
    queue.offerPeer("A", peer(2), 100);
    assert.equal(queue.offerPeer("A", peer(3), 100), false);
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
    assert.equal(queue.offerPeer("A", peer(1), 80 * 1024), true);
    assert.equal(queue.offerPeer("A", peer(2), 80 * 1024), true);
    assert.equal(queue.offerPeer("A", peer(3), 80 * 1024), false, "240 KiB would pass 200 KiB");
    assert.equal(queue.offerPeer("A", peer(4), 200), true, "a small message still fits");
    assert.equal(queue.offerPeer("B", peer(5), 80 * 1024), true, "B's bytes are its own");
  });
});
