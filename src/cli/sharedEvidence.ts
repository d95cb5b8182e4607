import { toHex } from "../core/bytes.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { nobleVerifier } from "../crypto/ed25519Noble.ts";
import { parseOwners, sharedAccountId, sharedAddress } from "../kshared/definition.ts";
import { checkEquivocation, type EvidenceVerdict } from "../kshared/evidenceCheck.ts";
import { NodeClient, NodeRequestError } from "../wallet/nodeClient.ts";
import { type Command, type ParsedArgs, requireString, UsageError } from "./command.ts";

/** Proofs the command judges: a node keeps 256 per account, so a longer list is not an honest answer. */
const MAX_PROOFS = 256;

/** One served proof and what this machine made of it. */
export interface CheckedProof {
  readonly kind: string;
  readonly owner: number;
  readonly seq: number;
  readonly round: number;
  /** `proven`: both statements are the owner's, checked here; `nodesWord`: a proposal proof; `invalid`. */
  readonly verdict: EvidenceVerdict["verdict"];
  readonly reason?: string;
}

/** What `tally shared evidence` prints. */
export interface SharedEvidenceResult {
  readonly account: string;
  /** The definition's owner keys (hex, owner-index order), checked to hash to `account`. */
  readonly owners: readonly string[];
  /** Equivocations the node says it counted (its word; the proofs below are the checked part). */
  readonly equivocations: number;
  readonly proofs: readonly CheckedProof[];
  /** Owner index → proofs against it proven here, for the owners that have any. */
  readonly proven: Readonly<Record<string, number>>;
}

/**
 * Fetches the equivocation proofs an owner's node holds for `account` and checks each one here, trusting the
 * node for nothing: the definition it shows must hash to the account's address (so it cannot swap in other
 * keys), and a vote or timeout proof counts only if both statements carry the named owner's signature
 * (src/kshared/evidenceCheck.ts).
 */
export async function sharedEvidence(account: string, nodeUrl: string): Promise<SharedEvidenceResult> {
  const node = new NodeClient(nodeUrl);
  const { definition } = await node.account(account);
  if (definition === undefined)
    throw new NodeRequestError(
      409,
      "SHARED_NOT_HOSTED",
      `${node.baseUrl} hosts no owner of ${account}: ask an owner's node`,
    );
  const shape = { owners: parseOwners(definition.owners.join(",")), label: definition.label };
  if (sharedAddress(shape) !== account)
    throw new TallyError(
      ErrorCode.SharedDefinitionMismatch,
      `${node.baseUrl} shows a definition of ${account} that does not hash to it; not believing its evidence`,
    );
  const served = await node.sharedEvidence(account);
  const proofs: unknown[] = Array.isArray(served.proofs) ? served.proofs : [];
  if (proofs.length > MAX_PROOFS)
    throw new TallyError(
      ErrorCode.LimitExceeded,
      `${node.baseUrl} serves ${proofs.length} proofs, more than the ${MAX_PROOFS} a node keeps`,
    );
  const id = sharedAccountId(shape);
  const checked = proofs.map((proof): CheckedProof => {
    const judged = checkEquivocation(proof, id, shape.owners, nobleVerifier);
    const { kind, owner, seq, round } = (proof ?? {}) as Record<string, unknown>;
    return {
      kind: String(kind),
      owner: Number(owner),
      seq: Number(seq),
      round: Number(round),
      verdict: judged.verdict,
      ...(judged.verdict === "invalid" ? { reason: judged.reason } : {}),
    };
  });
  const proven: Record<string, number> = {};
  for (const p of checked) if (p.verdict === "proven") proven[p.owner] = (proven[p.owner] ?? 0) + 1;
  const counted = served.equivocations;
  return {
    account,
    owners: shape.owners.map(toHex),
    equivocations: Number.isSafeInteger(counted) ? (counted as number) : 0,
    proofs: checked,
    proven,
  };
}

function human(r: SharedEvidenceResult): string {
  const lines = [
    `${r.account}: ${r.equivocations} equivocations counted by the node, ${r.proofs.length} proofs served`,
  ];
  for (const [owner, count] of Object.entries(r.proven))
    lines.push(`  owner ${owner} (${r.owners[Number(owner)]}): ${count} proven here`);
  for (const p of r.proofs) {
    const what =
      p.verdict === "proven"
        ? "proven"
        : p.verdict === "nodesWord"
          ? "the node's word"
          : `INVALID: ${p.reason}`;
    lines.push(`  ${p.kind} by owner ${p.owner}, seq ${p.seq} round ${p.round}: ${what}`);
  }
  return lines.join("\n");
}

export const sharedEvidenceCommand: Command = {
  path: ["shared", "evidence"],
  summary:
    "a shared account's equivocation proofs held by an owner's node, each checked here against the definition (docs/kshared.md)",
  usage: "ACCOUNT --node URL",
  options: { node: { type: "string" } },
  run: async (args: ParsedArgs) => {
    const [account, extra] = args.positionals;
    if (account === undefined || extra !== undefined) throw new UsageError("expected ACCOUNT");
    return sharedEvidence(account, requireString(args, "node"));
  },
  human: (r) => human(r as SharedEvidenceResult),
};
