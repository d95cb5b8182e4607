import { AddressVersion, decodeAddress } from "../core/address.ts";
import { toHex } from "../core/bytes.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { readKeystore, readKeystoreInfo } from "../wallet/keystore.ts";
import { NodeRequestError } from "../wallet/nodeClient.ts";
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

/** The owner's public key, from the keystore's address; with a passphrase file, the keystore must also open. */
async function ownerKey(keystore: string, passphraseFile: string | undefined): Promise<string> {
  const info = await readKeystoreInfo(keystore);
  if (passphraseFile !== undefined) await readKeystore(keystore, { passphraseFile });
  const decoded = decodeAddress(info.address);
  if (decoded.version !== AddressVersion.Ed25519)
    throw new UsageError(`--keystore ${keystore} does not hold a single-key (ed25519) address`);
  return toHex(decoded.key);
}

/**
 * Proposes a payment from shared account `account` through `node`, which must host an owner of it. The
 * keystore's key must be one of the owners per the node's definition: the node proposes as the owner it
 * hosts (its own key signs the committee request), so the check stops a proposal sent to the wrong account.
 */
export async function proposeShared(options: {
  account: string;
  to: string;
  amount: string;
  keystore: string;
  passphraseFile?: string | undefined;
  node: string;
}): Promise<SharedProposeResult> {
  if (!/^[1-9][0-9]{0,38}$/.test(options.amount)) throw new UsageError("AMOUNT must be a positive integer");
  const key = await ownerKey(options.keystore, options.passphraseFile);
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
    body: JSON.stringify({ to: options.to, amount: options.amount }),
  });
}

export const sharedProposeCommand: Command = {
  path: ["shared", "propose"],
  summary: "propose a payment from a k-shared account through an owner's node (docs/kshared.md)",
  usage: "ACCOUNT TO AMOUNT --keystore OWNER_KEYSTORE [--passphrase-file FILE] --node URL",
  options: { keystore: { type: "string" }, "passphrase-file": { type: "string" }, node: { type: "string" } },
  run: async (args: ParsedArgs) => {
    const [account, to, amount, extra] = args.positionals;
    if (account === undefined || to === undefined || amount === undefined || extra !== undefined)
      throw new UsageError("expected ACCOUNT TO AMOUNT");
    return proposeShared({
      account,
      to,
      amount,
      keystore: requireString(args, "keystore"),
      passphraseFile: optionalString(args, "passphrase-file"),
      node: requireString(args, "node"),
    });
  },
  human: (r) => {
    const result = r as SharedProposeResult;
    return `proposal ${result.proposal} ${result.status}`;
  },
};
