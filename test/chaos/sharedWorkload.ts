import { readFile } from "node:fs/promises";
import type { RandomSource } from "../../src/core/random.ts";
import type { DevnetNode } from "../../src/devnet/devnet.ts";
import type { DevnetShared } from "../../src/devnet/devnetShared.ts";
import { randomIndex } from "../../src/sampling/randomDraw.ts";
import { outgoing } from "../support/sharedLedger.ts";
import { type DevnetOwner, ownerKeyHex, signedProposal } from "../support/signedProposals.ts";
import { mapLimit, sleep } from "./cluster.ts";

/**
 * The shared account's owners: now and then one of them signs an intent (pay a random wallet 1 unit, with a
 * memo naming the intent) and posts it to the node hosting its key, which proposes it to the account's
 * committee. The owners' nodes are the nemesis's targets like any other, so the committee runs through kills,
 * pauses and partitions, and its owners restart in whatever round they had reached.
 *
 * What the checks hold it to, with each intent's memo as its name in the account's history:
 * - an intent some node acknowledged (202) is paid, on every node, once the faults are over;
 * - no intent is ever paid twice (a restart that rebuilt a decided proposal for the next seq would);
 * - an intent a node refused (4xx) is never paid;
 * - an owner's proposals all end applied or superseded (none pending, none rejected by the ledger), and each
 *   acknowledged intent's proposal, followed through its rebuilds for later seqs, ends applied;
 * - every payment is the request of the owner who signed its intent (the transfer names its requester, and
 *   the certificate's digest binds it).
 * An intent whose POST got no answer (the node was down or paused) may be paid once or not at all.
 */

export interface SharedPayerOptions {
  readonly random: RandomSource;
  /** Mean pause between two intents (uniform in [0.5, 1.5] of it). */
  readonly intervalMs: number;
  /** Whom the account pays: the bank's wallets. */
  readonly payees: readonly string[];
}

export type IntentOutcome = "acknowledged" | "refused" | "unanswered";

export interface SharedIntent {
  /** The intent's memo, unique in the run: its name in the account's history. */
  readonly memo: string;
  readonly owner: number;
  readonly outcome: IntentOutcome;
  /** The refusal's code and HTTP status, for `refused`. */
  readonly refusal?: string;
  /** The proposal id the owner's node answered, for `acknowledged`. */
  readonly proposal?: string;
}

export interface SharedStats {
  intents: number;
  acknowledged: number;
  refused: number;
  unanswered: number;
  /** Refusals by code, e.g. `SHARED_STALE_INTENT`: what the owners' nodes said while faults were on. */
  readonly refusals: Record<string, number>;
}

/** How long a POST may take before the intent counts as unanswered (the node paused, or stuck in a restart). */
const POST_TIMEOUT_MS = 3_000;

export class SharedPayer {
  readonly stats: SharedStats = { intents: 0, acknowledged: 0, refused: 0, unanswered: 0, refusals: {} };
  readonly intents: SharedIntent[] = [];
  readonly shared: DevnetShared;
  private readonly options: SharedPayerOptions;
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(shared: DevnetShared, options: SharedPayerOptions) {
    this.shared = shared;
    this.options = options;
  }

  get address(): string {
    return this.shared.address;
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const owner = randomIndex(this.options.random, this.shared.owners.length);
        await this.propose(owner);
        await sleep(this.options.intervalMs * (0.5 + this.options.random()));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Signs and posts one intent as owner `owner` (an index into the definition's hosted owners). */
  async propose(owner: number): Promise<SharedIntent> {
    const memo = `chaos intent ${this.stats.intents}`;
    this.stats.intents++;
    const payee = this.options.payees[randomIndex(this.options.random, this.options.payees.length)]!;
    const host: DevnetOwner = this.shared.owners[owner]!;
    const body = await signedProposal(host, this.shared.address, payee, "1", { memo });
    const answer = await fetch(`${host.node}/v1/shared/${this.shared.address}/proposals`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(POST_TIMEOUT_MS),
    }).then(
      async (r) => {
        const body = (await r.json().catch(() => ({}))) as { code?: string; proposal?: string };
        return { status: r.status, code: body.code, proposal: body.proposal };
      },
      () => undefined,
    );
    let intent: SharedIntent;
    if (answer === undefined || answer.status >= 500) {
      // No answer, or one that does not say whether the proposal was taken: either way it may be paid.
      intent = { memo, owner, outcome: "unanswered" };
      this.stats.unanswered++;
    } else if (answer.status === 202) {
      intent = {
        memo,
        owner,
        outcome: "acknowledged",
        ...(answer.proposal ? { proposal: answer.proposal } : {}),
      };
      this.stats.acknowledged++;
    } else {
      const refusal = `${answer.status} ${answer.code ?? "?"}`;
      intent = { memo, owner, outcome: "refused", refusal };
      this.stats.refused++;
      this.stats.refusals[refusal] = (this.stats.refusals[refusal] ?? 0) + 1;
    }
    this.intents.push(intent);
    return intent;
  }
}

/** Applied payments of the shared account on one node, by memo: each payment's requester (one per payment). */
async function paidByMemo(node: DevnetNode, address: string): Promise<Map<string, (number | undefined)[]>> {
  const paid = new Map<string, (number | undefined)[]>();
  for (const t of await outgoing(node.api, address)) {
    if (t.status !== "applied" || t.memo === undefined) continue;
    paid.set(t.memo, [...(paid.get(t.memo) ?? []), t.requester]);
  }
  return paid;
}

/** Each hosted owner's index in the account's definition (`payer.shared.owners` is in hosting order). */
async function definitionIndices(payer: SharedPayer): Promise<number[]> {
  const { owners } = JSON.parse(await readFile(payer.shared.definition, "utf8")) as { owners: string[] };
  return Promise.all(payer.shared.owners.map(async (owner) => owners.indexOf(await ownerKeyHex(owner))));
}

/**
 * Waits until every acknowledged intent is paid on every node; returns how long that took, or undefined if it
 * did not happen within `timeoutMs` (the checks then say which are missing).
 */
export async function waitForSharedPayments(
  nodes: readonly DevnetNode[],
  payer: SharedPayer,
  timeoutMs: number,
): Promise<number | undefined> {
  const start = Date.now();
  const acknowledged = payer.intents.filter((i) => i.outcome === "acknowledged").map((i) => i.memo);
  while (Date.now() - start < timeoutMs) {
    const paid = await mapLimit(nodes, 4, (n) => paidByMemo(n, payer.address).catch(() => undefined));
    if (paid.every((p) => p !== undefined && acknowledged.every((memo) => p.has(memo))))
      return Date.now() - start;
    await sleep(500);
  }
  return undefined;
}

export interface SharedCheck {
  readonly violations: string[];
  /** Intents paid (on the first node). */
  readonly paid: number;
  /** Owners' proposals listed at the end, by status, summed over the owners' nodes. */
  readonly proposals: Record<string, number>;
}

interface ListedProposal {
  readonly id: string;
  readonly status: string;
  readonly supersededBy?: string;
}

/** A proposal's last rebuild in an owner's list (undefined if the chain leaves the list). */
function lastRebuild(byId: ReadonlyMap<string, ListedProposal>, id: string): ListedProposal | undefined {
  let at = byId.get(id);
  for (let hops = 0; at?.status === "superseded" && at.supersededBy !== undefined && hops < 10_000; hops++)
    at = byId.get(at.supersededBy);
  return at;
}

/** The end-of-run checks of the shared account (every node must answer). */
export async function checkShared(nodes: readonly DevnetNode[], payer: SharedPayer): Promise<SharedCheck> {
  const violations: string[] = [];
  const address = payer.address;
  const known = new Map(payer.intents.map((i) => [i.memo, i]));
  const perNode = await Promise.all(nodes.map((n) => paidByMemo(n, address)));
  const indices = await definitionIndices(payer);
  for (const [k, paid] of perNode.entries()) {
    const node = nodes[k]!.name;
    for (const [memo, requesters] of paid) {
      const intent = known.get(memo);
      if (intent === undefined)
        violations.push(`${node}: the shared account paid "${memo}", which nobody signed`);
      else if (requesters.length > 1)
        violations.push(`${node}: intent "${memo}" paid ${requesters.length} times`);
      else if (intent.outcome === "refused")
        violations.push(`${node}: intent "${memo}" was refused (${intent.refusal}) and paid anyway`);
      else if (requesters[0] !== indices[intent.owner])
        violations.push(
          `${node}: intent "${memo}", signed by owner ${indices[intent.owner]}, paid as owner ${requesters[0]}'s request`,
        );
    }
    for (const intent of payer.intents) {
      if (intent.outcome === "acknowledged" && !paid.has(intent.memo))
        violations.push(
          `${node}: intent "${intent.memo}" (owner ${intent.owner}) was acknowledged and never paid`,
        );
    }
  }
  const proposals: Record<string, number> = {};
  for (const [owner, { node: host }] of payer.shared.owners.entries()) {
    const answer = await fetch(`${host}/v1/shared/${address}/proposals`, {
      signal: AbortSignal.timeout(5_000),
    });
    const { proposals: listed } = (await answer.json()) as { proposals: ListedProposal[] };
    for (const p of listed) {
      proposals[p.status] = (proposals[p.status] ?? 0) + 1;
      if (p.status !== "applied" && p.status !== "superseded")
        violations.push(`${host}: proposal ${p.id} is ${p.status} after the faults healed`);
    }
    // Each acknowledged intent's proposal, followed through its rebuilds, ends applied in its owner's list.
    const byId = new Map(listed.map((p) => [p.id, p]));
    for (const intent of payer.intents) {
      if (intent.owner !== owner || intent.proposal === undefined) continue;
      const end = lastRebuild(byId, intent.proposal);
      if (end?.status !== "applied")
        violations.push(
          `${host}: intent "${intent.memo}" (proposal ${intent.proposal}) ends ${end === undefined ? "unlisted" : `${end.status} as ${end.id}`}`,
        );
    }
  }
  return { violations, paid: perNode[0]?.size ?? 0, proposals };
}
