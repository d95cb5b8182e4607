/**
 * What a peer's payload costs the node before the broadcast sees it (`PayloadInspector.judgePeerPayload`), for a
 * payload its tables of recent verdicts no longer hold: one for a slot the ledger has settled (a replayed old
 * transfer: decoded, its slot looked up, its signature not checked) against one for an open slot (decoded and
 * checked). Each payload is a fresh copy of its bytes, as a peer's message is. Prints µs per payload and the
 * ratio, three rounds; run with `node bench/peerPayload.bench.ts [--payloads N (5,000)]`.
 */
import { parseArgs } from "node:util";
import { sodiumVerifier } from "../src/crypto/ed25519Sodium.ts";
import { SignatureAuthorizer } from "../src/ledger/authorization.ts";
import { PayloadInspector } from "../src/node/core/payloadInspector.ts";
import { makeTransfer, TEST_NETWORK, testKey } from "../test/support/fixtures.ts";

const { values } = parseArgs({ options: { payloads: { type: "string", default: "5000" } } });
const PAYLOADS = Number(values.payloads);
const ACCOUNTS = 50;

const sink = testKey(2).address;
const payloads: Uint8Array[] = [];
for (let i = 0; i < PAYLOADS; i++) {
  const source = testKey(10 + (i % ACCOUNTS));
  payloads.push(makeTransfer(source, 1 + Math.floor(i / ACCOUNTS), [{ to: sink, amount: 1n }]).bytes);
}

/** µs per payload judged, every slot settled or none; tables of one entry, so nothing is remembered. */
function run(settled: boolean): number {
  const authorizer = new SignatureAuthorizer(sodiumVerifier, { cacheEntries: 1 });
  const inspector = new PayloadInspector(TEST_NETWORK, authorizer, 1);
  const checks = { slotTaken: (): boolean => settled };
  const started = process.hrtime.bigint();
  for (const payload of payloads) inspector.judgePeerPayload(new Uint8Array(payload), checks);
  return Number(process.hrtime.bigint() - started) / 1000 / payloads.length;
}

for (let round = 1; round <= 3; round++) {
  const settled = run(true);
  const open = run(false);
  console.log(
    `round ${round}: settled slot ${settled.toFixed(2)} µs, open slot ${open.toFixed(2)} µs per payload ` +
      `(open / settled ${(open / settled).toFixed(1)}×)`,
  );
}
