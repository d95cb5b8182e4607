import sodium from "sodium-native";
import { AddressVersion, encodeAddress } from "../core/address.ts";
import { TRANSFER_FORMAT_VERSION } from "../core/limits.ts";
import { assembleTransfer, type EncodedTransfer, encodeTransferBody } from "../core/transfer.ts";
import type { LedgerGenesis } from "../ledger/ledger.ts";

export const BENCH_NETWORK = "tally-bench";
/** Enough per account that every payment of the ring applies, whatever N. */
const GENESIS_BALANCE = 1_000_000_000n;
/** A wide ring, so the ledger's per-account state is realistic rather than 2 hot accounts. */
const MAX_ACCOUNTS = 1_000;

export interface BenchAccount {
  readonly address: string;
  readonly publicKey: Buffer;
  readonly secretKey: Buffer;
}

export interface RingWorkload {
  readonly genesis: LedgerGenesis;
  readonly accounts: readonly BenchAccount[];
  /** Signed transfers in an order in which each one applies on delivery. */
  readonly transfers: readonly EncodedTransfer[];
  /** Each transfer's source public key, so raw verify does no address decoding. */
  readonly publicKeys: readonly Buffer[];
}

/** Deterministic keys: the benchmark's figures must not depend on which keys a run happened to draw. */
export function benchAccount(index: number): BenchAccount {
  const seed = Buffer.alloc(32);
  seed.writeUInt32BE(index + 1, 0);
  seed.write("tally-bench", 4);
  const publicKey = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES);
  const secretKey = Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES);
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed);
  return { address: encodeAddress(AddressVersion.Ed25519, publicKey), publicKey, secretKey };
}

/**
 * One payment of a bench ring, signed: 1 unit from `from` to `to` at `seq`, referencing `dep` when given.
 * One output and at most one dep: the format's canonical (sorted) order holds trivially.
 */
export function signRingPayment(
  from: { readonly address: string; readonly secretKey: Buffer },
  to: string,
  seq: number,
  network: string,
  dep: string | undefined,
  memo?: string,
): EncodedTransfer {
  const unsigned = {
    version: TRANSFER_FORMAT_VERSION,
    network,
    source: from.address,
    seq,
    outputs: [{ to, amount: 1n }],
    deps: dep === undefined ? [] : [dep],
    ...(memo === undefined ? {} : { memo }),
  };
  const body = encodeTransferBody(unsigned);
  const signature = Buffer.alloc(sodium.crypto_sign_BYTES);
  sodium.crypto_sign_detached(
    signature,
    Buffer.from(body.buffer, body.byteOffset, body.length),
    from.secretKey,
  );
  return assembleTransfer(unsigned, body, signature);
}

/**
 * `count` distinct signed transfers forming a payment ring: account i pays 1 to account i+1 each round and
 * references, as its dep, the payment it received last, as a wallet does. Every transfer applies in order.
 */
export function ringWorkload(count: number): RingWorkload {
  const accounts = Array.from({ length: Math.min(MAX_ACCOUNTS, Math.max(2, count)) }, (_, i) =>
    benchAccount(i),
  );
  const lastIncoming = new Map<string, string>();
  const transfers: EncodedTransfer[] = [];
  const publicKeys: Buffer[] = [];
  for (let n = 0; n < count; n++) {
    const i = n % accounts.length;
    const from = accounts[i]!;
    const to = accounts[(i + 1) % accounts.length]!;
    const seq = Math.floor(n / accounts.length) + 1;
    const dep = lastIncoming.get(from.address);
    const encoded = signRingPayment(from, to.address, seq, BENCH_NETWORK, dep, `bench ${n}`);
    lastIncoming.delete(from.address);
    lastIncoming.set(to.address, encoded.id);
    transfers.push(encoded);
    publicKeys.push(from.publicKey);
  }
  const genesis: LedgerGenesis = {
    network: BENCH_NETWORK,
    balances: accounts.map((a) => ({ address: a.address, amount: GENESIS_BALANCE })),
  };
  return { genesis, accounts, transfers, publicKeys };
}
