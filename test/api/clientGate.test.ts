import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ClientGate, type ClientGateLimits, type GateEntry } from "../../src/api/clientGate.ts";

/** A gate and a log of who got a place, in order, with the clients holding places oldest first. */
function harness(limits: ClientGateLimits) {
  const gate = new ClientGate(limits);
  const served: string[] = [];
  const holding: string[] = [];
  const arrive = (client: string, label = client): GateEntry => {
    const entry = gate.enter(client, () => {
      served.push(label);
      holding.push(client);
    });
    if (entry.kind === "admitted") {
      served.push(label);
      holding.push(client);
    }
    return entry;
  };
  /** The oldest request of `client` being handled ends (any client's when none is named). */
  const finish = (client?: string) => {
    const at = client === undefined ? 0 : holding.indexOf(client);
    assert.ok(at >= 0, `${client} holds a place`);
    gate.leave(holding.splice(at, 1)[0]!);
  };
  return { gate, served, arrive, finish };
}

describe("client gate", () => {
  it("admits at once while places are free, up to an address's own share", () => {
    const { gate, served, arrive } = harness({
      maxActive: 8,
      maxActivePerClient: 3,
      maxQueuedPerClient: 8,
      maxWaitingClients: 8,
    });
    const kinds = Array.from({ length: 5 }, (_, i) => arrive("flood", `flood-${i}`).kind);
    assert.deepEqual(kinds, ["admitted", "admitted", "admitted", "waiting", "waiting"]);
    // Five places are still free, and nothing else waits for them: another address walks in.
    assert.equal(arrive("wallet").kind, "admitted");
    assert.deepEqual(served, ["flood-0", "flood-1", "flood-2", "wallet"]);
    assert.equal(gate.activeCount, 4);
  });

  it("gives free places to waiting addresses in turn: one request of another address overtakes a flood's queue", () => {
    const { gate, served, arrive, finish } = harness({
      maxActive: 2,
      maxActivePerClient: 2,
      maxQueuedPerClient: 100,
      maxWaitingClients: 8,
    });
    for (let i = 0; i < 50; i++) arrive("flood", `flood-${i}`);
    arrive("wallet");
    arrive("exchange");
    assert.equal(gate.waitingCount, 50, "48 of the flood and the two others wait");
    finish("flood");
    finish("flood");
    finish();
    // The flood's turn came first (it was waiting first), then each other address once.
    assert.deepEqual(served.slice(2), ["flood-2", "wallet", "exchange"]);
    while (gate.activeCount > 0) finish();
    assert.equal(served.length, 52, "everyone is served in the end");
  });

  it("never lets one address hold every place: at its share it waits, and its turn comes back when one of its own ends", () => {
    const { gate, served, arrive, finish } = harness({
      maxActive: 4,
      maxActivePerClient: 2,
      maxQueuedPerClient: 100,
      maxWaitingClients: 8,
    });
    // Two slow requests hold the flood's share; the rest of it waits although two places are free.
    for (let i = 0; i < 6; i++) arrive("flood", `flood-${i}`);
    assert.equal(gate.activeCount, 2);
    assert.equal(arrive("wallet-a").kind, "admitted");
    assert.equal(arrive("wallet-b").kind, "admitted");
    assert.equal(arrive("wallet-c").kind, "waiting", "all four places are taken now");
    // A wallet's place frees: the flood is first in turn but at its share, so wallet-c takes it.
    finish("wallet-a");
    assert.deepEqual(served.slice(-1), ["wallet-c"]);
    // One of the flood's own ends: its next request takes that place.
    finish("flood");
    assert.deepEqual(served.slice(-1), ["flood-2"]);
    assert.equal(gate.waitingCount, 3);
  });

  it("refuses a client's request past its queue bound, and a new address past the address bound", () => {
    const { arrive } = harness({
      maxActive: 1,
      maxActivePerClient: 1,
      maxQueuedPerClient: 3,
      maxWaitingClients: 2,
    });
    arrive("a");
    const kinds = Array.from({ length: 5 }, () => arrive("a").kind);
    assert.deepEqual(kinds, ["waiting", "waiting", "waiting", "refused", "refused"]);
    assert.equal(arrive("b").kind, "waiting");
    assert.deepEqual(arrive("c"), { kind: "refused", reason: "tooManyClients" });
  });

  it("forgets a waiting request whose connection closed; its place goes to the next one", () => {
    const { gate, served, arrive, finish } = harness({
      maxActive: 1,
      maxActivePerClient: 1,
      maxQueuedPerClient: 8,
      maxWaitingClients: 8,
    });
    arrive("a", "a-0");
    const gone = arrive("b", "b-gone");
    arrive("c", "c-0");
    assert.equal(gone.kind, "waiting");
    if (gone.kind === "waiting") gate.abandon("b", gone.ticket);
    finish("a");
    assert.deepEqual(served, ["a-0", "c-0"]);
    // b comes back later and is served in its new turn.
    arrive("b", "b-1");
    finish("c");
    assert.deepEqual(served, ["a-0", "c-0", "b-1"]);
  });

  it("keeps its turn list bounded under arrive-and-close cycles while no place frees", () => {
    const limits = { maxActive: 1, maxActivePerClient: 1, maxQueuedPerClient: 4, maxWaitingClients: 16 };
    const { gate, served, arrive, finish } = harness(limits);
    arrive("holder");
    for (let i = 0; i < 10_000; i++) {
      const entry = arrive(`attacker-${i % 40}`);
      if (entry.kind === "waiting") gate.abandon(`attacker-${i % 40}`, entry.ticket);
    }
    assert.ok(gate.turnEntries <= 2 * limits.maxWaitingClients + 1, `${gate.turnEntries} turn entries`);
    arrive("wallet");
    finish("holder");
    assert.deepEqual(served, ["holder", "wallet"]);
  });

  it("refuses limits that are not positive integers, and a leave nobody entered", () => {
    const ok = { maxActive: 1, maxActivePerClient: 1, maxQueuedPerClient: 1, maxWaitingClients: 1 };
    assert.throws(() => new ClientGate({ ...ok, maxActive: 0 }), RangeError);
    assert.throws(() => new ClientGate({ ...ok, maxQueuedPerClient: 1.5 }), RangeError);
    assert.throws(() => new ClientGate(ok).leave("nobody"), /no request being handled/);
  });
});
