import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EchoTally } from "../../src/broadcast/contagion/contagionEcho.ts";
import { ReadyTally } from "../../src/broadcast/contagion/contagionReady.ts";

/**
 * When a sample changes under a live instance, the votes already counted may lose weight but never gain it.
 * Raising a vote's weight re-tests the threshold on a fresh sample with no new vote: a node whose samples are
 * refreshed every 50 ms then eventually sees a quorum that no single sample gives, and a 7-node simulation
 * forked on a double spend in 5 of 200 runs that way (test/broadcast/sampleRefresh.simulation.test.ts).
 */
describe("vote weights under sample changes", () => {
  test("an ECHO keeps the weight it came with, or less", () => {
    const echoes = new EchoTally();
    assert.equal(echoes.add("p", "d", 2), 2);
    echoes.reweigh("p", 5);
    assert.equal(echoes.weight("d"), 2, "drawn more often since: not raised");
    echoes.reweigh("p", 1);
    assert.equal(echoes.weight("d"), 1, "drawn less often: lowered");
    echoes.reweigh("p", 3);
    assert.equal(echoes.weight("d"), 1, "and not raised again");
    echoes.reweigh("p", 0);
    assert.equal(echoes.weight("d"), 0, "no longer drawn: forgotten");
    assert.equal(echoes.add("p", "d", 3), 3, "a vote it sends again counts anew, at its weight now");
  });

  test("a READY keeps the weights it came with, or less, for every digest of the peer", () => {
    const readies = new ReadyTally();
    readies.add("p", "a", 2, 3, 3);
    readies.reweigh("p", 4, 1);
    assert.equal(readies.readyWeight("a"), 2, "R: drawn more often, not raised");
    assert.equal(readies.deliveryWeight("a"), 1, "D: drawn less often, lowered");
    readies.add("p", "b", 4, 4, 3);
    assert.equal(readies.readyWeight("b"), 2, "its next digest counts what its votes count now");
    assert.equal(readies.deliveryWeight("b"), 1);
    readies.reweigh("p", 0, 0);
    assert.equal(readies.readyWeight("a") + readies.readyWeight("b"), 0, "no longer drawn: forgotten");
    assert.equal(readies.deliveryWeight("a") + readies.deliveryWeight("b"), 0);
  });
});
