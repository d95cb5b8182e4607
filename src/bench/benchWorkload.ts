import sodium from "sodium-native";
import { AddressVersion, encodeAddress } from "../core/address.ts";
import { TRANSFER_FORMAT_VERSION } from "../core/limits.ts";
import { assembleTransfer, encodeTransferBody } from "../core/transfer.ts";
import { transferToJson } from "../core/transferJson.ts";
import { benchAccount } from "./ringWorkload.ts";

/** An account the benchmark signs for: its libsodium secret key and the first seq it will use. */
export interface BenchSigner {
  readonly address: string;
  readonly secretKey: Buffer;
  readonly firstSeq: number;
}

/**
 * The transfers of one run, signed and JSON-encoded before the clock starts: `perAccount` transfers of each of
 * `accounts` accounts. Account i's j-th transfer (seq firstSeq + j) is at index j × accounts + i of `ids`
 * and `json`, so the arrays hold the accounts' transfers round-robin.
 */
export interface SignedWorkload {
  readonly accounts: number;
  readonly perAccount: number;
  readonly ids: readonly string[];
  readonly json: readonly string[];
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
 * firstSeq+1, …, with no deps (its genesis balance pays for all of them).
 */
export function signWorkload(
  signers: readonly BenchSigner[],
  perAccount: number,
  network: string,
): SignedWorkload {
  const accounts = signers.length;
  const total = perAccount * accounts;
  const ids: string[] = new Array(total);
  const json: string[] = new Array(total);
  const signature = Buffer.alloc(sodium.crypto_sign_BYTES);
  for (let n = 0; n < total; n++) {
    const i = n % accounts;
    const from = signers[i]!;
    const unsigned = {
      version: TRANSFER_FORMAT_VERSION,
      network,
      source: from.address,
      seq: from.firstSeq + Math.floor(n / accounts),
      outputs: [{ to: signers[(i + 1) % accounts]!.address, amount: 1n }],
      deps: [],
    };
    const body = encodeTransferBody(unsigned);
    sodium.crypto_sign_detached(
      signature,
      Buffer.from(body.buffer, body.byteOffset, body.length),
      from.secretKey,
    );
    const encoded = assembleTransfer(unsigned, body, signature);
    ids[n] = encoded.id;
    json[n] = JSON.stringify(transferToJson(encoded.transfer));
  }
  return { accounts, perAccount, ids, json };
}

/** The transfers each signer's balance must cover: every one it signs costs 1 unit. */
export function transfersPerSigner(total: number, signers: number): number {
  return Math.ceil(total / signers);
}
