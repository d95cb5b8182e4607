import { ErrorCode, TallyError } from "../core/errors.ts";
import type { EncodedTransfer } from "../core/transfer.ts";
import type { Keystore } from "./keystore.ts";
import type { AccountJson, WalletNode } from "./nodeClient.ts";
import { buildSignedTransfer } from "./signTransfer.ts";
import { verifyDeps } from "./verifyDeps.ts";

export interface PaymentRequest {
  readonly outputs: readonly { readonly to: string; readonly amount: bigint }[];
  readonly memo?: string | undefined;
  /** Sign exactly this seq, bypassing the wallet's guard (testers crafting double spends). */
  readonly explicitSeq?: number | undefined;
  /** How long to wait for a lagging node to resolve this wallet's previous transfer. */
  readonly catchUpTimeoutMs?: number;
  /**
   * Other nodes that must show every dep applied too (`--confirm-node`): what one node reports applied can be
   * a transfer the network never saw, a second node's word makes that a collusion of two.
   */
  readonly confirmNodes?: readonly WalletNode[] | undefined;
}

/** How often a lagging node is asked again whether it resolved the wallet's previous transfer. */
const CATCH_UP_POLL_MS = 20;

/**
 * Signs the wallet's next transfer. From its node it takes only what it cannot know itself — the next seq,
 * the pending deps and the balance — and checks them first: the node must be on the network the keystore
 * pins, every dep must verify (verifyDeps.ts), and the outputs must fit the balance. Returns the signed
 * transfer and the keystore state to persist *before* submitting. If the node has not resolved the wallet's
 * previous transfer yet (it may lag the node that transfer went to), this waits for it rather than signing a
 * second transfer for the same seq — which would be a double spend.
 */
export async function prepareNextTransfer(
  node: WalletNode,
  keystore: Keystore,
  request: PaymentRequest,
): Promise<{ signed: EncodedTransfer; keystore: Keystore }> {
  const network = keystore.network;
  if (network === undefined) {
    throw new TallyError(ErrorCode.WalletNetworkMismatch, "this keystore pins no network; refusing to sign");
  }
  const confirmers = request.confirmNodes ?? [];
  const asked = [node, ...confirmers];
  const [account, infos] = await Promise.all([
    accountAfterPrevious(node, keystore, request),
    Promise.all(asked.map((n) => n.info())),
  ]);
  for (const [i, info] of infos.entries()) {
    if (info.network === network) continue;
    throw new TallyError(
      ErrorCode.WalletNetworkMismatch,
      `${asked[i]!.baseUrl} is on network "${info.network}" but this wallet signs only for "${network}"`,
    );
  }
  const { deps, total: depsTotal } = await verifyDeps(
    node,
    keystore.address,
    network,
    account.pendingDeps,
    confirmers,
  );
  checkFunds(node, account, depsTotal, request);
  const seq = request.explicitSeq ?? account.nextSeq;
  const signed = buildSignedTransfer(keystore, {
    network,
    seq,
    outputs: request.outputs,
    deps,
    memo: request.memo,
  });
  const next =
    seq > keystore.lastSignedSeq ? { ...keystore, lastSignedSeq: seq, lastSignedId: signed.id } : keystore;
  return { signed, keystore: next };
}

/**
 * The node's balance is spendable + Σ unreferenced incoming; the deps are those unreferenced transfers, each
 * verified, so a balance below their sum is a lie. The spendable part (money the wallet already took in) is
 * the node's word: see docs/wallet.md for what a node that inflates it can achieve (a rejected transfer).
 */
function checkFunds(
  node: WalletNode,
  account: AccountJson,
  depsTotal: bigint,
  request: PaymentRequest,
): void {
  const balance = /^(?:0|[1-9][0-9]{0,38})$/.test(account.balance) ? BigInt(account.balance) : undefined;
  if (balance === undefined || balance < depsTotal) {
    throw new TallyError(
      ErrorCode.WalletUntrustedDependency,
      `${node.baseUrl} reports balance ${account.balance}, below its own pending deps (${depsTotal}); not signing on its word`,
    );
  }
  const spending = request.outputs.reduce((sum, o) => sum + o.amount, 0n);
  if (spending > balance) {
    throw new TallyError(
      ErrorCode.InsufficientFunds,
      `the outputs total ${spending} but the balance is ${balance} (${depsTotal} of it in verified incoming transfers); nothing was signed`,
    );
  }
}

async function accountAfterPrevious(node: WalletNode, keystore: Keystore, request: PaymentRequest) {
  const account = await node.account(keystore.address);
  if (request.explicitSeq !== undefined || account.nextSeq > keystore.lastSignedSeq) return account;
  // Applied or rejected, the previous transfer consumes its seq: wait until the node's next seq passes it.
  const deadline = Date.now() + (request.catchUpTimeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, CATCH_UP_POLL_MS));
    const caughtUp = await node.account(keystore.address);
    if (caughtUp.nextSeq > keystore.lastSignedSeq) return caughtUp;
  }
  throw new TallyError(
    ErrorCode.SeqConflict,
    `this wallet's transfer with seq ${keystore.lastSignedSeq} (${keystore.lastSignedId ?? "unknown id"}) is not resolved at ${node.baseUrl}; wait for it, or pass --seq to override`,
  );
}
