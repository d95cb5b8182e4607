import type { TransferStatus } from "../api/nodeApi.ts";
import { transferToJson } from "../core/transferJson.ts";
import type { Keystore } from "./keystore.ts";
import { NodeRequestError, type WalletNode } from "./nodeClient.ts";
import { type PaymentRequest, prepareNextTransfer } from "./prepareTransfer.ts";

/**
 * Codes with which a node refuses a submission before anything of it leaves the node: the REST schema and
 * decoder (400, 413, 415), the ledger's precheck (WRONG_NETWORK … UNKNOWN_DEPENDENCY, PENDING_FULL) and the
 * broadcast's refusals of an introduction (`invalid` → BAD_SIGNATURE, `full` → PENDING_FULL). SEQ_CONFLICT
 * is deliberately absent: it says *another* transfer for the seq is in flight, so the seq is not free.
 * A code not listed here (a newer node's) is treated as unknown fate: the seq stays held.
 */
const REFUSED_BEFORE_BROADCAST: ReadonlySet<string> = new Set([
  "INVALID_REQUEST",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "MALFORMED_ENCODING",
  "UNSUPPORTED_VERSION",
  "NON_CANONICAL",
  "LIMIT_EXCEEDED",
  "INVALID_FIELD",
  "INVALID_ADDRESS",
  "WRONG_NETWORK",
  "BAD_SIGNATURE",
  "UNSUPPORTED_AUTHORIZATION",
  "STALE_SEQ",
  "SEQ_TOO_FAR_AHEAD",
  "INSUFFICIENT_FUNDS",
  "INVALID_DEPENDENCY",
  "UNKNOWN_DEPENDENCY",
  "PENDING_FULL",
]);

/**
 * True when the node's answer is a verdict that it did not accept the transfer for broadcast: a 4xx with a
 * code from the list above. A timeout, a lost connection, a 5xx, a non-JSON answer or a 202 leave the
 * transfer's fate unknown — it may be on its way to every node — so the seq stays held.
 */
export function isDefinitiveRefusal(e: unknown): boolean {
  return (
    e instanceof NodeRequestError && e.status >= 400 && e.status < 500 && REFUSED_BEFORE_BROADCAST.has(e.code)
  );
}

/**
 * Signs the next transfer, records its seq through `persist` before submitting (a crash after submitting must
 * never let the wallet sign a different transfer for that seq), submits it, and — if the node definitively
 * refused it — records the previous state again, so the refused transfer does not hold the seq.
 */
export async function signAndSubmit(
  node: WalletNode,
  keystore: Keystore,
  request: PaymentRequest,
  persist: (keystore: Keystore) => Promise<void>,
): Promise<{ id: string; status: TransferStatus; keystore: Keystore }> {
  const { signed, keystore: held } = await prepareNextTransfer(node, keystore, request);
  if (held !== keystore) await persist(held);
  try {
    const submitted = await node.submit(transferToJson(signed.transfer));
    return { ...submitted, keystore: held };
  } catch (e) {
    if (held === keystore || !isDefinitiveRefusal(e)) throw e;
    await persist(keystore);
    const refusal = e as NodeRequestError;
    throw new NodeRequestError(
      refusal.status,
      refusal.code,
      `${refusal.message} (refused before broadcast: the wallet does not hold seq ${held.lastSignedSeq} for it)`,
    );
  }
}
