/**
 * Checks an equivocation proof as served by a node (evidenceJson.ts) against the account's definition, without
 * trusting that node: a vote or timeout proof is proven when both statements differ and both signatures are the
 * named owner's; a proposal proof cannot be (a proposal carries no signature of its leader), so it stays the
 * serving node's word; anything else the node served is invalid.
 */

import { fromHex } from "../core/bytes.ts";
import { isTallyError } from "../core/errors.ts";
import type { SignatureVerifier } from "../crypto/signatureVerifier.ts";
import { MAX_ROUND, timeoutSigningBytes, voteSigningBytes } from "./certificate.ts";
import type { EquivocationJson } from "./evidenceJson.ts";

export type EvidenceVerdict =
  | { readonly verdict: "proven" }
  | { readonly verdict: "nodesWord" }
  | { readonly verdict: "invalid"; readonly reason: string };

/**
 * `proof` is whatever the node served (checked for shape here), `account` the shared-account id, `owners`
 * the definition's keys in owner-index order.
 */
export function checkEquivocation(
  proof: unknown,
  account: Uint8Array,
  owners: readonly Uint8Array[],
  verifier: SignatureVerifier,
): EvidenceVerdict {
  if (!wellFormed(proof)) return invalid("not a well-formed proof");
  try {
    return judge(proof, account, owners, verifier);
  } catch (e) {
    // Malformed hex or a bad length in what the node served.
    if (isTallyError(e)) return invalid(e.message);
    throw e;
  }
}

function judge(
  proof: EquivocationJson,
  account: Uint8Array,
  owners: readonly Uint8Array[],
  verifier: SignatureVerifier,
): EvidenceVerdict {
  const key = owners[proof.owner];
  if (key === undefined || fromHex(proof.ownerKey, 32, "ownerKey").some((b, i) => b !== key[i]))
    return invalid(`owner ${proof.owner} of this account does not have key ${proof.ownerKey}`);
  if (proof.kind === "proposal") return { verdict: "nodesWord" };
  const messages =
    proof.kind === "vote"
      ? proof.digests.map((d) =>
          voteSigningBytes(account, proof.phase, proof.seq, proof.round, fromHex(d, 32, "digest")),
        )
      : proof.highPrepareRounds.map((h) => timeoutSigningBytes(account, proof.seq, proof.round, h));
  const [a, b] = proof.kind === "vote" ? proof.digests : proof.highPrepareRounds;
  if (a === b) return invalid("the two statements are the same: no contradiction");
  for (const [i, message] of messages.entries()) {
    const signature = fromHex(proof.signatures[i] ?? "", 64, "signature");
    if (!verifier.verify(signature, message, key))
      return invalid(`statement ${i + 1} is not signed by owner ${proof.owner}`);
  }
  return { verdict: "proven" };
}

const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isRound = (x: unknown): x is number => isCount(x) && x <= MAX_ROUND;
const isPair = (x: unknown, item: (y: unknown) => boolean) =>
  Array.isArray(x) && x.length === 2 && x.every(item);
const isString = (x: unknown) => typeof x === "string";

function wellFormed(p: unknown): p is EquivocationJson {
  if (typeof p !== "object" || p === null) return false;
  const r = p as Record<string, unknown>;
  if (!isCount(r.owner) || !isString(r.ownerKey) || !isCount(r.seq) || !isRound(r.round)) return false;
  if (!isPair(r.signatures, isString)) return false;
  switch (r.kind) {
    case "vote":
      return (r.phase === "prepare" || r.phase === "commit") && isPair(r.digests, isString);
    case "timeout":
      return isPair(r.highPrepareRounds, (h) => h === null || isRound(h));
    case "proposal":
      return isPair(r.digests, isString) && isPair(r.requesters, isCount);
    default:
      return false;
  }
}

function invalid(reason: string): EvidenceVerdict {
  return { verdict: "invalid", reason };
}
