/** Reading a shared account's outgoing history off devnet nodes' REST APIs (every page). */
import { type DevnetOwner, signedProposal } from "./signedProposals.ts";

export interface OutgoingTransfer {
  readonly id: string;
  readonly status: string;
  readonly seq: number;
  readonly amount: string;
  readonly memo: string | undefined;
  /** The owner (index in the definition) whose request was decided, from the transfer's authorization. */
  readonly requester: number | undefined;
}

interface HistoryPage {
  next?: string;
  transfers: {
    id: string;
    status: string;
    direction: string;
    transfer: {
      seq: number;
      memo?: string;
      outputs: { amount: string }[];
      authorization?: { requester: number };
    };
  }[];
}

export async function getJson<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as T };
}

/** A payment proposed through `owner`'s node, the intent signed with that owner's keystore. */
export async function postProposal(owner: DevnetOwner, address: string, to: string, amount: string) {
  const body = await signedProposal(owner, address, to, amount);
  return getJson<{ proposal: string; status: string }>(`${owner.node}/v1/shared/${address}/proposals`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** Every outgoing transfer of `address` a node knows, all pages. */
export async function outgoing(api: string, address: string): Promise<OutgoingTransfer[]> {
  const out: OutgoingTransfer[] = [];
  let before: string | undefined;
  for (let page = 0; page < 1_000; page++) {
    const query = `limit=100${before !== undefined ? `&before=${encodeURIComponent(before)}` : ""}`;
    const { body } = await getJson<HistoryPage>(`${api}/v1/accounts/${address}/transfers?${query}`);
    for (const t of body.transfers) {
      if (t.direction !== "out") continue;
      const { seq, memo, outputs, authorization } = t.transfer;
      const requester = authorization?.requester;
      out.push({ id: t.id, status: t.status, seq, amount: outputs[0]?.amount ?? "", memo, requester });
    }
    if (body.next === undefined) return out;
    before = body.next;
  }
  throw new Error("history did not end in 1,000 pages");
}

/**
 * Applied transfers per seq across nodes. Throws if any node applied two different transfers for one seq,
 * or two nodes applied different transfers for one seq: the ledger's one-transfer-per-seq property.
 */
export function appliedBySeq(histories: readonly OutgoingTransfer[][]): Map<number, OutgoingTransfer> {
  const bySeq = new Map<number, OutgoingTransfer>();
  for (const [node, history] of histories.entries()) {
    const own = new Map<number, string>();
    for (const t of history) {
      if (t.status !== "applied") continue;
      const mine = own.get(t.seq);
      if (mine !== undefined && mine !== t.id)
        throw new Error(`node ${node} applied two transfers for seq ${t.seq}: ${mine}, ${t.id}`);
      own.set(t.seq, t.id);
      const seen = bySeq.get(t.seq);
      if (seen !== undefined && seen.id !== t.id)
        throw new Error(`seq ${t.seq}: ${seen.id} on one node, ${t.id} on node ${node}`);
      bySeq.set(t.seq, t);
    }
  }
  return bySeq;
}

export async function waitFor(what: string, limitMs: number, done: () => Promise<boolean>): Promise<number> {
  const began = Date.now();
  while (!(await done())) {
    if (Date.now() - began > limitMs) throw new Error(`${what}: not after ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return Date.now() - began;
}
