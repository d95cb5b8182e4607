import sodium from "sodium-native";
import { AddressVersion, decodeAddress, encodeAddress } from "../../src/core/address.ts";
import {
  assembleTransfer,
  type EncodedTransfer,
  encodeTransferBody,
  type UnsignedTransfer,
} from "../../src/core/transfer.ts";
import { sodiumVerifier } from "../../src/crypto/ed25519Sodium.ts";
import type { SignatureVerifier } from "../../src/crypto/signatureVerifier.ts";

export const TEST_NETWORK = "tally-test";

export interface TestKey {
  readonly address: string;
  readonly publicKey: Uint8Array;
  /** libsodium's 64-byte secret key (seed ‖ public key). */
  readonly secretKey: Uint8Array;
}

/** Deterministic keys from a small integer, signed with libsodium because fixtures sign thousands of transfers. */
export function testKey(n: number): TestKey {
  const seed = Buffer.alloc(32);
  seed.writeUInt32BE(n + 1, 0);
  const publicKey = Buffer.alloc(32);
  const secretKey = Buffer.alloc(64);
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed);
  return { address: encodeAddress(AddressVersion.Ed25519, publicKey), publicKey, secretKey };
}

export function signWith(key: TestKey, unsigned: UnsignedTransfer): EncodedTransfer {
  const body = encodeTransferBody(unsigned);
  const signature = Buffer.alloc(64);
  sodium.crypto_sign_detached(signature, Buffer.from(body), Buffer.from(key.secretKey));
  return assembleTransfer(unsigned, body, signature);
}

/** Builds and signs a transfer; outputs are sorted and deps sorted as the format demands. */
export function makeTransfer(
  key: TestKey,
  seq: number,
  outputs: readonly { to: string; amount: bigint }[],
  deps: readonly string[] = [],
  options: { network?: string; memo?: string } = {},
): EncodedTransfer {
  const sortedOutputs = [...outputs].sort((a, b) => Buffer.compare(addressBytes(a.to), addressBytes(b.to)));
  return signWith(key, {
    version: 1,
    network: options.network ?? TEST_NETWORK,
    source: key.address,
    seq,
    outputs: sortedOutputs,
    deps: [...deps].sort(),
    memo: options.memo,
  });
}

function addressBytes(address: string): Uint8Array {
  return decodeAddress(address).bytes;
}

/**
 * A single-key transfer's encoding with the first byte of its signature (its last 64 bytes) changed: the same
 * body and id, a signature that fails.
 */
export function withForgedSignature(bytes: Uint8Array): Uint8Array {
  const forged = new Uint8Array(bytes);
  forged[forged.length - 64]! ^= 0x01;
  return forged;
}

/** libsodium's verifier, counting its checks: what a test reads to tell a fresh check from a remembered one. */
export function countingVerifier(): { verifier: SignatureVerifier; checks: () => number } {
  let checks = 0;
  const verifier: SignatureVerifier = {
    name: "counting",
    verify: (signature, message, publicKey) => {
      checks++;
      return sodiumVerifier.verify(signature, message, publicKey);
    },
  };
  return { verifier, checks: () => checks };
}
