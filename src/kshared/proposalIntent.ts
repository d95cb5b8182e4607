import { AddressVersion, decodeAddress } from "../core/address.ts";
import { fromHex, toHex } from "../core/bytes.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { sign } from "../crypto/ed25519Noble.ts";
import { ED25519_SIGNATURE_BYTES, type SignatureVerifier } from "../crypto/signatureVerifier.ts";

/**
 * A proposal intent: an owner's key holder asks the node hosting that owner to propose a payment from the
 * shared account. Signed client-side, so reaching the node's API is not enough to spend.
 */
export interface ProposalIntent {
  /** The shared account's address. */
  readonly account: string;
  readonly to: string;
  readonly amount: bigint;
  readonly memo?: string | undefined;
  /** When the key holder signed it (ms since the epoch): the node's replay window is built on it. */
  readonly issuedAtMs: number;
}

/** Domain separation: these bytes can never be mistaken for a transfer, a vote or a node record. */
export const INTENT_DOMAIN = "tally/kshared/intent/v1\0";
/** The memo's length is one byte. */
export const MAX_INTENT_MEMO_BYTES = 255;

const encoder = new TextEncoder();
const U128_LIMIT = 1n << 128n;

/**
 * domain ‖ account id (32) ‖ to (33-byte binary address) ‖ amount u128 BE ‖ memo length u8 ‖ memo UTF-8 ‖
 * issuedAtMs u64 BE. Throws TallyError on a value that has no encoding (the request is then refused).
 */
export function intentSigningBytes(intent: ProposalIntent): Uint8Array {
  const account = decodeAddress(intent.account);
  if (account.version !== AddressVersion.SharedAccount)
    throw new TallyError(ErrorCode.InvalidAddress, `${intent.account} is not a shared account's address`);
  const to = decodeAddress(intent.to).bytes;
  if (intent.amount < 0n || intent.amount >= U128_LIMIT)
    throw new TallyError(ErrorCode.InvalidField, "amount must fit in 128 bits");
  const memo = encoder.encode(intent.memo ?? "");
  if (memo.length > MAX_INTENT_MEMO_BYTES)
    throw new TallyError(ErrorCode.LimitExceeded, `memo: at most ${MAX_INTENT_MEMO_BYTES} UTF-8 bytes`);
  if (!Number.isSafeInteger(intent.issuedAtMs) || intent.issuedAtMs < 0)
    throw new TallyError(ErrorCode.InvalidField, "issuedAtMs must be a non-negative integer");
  const domain = encoder.encode(INTENT_DOMAIN);
  const out = new Uint8Array(domain.length + 32 + to.length + 16 + 1 + memo.length + 8);
  const view = new DataView(out.buffer);
  let at = 0;
  out.set(domain, at);
  at += domain.length;
  out.set(account.key, at);
  at += 32;
  out.set(to, at);
  at += to.length;
  view.setBigUint64(at, intent.amount >> 64n);
  view.setBigUint64(at + 8, intent.amount & 0xffff_ffff_ffff_ffffn);
  at += 16;
  out[at++] = memo.length;
  out.set(memo, at);
  at += memo.length;
  view.setBigUint64(at, BigInt(intent.issuedAtMs));
  return out;
}

/** The wallet's side: the intent's signature by `secretKey` (32-byte ed25519 seed), as 128 lowercase hex. */
export function signIntent(secretKey: Uint8Array, intent: ProposalIntent): string {
  return toHex(sign(intentSigningBytes(intent), secretKey));
}

/** The node's side: true iff `signatureHex` signs `intent` under `publicKey`. Never throws. */
export function intentSignatureValid(
  verifier: SignatureVerifier,
  publicKey: Uint8Array,
  intent: ProposalIntent,
  signatureHex: string,
): boolean {
  try {
    const signature = fromHex(signatureHex, ED25519_SIGNATURE_BYTES, "signature");
    return verifier.verify(signature, intentSigningBytes(intent), publicKey);
  } catch {
    return false;
  }
}
