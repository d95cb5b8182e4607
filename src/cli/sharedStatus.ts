import type { ProposalView } from "../api/nodeApi.ts";
import { NodeClient, NodeRequestError } from "../wallet/nodeClient.ts";
import { type Command, type ParsedArgs, requireString, UsageError } from "./command.ts";

/** What `tally shared status` prints. */
export interface SharedStatusResult {
  readonly address: string;
  readonly balance: string;
  readonly nextSeq: number;
  /** The owners' keys and label, when the node knows them. */
  readonly definition: { readonly owners: readonly string[]; readonly label: string } | null;
  /** The proposals of the owner this node hosts, newest first; null when it hosts none of the account's. */
  readonly proposals: readonly ProposalView[] | null;
}

/** A shared account as one node sees it: balance and next seq, definition, and its hosted owner's proposals. */
export async function sharedStatus(address: string, nodeUrl: string): Promise<SharedStatusResult> {
  const node = new NodeClient(nodeUrl);
  const account = await node.account(address);
  let proposals: ProposalView[] | null = null;
  try {
    proposals = (await node.sharedProposals(address)).proposals;
  } catch (e) {
    // Any node can show the account; only an owner's node has proposals.
    if (!(e instanceof NodeRequestError && e.code === "SHARED_NOT_HOSTED")) throw e;
  }
  const { balance, nextSeq, definition } = account;
  return { address, balance, nextSeq, definition: definition ?? null, proposals };
}

function human(r: SharedStatusResult): string {
  const lines = [`${r.address}: balance ${r.balance}, next seq ${r.nextSeq}`];
  const d = r.definition;
  lines.push(
    d === null
      ? "  definition: unknown to this node (it hosts no owner and has resolved no transfer of the account)"
      : `  ${d.owners.length} owners, label ${JSON.stringify(d.label)}`,
  );
  if (r.proposals === null) lines.push("  proposals: this node hosts no owner of the account");
  else {
    lines.push(`  proposals of this node's owner (${r.proposals.length}, newest first):`);
    for (const p of r.proposals) {
      const transfer = p.transferId === undefined ? "" : `, transfer ${p.transferId}`;
      lines.push(`    seq ${p.seq} ${p.status}: ${p.amount} to ${p.to} (proposal ${p.id}${transfer})`);
    }
  }
  return lines.join("\n");
}

export const sharedStatusCommand: Command = {
  path: ["shared", "status"],
  summary: "a shared account as a node sees it: balance, next seq, owners, and its hosted owner's proposals",
  usage: "ACCOUNT --node URL",
  options: { node: { type: "string" } },
  run: async (args: ParsedArgs) => {
    const [account, extra] = args.positionals;
    if (account === undefined || extra !== undefined) throw new UsageError("expected ACCOUNT");
    return sharedStatus(account, requireString(args, "node"));
  },
  human: (r) => human(r as SharedStatusResult),
};
