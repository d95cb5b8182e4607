import {
  decodeTransfer,
  type EncodedTransfer,
  encodeTransferBody,
  type UnsignedTransfer,
} from "../../core/transfer.ts";
import type { Certificate } from "../../kshared/committeeTypes.ts";
import { encodeSharedAuthorization, type SharedAuthorization } from "../../kshared/sharedAuthorization.ts";
import type { HostedAccount } from "./sharedHosting.ts";

/**
 * A committee proposal is the encoded unsigned transfer body. A body is read back by appending a
 * placeholder authorization and running the strict transfer decoder: one decoder for every body byte.
 */
export function buildBody(
  account: HostedAccount,
  network: string,
  seq: number,
  payment: { to: string; amount: bigint; memo?: string | undefined },
  deps: readonly string[],
): Uint8Array {
  const unsigned: UnsignedTransfer = {
    version: 1,
    network,
    source: account.address,
    seq,
    outputs: [{ to: payment.to, amount: payment.amount }],
    deps: [...deps].sort(),
    ...(payment.memo ? { memo: payment.memo } : {}),
  };
  return encodeTransferBody(unsigned);
}

/** body ‖ u16 length ‖ definition ‖ requester ‖ certificate, decoded strictly (throws TallyError on a bad body). */
export function certifiedTransfer(body: Uint8Array, authorization: SharedAuthorization): EncodedTransfer {
  const field = encodeSharedAuthorization(authorization);
  const bytes = new Uint8Array(body.length + 2 + field.length);
  bytes.set(body);
  new DataView(bytes.buffer).setUint16(body.length, field.length);
  bytes.set(field, body.length + 2);
  return decodeTransfer(bytes);
}

/**
 * Seqs already read, by body: the committee asks for them on every request, proposal, purge and leader tick,
 * and a body is the same array for as long as its request lives (weakly held: gone with the request).
 */
const seqOfBody = new WeakMap<Uint8Array, number | undefined>();

/** The seq a body names if it is a well-formed transfer of `account` on `network`; else undefined. */
export function bodySeq(account: HostedAccount, network: string, body: Uint8Array): number | undefined {
  if (seqOfBody.has(body)) return seqOfBody.get(body);
  const transfer = readBody(account, body);
  const seq =
    transfer === undefined || transfer.source !== account.address || transfer.network !== network
      ? undefined
      : transfer.seq;
  seqOfBody.set(body, seq);
  return seq;
}

/** A body read back through the strict decoder (with a placeholder authorization); undefined if malformed. */
export function readBody(account: HostedAccount, body: Uint8Array): UnsignedTransfer | undefined {
  const placeholder: Certificate = {
    phase: "commit",
    account: account.id,
    seq: 1,
    round: 0,
    digest: new Uint8Array(32),
    signers: [0],
    signatures: [new Uint8Array(64)],
  };
  try {
    const { transfer } = certifiedTransfer(body, {
      definition: account.definition,
      requester: 0,
      certificate: placeholder,
    });
    const { version, network, source, seq, outputs, deps, memo } = transfer;
    return { version, network, source, seq, outputs, deps, ...(memo !== undefined ? { memo } : {}) };
  } catch {
    return undefined;
  }
}
