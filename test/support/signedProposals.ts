/** Proposals signed as a devnet owner's key holder would: the intent signed with the owner's keystore. */
import { decodeAddress } from "../../src/core/address.ts";
import { toHex } from "../../src/core/bytes.ts";
import { signIntent } from "../../src/kshared/proposalIntent.ts";
import { type Keystore, readKeystore } from "../../src/wallet/keystore.ts";

/** An owner as devnet.json lists it (`shared[].owners[]`). */
export interface DevnetOwner {
  readonly keystore: string;
  readonly passphraseFile: string;
  readonly node: string;
}

export interface ProposalBody {
  to: string;
  amount: string;
  memo?: string;
  issuedAtMs: number;
  signature: string;
}

/** Unlocking runs scrypt: once per keystore is enough for a test run. */
const unlocked = new Map<string, Promise<Keystore>>();

function keystoreOf(owner: DevnetOwner): Promise<Keystore> {
  let keystore = unlocked.get(owner.keystore);
  if (keystore === undefined) {
    keystore = readKeystore(owner.keystore, { passphraseFile: owner.passphraseFile });
    unlocked.set(owner.keystore, keystore);
  }
  return keystore;
}

/** The owner's public key (hex): its place in the account's definition is its owner index. */
export async function ownerKeyHex(owner: DevnetOwner): Promise<string> {
  return toHex(decodeAddress((await keystoreOf(owner)).address).key);
}

/** The POST body for a payment of `amount` to `to` from shared account `account`, signed by `owner`'s key. */
export async function signedProposal(
  owner: DevnetOwner,
  account: string,
  to: string,
  amount: string,
  options: { memo?: string; issuedAtMs?: number } = {},
): Promise<ProposalBody> {
  const { secretKey } = await keystoreOf(owner);
  const issuedAtMs = options.issuedAtMs ?? Date.now();
  const memo = options.memo;
  const signature = signIntent(secretKey, { account, to, amount: BigInt(amount), memo, issuedAtMs });
  return { to, amount, ...(memo !== undefined ? { memo } : {}), issuedAtMs, signature };
}

/** POSTs `body` (any JSON, to test refusals too) to `node`'s proposals route for `account`. */
export async function postProposalBody(
  node: string,
  account: string,
  body: unknown,
): Promise<{ status: number; body: { proposal?: string; status?: string; code?: string } }> {
  const response = await fetch(`${node}/v1/shared/${account}/proposals`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { code?: string } };
}
