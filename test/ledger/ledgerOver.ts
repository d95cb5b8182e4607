import assert from "node:assert/strict";
import { isTallyError } from "../../src/core/errors.ts";
import type { EncodedTransfer } from "../../src/core/transfer.ts";
import { sodiumVerifier } from "../../src/crypto/ed25519Sodium.ts";
import { SignatureAuthorizer } from "../../src/ledger/authorization.ts";
import { Ledger } from "../../src/ledger/ledger.ts";
import type { LedgerStore } from "../../src/ledger/store.ts";
import { TEST_NETWORK } from "../support/fixtures.ts";
import type { Scenario } from "./scenario.ts";

/** A ledger over `store`, funded by the scenario's genesis, with libsodium checking signatures. */
export function ledgerOver(scenario: Pick<Scenario, "genesis">, store: LedgerStore): Ledger {
  const balances = [...scenario.genesis].map(([address, amount]) => ({ address, amount }));
  return new Ledger({ network: TEST_NETWORK, balances }, store, new SignatureAuthorizer(sodiumVerifier), {
    maxSeqLookahead: 1_000,
  });
}

/** Delivers `e`; a refusal must be a TallyError (the scenarios' noise is refused on purpose). */
export function deliverQuietly(ledger: Ledger, e: EncodedTransfer): void {
  try {
    ledger.deliver(e);
  } catch (error) {
    assert.ok(isTallyError(error));
  }
}
