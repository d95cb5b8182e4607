import { AddressVersion, decodeAddress } from "../core/address.ts";
import { toHex } from "../core/bytes.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { MAX_MEMO_BYTES } from "../core/limits.ts";
import { signIntent } from "../kshared/proposalIntent.ts";
import { type Keystore, readKeystore, type Unlock } from "../wallet/keystore.ts";
import { NodeRequestError } from "../wallet/nodeClient.ts";
import { promptPassphrase } from "../wallet/passphrase.ts";
import { type Command, optionalString, type ParsedArgs, requireString, UsageError } from "./command.ts";

/** What `tally shared propose` prints: the node's answer to the proposal. */
export interface SharedProposeResult {
  readonly proposal: string;
  readonly status: string;
}

async function call<T>(url: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (e) {
    throw new NodeRequestError(0, "UNREACHABLE", `${url}: ${(e as Error).message}`);
  }
  const body = (await response.json().catch(() => ({}))) as T & { code?: string; message?: string };
  if (!response.ok)
    throw new NodeRequestError(
      response.status,
      body.code ?? "HTTP_ERROR",
      body.message ?? `HTTP ${response.status}`,
    );
  return body;
}

/** The owner's keystore, unlocked (its key signs the intent), and its public key in hex. */
async function ownerKey(path: string, unlock: Unlock): Promise<{ keystore: Keystore; key: string }> {
  const keystore = await readKeystore(path, unlock);
  const decoded = decodeAddress(keystore.address);
  if (decoded.version !== AddressVersion.Ed25519)
    throw new UsageError(`--keystore ${path} does not hold a single-key (ed25519) address`);
  return { keystore, key: toHex(decoded.key) };
}

/**
 * Proposes a payment from shared account `account` through `node`, which must host an owner of it. The
 * keystore's key must be one of the owners per the node's definition, and signs the proposal intent: the
 * node proposes only what the key of the owner it hosts signed (docs/kshared.md), so the check also stops
 * a proposal sent to the wrong account before anything is posted.
 */
export async function proposeShared(options: {
  account: string;
  to: string;
  amount: string;
  /** The transfer's memo (at most MAX_MEMO_BYTES of UTF-8); the owner's key signs it with the payment. */
  memo?: string | undefined;
  keystore: string;
  unlock: Unlock;
  node: string;
  /** When the intent is signed; the clock by default. */
  issuedAtMs?: number | undefined;
}): Promise<SharedProposeResult> {
  if (!/^[1-9][0-9]{0,38}$/.test(options.amount)) throw new UsageError("AMOUNT must be a positive integer");
  // The intent could sign a longer memo, but no transfer could carry it: refused before the keystore opens.
  if (options.memo !== undefined && Buffer.byteLength(options.memo) > MAX_MEMO_BYTES)
    throw new UsageError(`--memo is at most ${MAX_MEMO_BYTES} bytes of UTF-8`);
  const { keystore, key } = await ownerKey(options.keystore, options.unlock);
  const base = options.node.replace(/\/+$/, "");
  const account = await call<{ definition?: { owners: string[] } }>(`${base}/v1/accounts/${options.account}`);
  if (account.definition === undefined)
    throw new NodeRequestError(
      409,
      "SHARED_NOT_HOSTED",
      `${options.node} hosts no owner of ${options.account}: propose through an owner's node`,
    );
  if (!account.definition.owners.includes(key))
    throw new TallyError(
      ErrorCode.SharedNotOwner,
      `the key of ${options.keystore} (${key}) is not an owner of ${options.account} (owners: ${account.definition.owners.join(", ")})`,
    );
  return call<SharedProposeResult>(`${base}/v1/shared/${options.account}/proposals`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(signedProposalBody(keystore.secretKey, options, options.issuedAtMs ?? Date.now())),
  });
}

/** The POST body: the payment and its intent, signed by the owner's key (an empty memo is no memo). */
function signedProposalBody(
  secretKey: Uint8Array,
  payment: { account: string; to: string; amount: string; memo?: string | undefined },
  issuedAtMs: number,
): { to: string; amount: string; memo?: string; issuedAtMs: number; signature: string } {
  const { account, to, amount } = payment;
  const memo = payment.memo === "" ? undefined : payment.memo;
  const signature = signIntent(secretKey, { account, to, amount: BigInt(amount), memo, issuedAtMs });
  return { to, amount, ...(memo !== undefined ? { memo } : {}), issuedAtMs, signature };
}

export const sharedProposeCommand: Command = {
  path: ["shared", "propose"],
  summary: "propose a payment from a k-shared account through an owner's node (docs/kshared.md)",
  usage: "ACCOUNT TO AMOUNT --keystore OWNER_KEYSTORE --node URL [--memo TEXT] [--passphrase-file FILE]",
  options: {
    keystore: { type: "string" },
    "passphrase-file": { type: "string" },
    node: { type: "string" },
    memo: { type: "string" },
  },
  run: async (args: ParsedArgs) => {
    const [account, to, amount, extra] = args.positionals;
    if (account === undefined || to === undefined || amount === undefined || extra !== undefined)
      throw new UsageError("expected ACCOUNT TO AMOUNT");
    const keystore = requireString(args, "keystore");
    const node = requireString(args, "node");
    const passphraseFile = optionalString(args, "passphrase-file");
    const memo = optionalString(args, "memo");
    const unlock: Unlock =
      passphraseFile !== undefined
        ? { passphraseFile }
        : { passphrase: await promptPassphrase("Owner keystore passphrase: ") };
    return proposeShared({ account, to, amount, memo, keystore, unlock, node });
  },
  human: (r) => {
    const result = r as SharedProposeResult;
    return `proposal ${result.proposal} ${result.status}`;
  },
};
