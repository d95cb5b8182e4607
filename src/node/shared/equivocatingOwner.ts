import { encodeTransferBody } from "../../core/transfer.ts";
import { requestSigningBytes, voteSigningBytes } from "../../kshared/certificate.ts";
import type { SignedRequest } from "../../kshared/committeeTypes.ts";
import { EquivocatingOwner } from "../../kshared/equivocatingOwner.ts";
import { requestDigest } from "../../kshared/requestDigest.ts";
import type { HostedAccount } from "./sharedHosting.ts";
import { readBody } from "./transferBodies.ts";

/** Testing only: the memo that marks the forged twin of a proposal (so tests can tell it apart). */
export const EQUIVOCATION_MEMO = "equivocation";

/**
 * Testing only (`--byzantine-owner equivocate`): the shared equivocating owner (kshared/equivocatingOwner.ts)
 * for one hosted account. Its twin of a proposal is the same transfer (same seq, same outputs) with the memo
 * "equivocation": another body, so another digest, signed as this owner's own request.
 */
export function transferEquivocator(account: HostedAccount): EquivocatingOwner {
  return new EquivocatingOwner({
    twinOf: (request) => forgedTwin(account, request),
    signVote: (v, digest) =>
      account.signer.sign(voteSigningBytes(account.id, v.phase, v.seq, v.round, digest)),
  });
}

/** The request's body with the equivocation memo, signed by this owner; undefined if it is not a transfer. */
function forgedTwin(account: HostedAccount, request: SignedRequest): SignedRequest | undefined {
  const transfer = readBody(account, request.proposal);
  if (transfer === undefined) return undefined;
  if (transfer.memo === EQUIVOCATION_MEMO) return undefined;
  const { version, network, source, seq, outputs, deps } = transfer;
  const proposal = encodeTransferBody({
    version,
    network,
    source,
    seq,
    outputs,
    deps,
    memo: EQUIVOCATION_MEMO,
  });
  const digest = requestDigest(account.self, proposal);
  const signature = account.signer.sign(requestSigningBytes(account.id, digest));
  return { owner: account.self, proposal, digest, signature };
}
