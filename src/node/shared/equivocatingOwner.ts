import { sha256 } from "@noble/hashes/sha2.js";
import { encodeTransferBody } from "../../core/transfer.ts";
import { requestSigningBytes, voteSigningBytes } from "../../kshared/certificate.ts";
import type { CommitteeMessage, OwnerIndex, SignedRequest } from "../../kshared/committeeTypes.ts";
import type { HostedAccount } from "./sharedHosting.ts";
import { readBody } from "./transferBodies.ts";

/** Testing only: the memo that marks the forged twin of a proposal (so tests can tell it apart). */
export const EQUIVOCATION_MEMO = "equivocation";

/** One send of the equivocating owner: the recipients (owner indices) and the message. */
export interface EquivocatingSend {
  readonly to: readonly OwnerIndex[];
  readonly message: CommitteeMessage;
}

/**
 * Testing only (`--byzantine-owner equivocate`). As a round's leader without a justification, the owner
 * proposes its committee's request to the first half of the other owners, and a forged twin (same seq,
 * same outputs, memo "equivocation": another body, so another digest, signed as its own request) to the
 * second half and then to the first half too, so the first half holds two proposals of one round
 * (evidence). It also signs a second Prepare for the twin, to every owner. Every other message goes out
 * as the committee wrote it. Undefined: not a message it equivocates on.
 */
export function equivocate(
  account: HostedAccount,
  others: readonly OwnerIndex[],
  message: CommitteeMessage,
): EquivocatingSend[] | undefined {
  if (message.kind !== "propose" || message.justify !== null) return undefined;
  if (others.length < 2) return undefined;
  const twin = forgedTwin(account, message.request);
  if (twin === undefined) return undefined;
  const half = Math.ceil(others.length / 2);
  const first = others.slice(0, half);
  const second = others.slice(half);
  const { seq, round } = message;
  const prepare = {
    phase: "prepare" as const,
    seq,
    round,
    digest: twin.digest,
    voter: account.self,
    signature: account.signer.sign(voteSigningBytes(account.id, "prepare", seq, round, twin.digest)),
  };
  const forged: CommitteeMessage = { ...message, request: twin };
  return [
    { to: first, message },
    { to: [...second, ...first], message: forged },
    { to: others, message: { kind: "vote", vote: prepare } },
  ];
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
  const digest = sha256(proposal);
  const signature = account.signer.sign(requestSigningBytes(account.id, digest));
  return { owner: account.self, proposal, digest, signature };
}
