import sodium from "sodium-native";
import { decodeAddress } from "../../src/core/address.ts";
import { compareBytes } from "../../src/core/bytes.ts";
import {
  assembleSharedTransfer,
  type EncodedTransfer,
  encodeTransferBody,
  type UnsignedTransfer,
} from "../../src/core/transfer.ts";
import { voteSigningBytes } from "../../src/kshared/certificate.ts";
import type { Certificate, VotePhase } from "../../src/kshared/committeeTypes.ts";
import { type SharedDefinition, sharedAccountId, sharedAddress } from "../../src/kshared/definition.ts";
import { requestDigest } from "../../src/kshared/requestDigest.ts";
import { TEST_NETWORK, type TestKey, testKey } from "./fixtures.ts";

export interface SharedAccountFixture {
  /** Owner keys in canonical order: `owners[i]` is owner index i. */
  readonly owners: readonly TestKey[];
  readonly definition: SharedDefinition;
  readonly id: Uint8Array;
  readonly address: string;
}

/** A shared account owned by `testKey(n)` for each n. */
export function sharedAccount(keyNumbers: readonly number[], label = ""): SharedAccountFixture {
  const owners = keyNumbers.map(testKey).sort((a, b) => compareBytes(a.publicKey, b.publicKey));
  const definition = { owners: owners.map((o) => Uint8Array.from(o.publicKey)), label };
  return { owners, definition, id: sharedAccountId(definition), address: sharedAddress(definition) };
}

export function voteSignature(
  owner: TestKey,
  statement: { account: Uint8Array; phase: VotePhase; seq: number; round: number; digest: Uint8Array },
): Uint8Array {
  const message = voteSigningBytes(
    statement.account,
    statement.phase,
    statement.seq,
    statement.round,
    statement.digest,
  );
  const signature = Buffer.alloc(64);
  sodium.crypto_sign_detached(signature, Buffer.from(message), Buffer.from(owner.secretKey));
  return new Uint8Array(signature);
}

export interface CertifyOptions {
  /** Owner indices that sign (default: the first q of a 4-owner account, i.e. all but the last). */
  readonly signers?: readonly number[];
  readonly phase?: VotePhase;
  readonly round?: number;
  /** Override what is certified, to build certificates for something else. */
  readonly seq?: number;
  readonly digest?: Uint8Array;
  readonly account?: Uint8Array;
  /** The owner whose request was decided (default 0): part of the certified digest. */
  readonly requester?: number;
  /** Keys that sign in place of the owners at those indices (non-owners). */
  readonly signWith?: ReadonlyMap<number, TestKey>;
}

/** A commit certificate of `account`'s owners for (account id, seq, requester's request digest of body). */
export function certificateFor(
  account: SharedAccountFixture,
  seq: number,
  body: Uint8Array,
  options: CertifyOptions = {},
): Certificate {
  const signers = options.signers ?? account.owners.slice(0, -1).map((_, i) => i);
  const statement = {
    account: options.account ?? account.id,
    phase: options.phase ?? "commit",
    seq: options.seq ?? seq,
    round: options.round ?? 0,
    digest: options.digest ?? requestDigest(options.requester ?? 0, body),
  };
  return {
    ...statement,
    signers: [...signers],
    signatures: signers.map((i) => voteSignature(options.signWith?.get(i) ?? account.owners[i]!, statement)),
  };
}

/** Builds and certifies a transfer from the shared account; outputs and deps sorted as the format demands. */
export function makeSharedTransfer(
  account: SharedAccountFixture,
  seq: number,
  outputs: readonly { to: string; amount: bigint }[],
  deps: readonly string[] = [],
  options: CertifyOptions & { network?: string } = {},
): EncodedTransfer {
  const unsigned: UnsignedTransfer = {
    version: 1,
    network: options.network ?? TEST_NETWORK,
    source: account.address,
    seq,
    outputs: [...outputs].sort((a, b) => compareBytes(decodeAddress(a.to).bytes, decodeAddress(b.to).bytes)),
    deps: [...deps].sort(),
  };
  const body = encodeTransferBody(unsigned);
  return assembleSharedTransfer(unsigned, body, {
    definition: account.definition,
    requester: options.requester ?? 0,
    certificate: certificateFor(account, seq, body, options),
  });
}
