import sodium from "sodium-native";
import { AddressVersion, encodeAddress } from "../core/address.ts";
import { transferToJson } from "../core/transferJson.ts";
import { benchAccount, signRingPayment } from "./ringWorkload.ts";

/** An account the benchmark signs for: its libsodium secret key and the first seq it will use. */
export interface BenchSigner {
  readonly address: string;
  readonly secretKey: Buffer;
  readonly firstSeq: number;
}

/**
 * The transfers of one run, signed and JSON-encoded before the clock starts: `perAccount` transfers of each of
 * `accounts` accounts. Account i's j-th transfer (seq firstSeq + j) is at index j × accounts + i of `ids`
 * and `json`, so the arrays hold the accounts' transfers round-robin (round j is indices j × accounts …).
 */
export interface SignedWorkload {
  readonly accounts: number;
  readonly perAccount: number;
  /** Whether each transfer after round 0 references, as its dep, the payment its account received last. */
  readonly withDeps: boolean;
  readonly ids: readonly string[];
  /** Each transfer's canonical encoding (what a binary batch carries). */
  readonly bytes: readonly Uint8Array[];
  /** Each transfer's JSON view, when signed for JSON submission (`submit: "json"`). */
  readonly json?: readonly string[] | undefined;
}

/** How the bench submits: binary batch bodies (`application/octet-stream`) or JSON ones. */
export type SubmitFormat = "binary" | "json";

/** Which workload a run signed, as the report names it. */
export type WorkloadKind = "ring-with-deps" | "ring-no-deps";

export function workloadKind(w: { readonly withDeps: boolean }): WorkloadKind {
  return w.withDeps ? "ring-with-deps" : "ring-no-deps";
}

/**
 * The index of the transfer that transfer `index` references as its dep, or -1: account i's transfer of round
 * j ≥ 1 references what account i−1 (mod accounts) paid it in round j−1. Always a smaller index, so it is
 * signed first.
 */
export function depIndexOf(w: Pick<SignedWorkload, "accounts" | "withDeps">, index: number): number {
  if (!w.withDeps || index < w.accounts) return -1;
  const i = index % w.accounts;
  return index - w.accounts - (i === 0 ? 1 - w.accounts : 1);
}

/** The transfer whose dep is transfer `index` (account i+1's next round), or -1 past the last round. */
export function dependentOf(
  w: Pick<SignedWorkload, "accounts" | "perAccount" | "withDeps">,
  index: number,
): number {
  if (!w.withDeps) return -1;
  const i = index % w.accounts;
  const next = index + w.accounts + (i === w.accounts - 1 ? 1 - w.accounts : 1);
  return next < w.accounts * w.perAccount ? next : -1;
}

/** The bench's own deterministic accounts (the ingest bench's keys), each starting at seq 1. */
export function deterministicSigners(count: number): BenchSigner[] {
  return Array.from({ length: count }, (_, i) => {
    const { address, secretKey } = benchAccount(i);
    return { address, secretKey, firstSeq: 1 };
  });
}

/** A signer from a 32-byte ed25519 seed (a keystore's secret key). */
export function signerFromSeed(seed: Uint8Array, firstSeq: number): BenchSigner {
  const publicKey = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES);
  const secretKey = Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES);
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, Buffer.from(seed));
  return { address: encodeAddress(AddressVersion.Ed25519, publicKey), secretKey, firstSeq };
}

/**
 * `perAccount` transfers of every signer: account i pays 1 unit to account i+1 at seqs firstSeq,
 * firstSeq+1, …. With deps (as wallets do) each transfer after the first references the payment the account
 * received in the previous round (`depIndexOf`), so no node keeps a growing set of unreferenced payments;
 * the dep brings 1 unit and the balance pays nothing net. Without, the balance pays for every transfer and
 * every payment stays unreferenced.
 */
export function signWorkload(
  signers: readonly BenchSigner[],
  perAccount: number,
  network: string,
  withDeps = true,
  format: SubmitFormat = "binary",
): SignedWorkload {
  const accounts = signers.length;
  const total = perAccount * accounts;
  const ids: string[] = new Array(total);
  const bytes: Uint8Array[] = new Array(total);
  const json: string[] | undefined = format === "json" ? new Array(total) : undefined;
  const shape = { accounts, withDeps };
  for (let n = 0; n < total; n++) {
    const i = n % accounts;
    const from = signers[i]!;
    const dep = depIndexOf(shape, n);
    const to = signers[(i + 1) % accounts]!.address;
    const seq = from.firstSeq + Math.floor(n / accounts);
    const encoded = signRingPayment(from, to, seq, network, dep < 0 ? undefined : ids[dep]);
    ids[n] = encoded.id;
    bytes[n] = encoded.bytes;
    if (json !== undefined) json[n] = JSON.stringify(transferToJson(encoded.transfer));
  }
  return { accounts, perAccount, withDeps, ids, bytes, json };
}

/** The transfers each signer's balance must cover: every one it signs costs 1 unit. */
export function transfersPerSigner(total: number, signers: number): number {
  return Math.ceil(total / signers);
}
