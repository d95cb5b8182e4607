import { AddressVersion, decodeAddress } from "../core/address.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { MAX_DEPS } from "../core/limits.ts";
import type { EncodedTransfer } from "../core/transfer.ts";
import { transferFromJson } from "../core/transferJson.ts";
import { nobleVerifier } from "../crypto/ed25519Noble.ts";
import { NodeRequestError, type WalletNode } from "./nodeClient.ts";

export interface VerifiedDeps {
  /** The deps to sign, sorted, each checked below. */
  readonly deps: readonly string[];
  /** Σ over the deps of their outputs paying this address. */
  readonly total: bigint;
}

/** Dep look-ups in flight at once: enough to hide latency, few enough not to flood one's own node. */
const LOOKUP_CONCURRENCY = 8;

function untrusted(node: WalletNode, message: string): TallyError {
  return new TallyError(
    ErrorCode.WalletUntrustedDependency,
    `${message}; not signing on the word of ${node.baseUrl} (try another node)`,
  );
}

/**
 * Checks every dep a node offers for `address` before the wallet signs over it. A dep must be a transfer the
 * node reports applied whose body hashes to the dep's id (so the node cannot describe one transfer and name
 * another), carries a valid signature of its source, is for the wallet's own network, and pays `address`.
 * One dep failing refuses them all: only a node that lies (or a corrupt one) offers such a dep, and signing
 * over it would freeze the account behind a transfer no honest node can apply.
 */
export async function verifyDeps(
  node: WalletNode,
  address: string,
  network: string,
  offered: readonly string[],
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

async function lookUpApplied(node: WalletNode, id: string) {
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
  throw untrusted(node, `dep ${id} is listed as pending but ${problem}`);
}

async function verifyDep(node: WalletNode, address: string, network: string, id: string): Promise<bigint> {
  const view = await lookUpApplied(node, id);
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
  const source = decodeAddress(t.source);
  if (
    source.version !== AddressVersion.Ed25519 ||
    !nobleVerifier.verify(t.signature, encoded.body, source.key)
  ) {
    throw untrusted(node, `dep ${id} does not carry a valid signature of its source`);
  }
  const paid = t.outputs.filter((o) => o.to === address).reduce((sum, o) => sum + o.amount, 0n);
  if (paid === 0n) throw untrusted(node, `dep ${id} does not pay ${address}`);
  return paid;
}
