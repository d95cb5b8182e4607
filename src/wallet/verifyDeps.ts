import type { TransferView } from "../api/nodeApi.ts";
import { ErrorCode, isTallyError, TallyError } from "../core/errors.ts";
import { MAX_DEPS } from "../core/limits.ts";
import type { EncodedTransfer } from "../core/transfer.ts";
import { transferFromJson } from "../core/transferJson.ts";
import { nobleVerifier } from "../crypto/ed25519Noble.ts";
import { SignatureAuthorizer } from "../ledger/authorization.ts";
import { NodeRequestError, type WalletNode } from "./nodeClient.ts";

export interface VerifiedDeps {
  /** The deps to sign, sorted, each checked below. */
  readonly deps: readonly string[];
  /** Σ over the deps of their outputs paying this address. */
  readonly total: bigint;
}

/** Dep look-ups in flight at once: enough to hide latency, few enough not to flood one's own node. */
const LOOKUP_CONCURRENCY = 8;

/**
 * The ledger's own "may the source spend?" check, over the wallet's verifier: a dep from a single key needs
 * its signature, one from a shared account its owners' commit certificate, exactly as every node judges it.
 * It remembers up to MAX_DEPS verified deps (one listing's worth), so a wallet that sends again does not
 * verify the same incoming payments twice.
 */
const depAuthorizer = new SignatureAuthorizer(nobleVerifier, { cacheEntries: MAX_DEPS });

function untrusted(node: WalletNode, message: string): TallyError {
  return new TallyError(
    ErrorCode.WalletUntrustedDependency,
    `${message}; not signing on the word of ${node.baseUrl} (try another node)`,
  );
}

/**
 * Checks every dep a node offers for `address` before the wallet signs over it. A dep must be a transfer the
 * node reports applied whose body hashes to the dep's id (so the node cannot describe one transfer and name
 * another), is authorized by its source as the ledger requires (a single key's signature, or a shared
 * account's definition and its owners' commit certificate), is for the wallet's own network, and pays
 * `address`.
 * One dep failing refuses them all: only a node that lies (or a corrupt one) offers such a dep, and signing
 * over it would freeze the account behind a transfer no honest node can apply.
 */
export async function verifyDeps(
  node: WalletNode,
  address: string,
  network: string,
  offered: readonly string[],
  confirmers: readonly WalletNode[] = [],
): Promise<VerifiedDeps> {
  // The API lists at most MAX_DEPS; a longer list is not an honest answer (and would cost a look-up each).
  if (offered.length > MAX_DEPS) {
    throw untrusted(
      node,
      `node lists ${offered.length} pending deps, more than the ${MAX_DEPS} the API allows`,
    );
  }
  const deps = [...new Set(offered)].sort();
  const amounts: bigint[] = new Array(deps.length);
  let next = 0;
  const worker = async () => {
    while (next < deps.length) {
      const i = next++;
      amounts[i] = await verifyDep(node, address, network, deps[i]!);
      for (const confirmer of confirmers) await confirmDep(confirmer, node, deps[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LOOKUP_CONCURRENCY, deps.length) }, worker));
  return { deps, total: amounts.reduce((sum, a) => sum + a, 0n) };
}

/**
 * Look-ups of a listed dep that 404 or show it not applied yet are retried: an honest node can list a dep
 * in `pendingDeps` (its ledger applied it in memory) a moment before its body is readable from its store.
 * 6 tries over ≈ 1.5 s in all; a node that still cannot show it is not believed.
 */
const LOOKUP_TRIES = 6;
const LOOKUP_BACKOFF_MS = 100;

/** The node's view of transfer `id` once it shows it applied; otherwise what it showed instead. */
async function lookUpApplied(node: WalletNode, id: string): Promise<TransferView | string> {
  let problem = "";
  for (let attempt = 1; attempt <= LOOKUP_TRIES; attempt++) {
    try {
      const view = await node.transfer(id);
      if (view.id === id && view.status === "applied") return view;
      problem = `reported ${String(view.status)}`;
    } catch (e) {
      // An unreachable or failing node is not a lying one: that error is the user's to see as it is.
      if (!(e instanceof NodeRequestError) || e.status !== 404) throw e;
      problem = `cannot be looked up (${e.message})`;
    }
    if (attempt < LOOKUP_TRIES) await new Promise((r) => setTimeout(r, LOOKUP_BACKOFF_MS * attempt));
  }
  return problem;
}

/**
 * A second node must show the dep applied as well, with a body that hashes to its id. One node can show a
 * transfer the network never saw (its operator's own, signed and never broadcast); a second, independent
 * node that applied it means the network did.
 */
async function confirmDep(confirmer: WalletNode, node: WalletNode, id: string): Promise<void> {
  const view = await lookUpApplied(confirmer, id);
  let problem = typeof view === "string" ? view : "";
  if (typeof view !== "string") {
    try {
      if (transferFromJson(view.transfer).id === id) return;
      problem = "shows another transfer for it";
    } catch (e) {
      problem = `shows a malformed transfer (${(e as Error).message})`;
    }
  }
  throw new TallyError(
    ErrorCode.WalletUntrustedDependency,
    `dep ${id} listed by ${node.baseUrl} is not confirmed by ${confirmer.baseUrl}: it ${problem}; not signing (try another node, or wait and retry if that node lags)`,
  );
}

async function verifyDep(node: WalletNode, address: string, network: string, id: string): Promise<bigint> {
  const view = await lookUpApplied(node, id);
  if (typeof view === "string") throw untrusted(node, `dep ${id} is listed as pending but ${view}`);
  let encoded: EncodedTransfer;
  try {
    encoded = transferFromJson(view.transfer);
  } catch (e) {
    throw untrusted(node, `dep ${id} is not a well-formed transfer (${(e as Error).message})`);
  }
  if (encoded.id !== id) throw untrusted(node, `dep ${id}: the transfer shown for it has id ${encoded.id}`);
  const t = encoded.transfer;
  if (t.network !== network) {
    throw untrusted(node, `dep ${id} is a transfer of network "${t.network}", not "${network}"`);
  }
  try {
    depAuthorizer.authorize(encoded);
  } catch (e) {
    if (!isTallyError(e)) throw e;
    throw untrusted(node, `dep ${id} is not authorized by its source: ${e.message}`);
  }
  const paid = t.outputs.filter((o) => o.to === address).reduce((sum, o) => sum + o.amount, 0n);
  if (paid === 0n) throw untrusted(node, `dep ${id} does not pay ${address}`);
  return paid;
}
