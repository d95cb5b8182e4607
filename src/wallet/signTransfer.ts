import { decodeAddress } from "../core/address.ts";
import { compareBytes } from "../core/bytes.ts";
import { MAX_DEPS, TRANSFER_FORMAT_VERSION } from "../core/limits.ts";
import {
  assembleTransfer,
  type EncodedTransfer,
  encodeTransferBody,
  type UnsignedTransfer,
} from "../core/transfer.ts";
import { sign } from "../crypto/ed25519Noble.ts";
import type { Keystore } from "./keystore.ts";

export interface TransferRequest {
  readonly network: string;
  readonly seq: number;
  readonly outputs: readonly { readonly to: string; readonly amount: bigint }[];
  /** Applied incoming transfers to consume; at most MAX_DEPS are used, the rest wait for the next transfer. */
  readonly deps?: readonly string[];
  readonly memo?: string | undefined;
}

/** Puts outputs and deps in the format's canonical order and signs with the keystore's key. */
export function buildSignedTransfer(
  keystore: Pick<Keystore, "address" | "secretKey">,
  request: TransferRequest,
): EncodedTransfer {
  const outputs = [...request.outputs].sort((a, b) =>
    compareBytes(decodeAddress(a.to).bytes, decodeAddress(b.to).bytes),
  );
  const deps = [...new Set(request.deps ?? [])].sort().slice(0, MAX_DEPS);
  const unsigned: UnsignedTransfer = {
    version: TRANSFER_FORMAT_VERSION,
    network: request.network,
    source: keystore.address,
    seq: request.seq,
    outputs,
    deps,
    memo: request.memo === "" ? undefined : request.memo,
  };
  const body = encodeTransferBody(unsigned);
  return assembleTransfer(unsigned, body, sign(body, keystore.secretKey));
}
