import { ErrorCode, TallyError } from "../core/errors.ts";
import type { EncodedTransfer } from "../core/transfer.ts";
import type { Keystore } from "./keystore.ts";
import { type NodeClient, NodeRequestError } from "./nodeClient.ts";
import { buildSignedTransfer } from "./signTransfer.ts";

export interface PaymentRequest {
  readonly outputs: readonly { readonly to: string; readonly amount: bigint }[];
  readonly memo?: string | undefined;
  /** Sign exactly this seq, bypassing the wallet's guard (testers crafting double spends). */
  readonly explicitSeq?: number | undefined;
  /** How long to wait for a lagging node to apply this wallet's previous transfer. */
  readonly catchUpTimeoutMs?: number;
}

/**
 * Signs the wallet's next transfer against what `client`'s node reports: its next seq and its
 * unreferenced incoming transfers as deps. Returns the signed transfer and the keystore state to
 * persist *before* submitting. If the node has not applied the wallet's previous transfer yet (it
 * may lag the node that transfer went to), this waits for it rather than signing a second transfer
 * for the same seq — which would be a double spend.
 */
export async function prepareNextTransfer(
  client: NodeClient,
  keystore: Keystore,
  request: PaymentRequest,
): Promise<{ signed: EncodedTransfer; keystore: Keystore }> {
  const [info, account] = await Promise.all([client.info(), accountAfterPrevious(client, keystore, request)]);
  const seq = request.explicitSeq ?? account.nextSeq;
  const signed = buildSignedTransfer(keystore, {
    network: info.network,
    seq,
    outputs: request.outputs,
    deps: account.pendingDeps,
    memo: request.memo,
  });
  const next =
    seq > keystore.lastSignedSeq ? { ...keystore, lastSignedSeq: seq, lastSignedId: signed.id } : keystore;
  return { signed, keystore: next };
}

async function accountAfterPrevious(client: NodeClient, keystore: Keystore, request: PaymentRequest) {
  const account = await client.account(keystore.address);
  if (request.explicitSeq !== undefined || account.nextSeq > keystore.lastSignedSeq) return account;
  const previous = keystore.lastSignedId;
  const timeoutMs = request.catchUpTimeoutMs ?? 30_000;
  try {
    if (previous === undefined) throw new NodeRequestError(404, "NOT_FOUND", "no id recorded");
    await client.waitForResolution(previous, timeoutMs);
  } catch (e) {
    if (!(e instanceof NodeRequestError)) throw e;
    throw new TallyError(
      ErrorCode.SeqConflict,
      `this wallet's transfer with seq ${keystore.lastSignedSeq} (${previous ?? "unknown id"}) is not applied at ${client.baseUrl} (${e.message}); wait for it, or pass --seq to override`,
    );
  }
  const caughtUp = await client.account(keystore.address);
  if (caughtUp.nextSeq > keystore.lastSignedSeq) return caughtUp;
  throw new TallyError(
    ErrorCode.SeqConflict,
    `the node still reports seq ${caughtUp.nextSeq} as next; refusing to sign it twice`,
  );
}
