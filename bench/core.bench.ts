/**
 * Micro-benchmark of the pure core: encode, decode, verify (both implementations) and ledger
 * validation. Prints rates, and each rate as a ratio of libsodium's verify rate, the physical
 * limit per core that everything is measured against (docs/architecture.md, "Decisions"). Run: `npm run bench`.
 */

import { decodeTransfer, type EncodedTransfer, encodeTransfer } from "../src/core/transfer.ts";
import { nobleVerifier } from "../src/crypto/ed25519Noble.ts";
import { sodiumVerifier } from "../src/crypto/ed25519Sodium.ts";
import { type Authorizer, SignatureAuthorizer } from "../src/ledger/authorization.ts";
import { Ledger } from "../src/ledger/ledger.ts";
import { MemoryLedgerStore } from "../src/ledger/memoryStore.ts";
import { makeTransfer, TEST_NETWORK, testKey } from "../test/support/fixtures.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);

/** Runs `fn` over `items` round-robin for about SECONDS and returns operations per second. */
function rate<T>(items: readonly T[], fn: (item: T) => void): number {
  for (let i = 0; i < Math.min(items.length, 200); i++) fn(items[i]!); // warm-up
  let ops = 0;
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 100; i++) fn(items[(ops + i) % items.length]!);
    ops += 100;
  }
  return ops / ((performance.now() - start) / 1000);
}

/** A payment ring: account i pays account i+1 each round, referencing what it received. */
function ringOfTransfers(accounts: number, rounds: number): EncodedTransfer[] {
  const keys = Array.from({ length: accounts }, (_, i) => testKey(i));
  const lastIncoming = new Map<string, string>();
  const out: EncodedTransfer[] = [];
  for (let r = 1; r <= rounds; r++) {
    for (let i = 0; i < accounts; i++) {
      const from = keys[i]!;
      const to = keys[(i + 1) % accounts]!;
      const dep = lastIncoming.get(from.address);
      const t = makeTransfer(from, r, [{ to: to.address, amount: 1n }], dep ? [dep] : [], {
        memo: `round ${r}`,
      });
      lastIncoming.delete(from.address);
      lastIncoming.set(to.address, t.id);
      out.push(t);
    }
  }
  return out;
}

const ACCOUNTS = 100;
const transfers = ringOfTransfers(ACCOUNTS, 50);
const genesis = {
  network: TEST_NETWORK,
  balances: Array.from({ length: ACCOUNTS }, (_, i) => ({ address: testKey(i).address, amount: 1_000_000n })),
};

function ledgerRate(authorizer: () => Authorizer): number {
  // Fresh ledger per pass over the ring; the pass is timed as a whole.
  let applied = 0;
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  while (performance.now() < deadline) {
    const ledger = new Ledger(genesis, new MemoryLedgerStore(), authorizer());
    for (const t of transfers) {
      for (const change of ledger.deliver(t)) if (change.status === "applied") applied++;
    }
  }
  return applied / ((performance.now() - start) / 1000);
}

const trustAll: Authorizer = { authorize() {} };
const results: [string, number][] = [
  ["encode (transfer → bytes + id)", rate(transfers, (t) => encodeTransfer(t.transfer))],
  ["decode (bytes → transfer + id)", rate(transfers, (t) => decodeTransfer(t.bytes))],
  [
    "verify, libsodium",
    rate(transfers, (t) => sodiumVerifier.verify(t.transfer.signature, t.body, decodeKey(t))),
  ],
  [
    "verify, noble (portable JS)",
    rate(transfers.slice(0, 50), (t) => nobleVerifier.verify(t.transfer.signature, t.body, decodeKey(t))),
  ],
  ["ledger validate+apply, no signature check", ledgerRate(() => trustAll)],
  ["ledger validate+apply, libsodium verify", ledgerRate(() => new SignatureAuthorizer(sodiumVerifier))],
  ["decode + verify + validate + apply", decodeVerifyApply()],
];

function decodeKey(t: EncodedTransfer): Uint8Array {
  return t.bytes.subarray(1 + 1 + t.transfer.network.length + 1, 1 + 1 + t.transfer.network.length + 33);
}

function decodeVerifyApply(): number {
  let applied = 0;
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  while (performance.now() < deadline) {
    const ledger = new Ledger(genesis, new MemoryLedgerStore(), new SignatureAuthorizer(sodiumVerifier));
    for (const t of transfers) applied += ledger.deliver(decodeTransfer(t.bytes)).length;
  }
  return applied / ((performance.now() - start) / 1000);
}

const verifyRate = results[2]![1];
console.log(
  `core micro-benchmark: ${transfers.length} distinct transfers (${transfers[0]!.bytes.length} bytes each), ${SECONDS}s per row, node ${process.version}`,
);
for (const [name, perSecond] of results) {
  console.log(
    `${name.padEnd(44)} ${Math.round(perSecond).toLocaleString("en-US").padStart(12)} /s   ${(perSecond / verifyRate).toFixed(2)}× libsodium verify`,
  );
}
