import type { SignedProposal } from "../../api/nodeApi.ts";
import { ErrorCode, TallyError } from "../../core/errors.ts";
import { sodiumVerifier } from "../../crypto/ed25519Sodium.ts";
import { intentSignatureValid } from "../../kshared/proposalIntent.ts";
import type { IntentGuard } from "./intentGuard.ts";
import type { HostedAccount } from "./sharedHosting.ts";

/**
 * A proposal request is this node's owner's word only if that owner's key signed it: other owners vote for
 * any well-signed committee request, so an unchecked request would let any API caller spend the account.
 * The signature is checked before the guard remembers it, so unsigned requests cannot fill the guard.
 */
export function authorizeIntent(
  account: HostedAccount,
  guard: IntentGuard,
  address: string,
  request: SignedProposal,
  nowMs: number,
): void {
  const { to, amount, memo, issuedAtMs, signature } = request;
  const intent = { account: address, to, amount, memo, issuedAtMs };
  if (!intentSignatureValid(sodiumVerifier, account.signer.publicKey, intent, signature))
    throw new TallyError(
      ErrorCode.SharedBadIntent,
      `the intent is not signed by the key of owner ${account.self} of ${address}`,
    );
  guard.admit(signature, issuedAtMs, nowMs);
}
