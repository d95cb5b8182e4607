import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isTallyError } from "../../src/core/errors.ts";
import type { EncodedTransfer } from "../../src/core/transfer.ts";
import { sodiumVerifier } from "../../src/crypto/ed25519Sodium.ts";
import { SignatureAuthorizer } from "../../src/ledger/authorization.ts";
import { Ledger } from "../../src/ledger/ledger.ts";
import { MemoryLedgerStore } from "../../src/ledger/memoryStore.ts";
import { TEST_NETWORK } from "../support/fixtures.ts";
import { runReferenceModel } from "./referenceModel.ts";
import { buildScenario, interleaveBySource, type Op, type Scenario, shuffle } from "./scenario.ts";

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.nat(1000),
  account: fc.nat(1000),
  recipients: fc.nat(1000),
  fraction: fc.nat(1000),
});

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .tuple(
    fc.integer({ min: 2, max: 6 }),
    fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 6 }),
    fc.array(opArb, { minLength: 1, maxLength: 40 }),
  )
  .map(([accounts, initial, ops]) => buildScenario(accounts, initial, ops));

const RUNS = Number(process.env.TALLY_PROPERTY_RUNS ?? 150);

interface Outcome {
  readonly store: MemoryLedgerStore;
  readonly ledger: Ledger;
  readonly refused: number;
}

function newLedger(scenario: Scenario, store = new MemoryLedgerStore()): Ledger {
  const balances = [...scenario.genesis].map(([address, amount]) => ({ address, amount }));
  // Arbitrary orders may deliver a seq far ahead of its predecessors; the default window is for nodes.
  return new Ledger({ network: TEST_NETWORK, balances }, store, new SignatureAuthorizer(sodiumVerifier), {
    maxSeqLookahead: 1_000,
  });
}

/** Delivers in order; refusals (forgeries, conflicts, wrong network) must be typed errors. */
function deliverAll(ledger: Ledger, stream: readonly EncodedTransfer[]): number {
  let refused = 0;
  for (const e of stream) {
    try {
      ledger.deliver(e);
    } catch (error) {
      assert.ok(isTallyError(error), `untyped error: ${error}`);
      refused++;
    }
  }
  return refused;
}

function run(scenario: Scenario, stream: readonly EncodedTransfer[]): Outcome {
  const store = new MemoryLedgerStore();
  const ledger = newLedger(scenario, store);
  return { store, ledger, refused: deliverAll(ledger, stream) };
}

function genesisSupply(scenario: Scenario): bigint {
  return [...scenario.genesis.values()].reduce((a, b) => a + b, 0n);
}

function assertMoneyConserved(scenario: Scenario, outcome: Outcome): void {
  let total = 0n;
  for (const address of outcome.store.accountAddresses()) {
    const account = outcome.store.getAccount(address)!;
    assert.ok(account.spendable >= 0n, `negative spendable for ${address}`);
    assert.ok(account.unreferencedTotal >= 0n, `negative unreferenced total for ${address}`);
    total += account.spendable + account.unreferencedTotal;
  }
  assert.equal(total, genesisSupply(scenario), "sum of balances differs from the genesis supply");
}

/** The ledger's verdict on every transfer of `set` and every balance agree with the reference model. */
function assertMatchesModel(scenario: Scenario, set: readonly EncodedTransfer[], outcome: Outcome): void {
  const model = runReferenceModel(scenario.genesis, set);
  for (const e of set) {
    const status = outcome.ledger.status(e.id)?.status;
    const expected = model.status.get(e.id) ?? "delivered";
    assert.equal(status, expected, `transfer ${e.transfer.source}:${e.transfer.seq}`);
  }
  for (const key of scenario.keys) {
    assert.equal(outcome.ledger.account(key.address).balance, model.balances.get(key.address) ?? 0n);
  }
}

function statusesOf(outcome: Outcome, set: readonly EncodedTransfer[]): string[] {
  return set.map((e) => outcome.ledger.status(e.id)?.status ?? "none");
}

describe("ledger properties (reference model: Algorithm 5 by fixpoint sweep)", () => {
  it("applies the same set, with the same balances, in any delivery order", () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer(), fc.integer(), (scenario, seedA, seedB) => {
        const stream = [...scenario.delivered, ...scenario.noise.filter((e) => !isTwin(e, scenario))];
        const inOrder = run(scenario, stream);
        const shuffled = run(scenario, shuffle(stream, seedA));
        const bySource = run(scenario, interleaveBySource(scenario.delivered, seedB));
        for (const outcome of [inOrder, shuffled, bySource]) {
          assertMatchesModel(scenario, scenario.delivered, outcome);
          assertMoneyConserved(scenario, outcome);
        }
        assert.deepEqual(statusesOf(shuffled, scenario.delivered), statusesOf(inOrder, scenario.delivered));
      }),
      { numRuns: RUNS },
    );
  });

  it("never creates or destroys money under double spends, forgeries and replays in any order", () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer(), (scenario, seed) => {
        const stream = shuffle([...scenario.delivered, ...scenario.noise], seed);
        const outcome = run(scenario, stream);
        assertMoneyConserved(scenario, outcome);
        // Whichever twin took a slot, the result is what Algorithm 5 gives for the taken set.
        const taken = uniqueById(stream).filter((e) => outcome.ledger.status(e.id) !== undefined);
        const slots = new Set(taken.map((e) => `${e.transfer.source}:${e.transfer.seq}`));
        assert.equal(slots.size, taken.length, "two transfers hold one (source, seq)");
        assertMatchesModel(scenario, taken, outcome);
      }),
      { numRuns: RUNS },
    );
  });

  it("reaches the same state when restarted from its store part-way through", () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer(), fc.nat(), (scenario, seed, cut) => {
        const stream = shuffle(scenario.delivered, seed);
        const split = cut % (stream.length + 1);
        const store = new MemoryLedgerStore();
        deliverAll(newLedger(scenario, store), stream.slice(0, split));
        const restarted = newLedger(scenario, store);
        deliverAll(restarted, stream.slice(split));
        assertMatchesModel(scenario, scenario.delivered, { store, ledger: restarted, refused: 0 });
        assertMoneyConserved(scenario, { store, ledger: restarted, refused: 0 });
      }),
      { numRuns: RUNS },
    );
  });

  it("admits for echo only what every node applies, refuses only what every node rejects, at any point", () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer(), fc.nat(), (scenario, seed, cut) => {
        const stream = shuffle(scenario.delivered, seed);
        const ledger = newLedger(scenario);
        deliverAll(ledger, stream.slice(0, cut % (stream.length + 1)));
        const model = runReferenceModel(scenario.genesis, scenario.delivered);
        for (const e of scenario.delivered) {
          if (ledger.status(e.id) !== undefined) continue;
          const verdict = ledger.admission(e).kind;
          const final = model.status.get(e.id) ?? "delivered";
          if (verdict === "admit") assert.equal(final, "applied", "admitted but not applied");
          if (verdict === "never") assert.equal(final, "rejected", "refused but not rejected");
        }
      }),
      { numRuns: RUNS },
    );
  });
});

function isTwin(e: EncodedTransfer, scenario: Scenario): boolean {
  return e.transfer.memo === "the other twin" && scenario.delivered.every((d) => d.id !== e.id);
}

function uniqueById(stream: readonly EncodedTransfer[]): EncodedTransfer[] {
  const seen = new Map<string, EncodedTransfer>();
  for (const e of stream) if (!seen.has(e.id)) seen.set(e.id, e);
  return [...seen.values()];
}
