import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ClientGate, type GateEntry } from "../../src/api/clientGate.ts";

/** Enters a request of `client`, recording its name in `served` when it gets a place. */
function arrive(gate: ClientGate, client: string, served: string[], label = client): GateEntry {
  const entry = gate.enter(client, () => served.push(label));
  if (entry.kind === "admitted") served.push(label);
  return entry;
}

describe("client gate", () => {
  it("admits everyone at once while places are free: nothing is reserved for absent clients", () => {
    const gate = new ClientGate({ maxActive: 4, maxQueuedPerClient: 8, maxWaitingClients: 8 });
    const served: string[] = [];
    for (let i = 0; i < 4; i++) arrive(gate, "flood", served);
    assert.deepEqual(served, ["flood", "flood", "flood", "flood"]);
    assert.equal(gate.activeCount, 4);
  });

  it("gives free places to waiting addresses in turn: one request of another address overtakes a flood's queue", () => {
    const gate = new ClientGate({ maxActive: 2, maxQueuedPerClient: 100, maxWaitingClients: 8 });
    const served: string[] = [];
    for (let i = 0; i < 2; i++) arrive(gate, "flood", served, `flood-${i}`);
    for (let i = 2; i < 50; i++) arrive(gate, "flood", served, `flood-${i}`);
    arrive(gate, "wallet", served);
    arrive(gate, "exchange", served);
    assert.equal(gate.waitingCount, 50, "48 of the flood and the two others wait");
    gate.leave();
    gate.leave();
    gate.leave();
    // The flood's turn came first (it was waiting first), then each other address once.
    assert.deepEqual(served.slice(2), ["flood-2", "wallet", "exchange"]);
    while (gate.waitingCount > 0) gate.leave();
    assert.equal(served.length, 52, "everyone is served in the end");
  });

  it("refuses a client's request past its queue bound, and a new address past the address bound", () => {
    const gate = new ClientGate({ maxActive: 1, maxQueuedPerClient: 3, maxWaitingClients: 2 });
    const served: string[] = [];
    arrive(gate, "a", served);
    const kinds = Array.from({ length: 5 }, () => arrive(gate, "a", served).kind);
    assert.deepEqual(kinds, ["waiting", "waiting", "waiting", "refused", "refused"]);
    assert.equal(arrive(gate, "b", served).kind, "waiting");
    const third = arrive(gate, "c", served);
    assert.deepEqual(third, { kind: "refused", reason: "tooManyClients" });
  });

  it("forgets a waiting request whose connection closed; its place goes to the next one", () => {
    const gate = new ClientGate({ maxActive: 1, maxQueuedPerClient: 8, maxWaitingClients: 8 });
    const served: string[] = [];
    arrive(gate, "a", served, "a-0");
    const gone = arrive(gate, "b", served, "b-gone");
    arrive(gate, "c", served, "c-0");
    assert.equal(gone.kind, "waiting");
    if (gone.kind === "waiting") gate.abandon("b", gone.ticket);
    gate.leave();
    assert.deepEqual(served, ["a-0", "c-0"]);
    // b comes back later and is served in its new turn.
    arrive(gate, "b", served, "b-1");
    gate.leave();
    assert.deepEqual(served, ["a-0", "c-0", "b-1"]);
  });

  it("keeps its turn list bounded under arrive-and-close cycles while no place frees", () => {
    const limits = { maxActive: 1, maxQueuedPerClient: 4, maxWaitingClients: 16 };
    const gate = new ClientGate(limits);
    const served: string[] = [];
    arrive(gate, "holder", served);
    for (let i = 0; i < 10_000; i++) {
      const entry = arrive(gate, `attacker-${i % 40}`, served);
      if (entry.kind === "waiting") gate.abandon(`attacker-${i % 40}`, entry.ticket);
    }
    assert.ok(gate.turnEntries <= 2 * limits.maxWaitingClients + 1, `${gate.turnEntries} turn entries`);
    arrive(gate, "wallet", served);
    gate.leave();
    assert.deepEqual(served, ["holder", "wallet"]);
  });

  it("refuses limits that are not positive integers", () => {
    assert.throws(
      () => new ClientGate({ maxActive: 0, maxQueuedPerClient: 1, maxWaitingClients: 1 }),
      RangeError,
    );
    assert.throws(
      () => new ClientGate({ maxActive: 1, maxQueuedPerClient: 1.5, maxWaitingClients: 1 }),
      RangeError,
    );
  });
});
