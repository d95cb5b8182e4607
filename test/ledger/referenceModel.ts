import { type EncodedTransfer, transferTotal } from "../../src/core/transfer.ts";

export interface ModelResult {
  readonly status: ReadonlyMap<string, "applied" | "rejected">;
  readonly balances: ReadonlyMap<string, bigint>;
}

/**
 * Algorithm 5 written as plainly as possible, to check the indexed ledger against: sweep the
 * delivered set (one transfer per slot, as secure broadcast guarantees) until nothing changes.
 * Balances are recomputed from scratch from the applied set, as the thesis defines them.
 */
export function runReferenceModel(
  balances: ReadonlyMap<string, bigint>,
  delivered: readonly EncodedTransfer[],
): ModelResult {
  const seq = new Map<string, number>();
  const status = new Map<string, "applied" | "rejected">();
  const referenced = new Set<string>(); // "account:id" pairs already consumed as deps
  const byId = new Map(delivered.map((e) => [e.id, e]));
  const pays = (id: string, account: string) =>
    byId.get(id)!.transfer.outputs.find((o) => o.to === account)?.amount;

  let progress = true;
  while (progress) {
    progress = false;
    for (const e of delivered) {
      const t = e.transfer;
      if (status.has(e.id) || t.seq !== (seq.get(t.source) ?? 0) + 1) continue;
      let verdict: "apply" | "reject" | "wait" = "apply";
      let depSum = 0n;
      for (const dep of t.deps) {
        const depStatus = status.get(dep);
        if (depStatus === undefined) {
          verdict = verdict === "reject" ? "reject" : "wait";
          continue;
        }
        const amount = depStatus === "applied" ? pays(dep, t.source) : undefined;
        if (amount === undefined || referenced.has(`${t.source}:${dep}`)) verdict = "reject";
        else depSum += amount;
      }
      if (verdict === "wait") continue;
      if (verdict === "apply") {
        const spendable = spendableOf(t.source);
        if (spendable + depSum < transferTotal(t)) verdict = "reject";
      }
      if (verdict === "apply") for (const dep of t.deps) referenced.add(`${t.source}:${dep}`);
      status.set(e.id, verdict === "apply" ? "applied" : "rejected");
      seq.set(t.source, t.seq);
      progress = true;
    }
  }

  // spendable = initial + referenced incoming − outgoing
  function spendableOf(account: string): bigint {
    let sum = balances.get(account) ?? 0n;
    for (const e of delivered) {
      if (status.get(e.id) !== "applied") continue;
      if (e.transfer.source === account) sum -= transferTotal(e.transfer);
      if (referenced.has(`${account}:${e.id}`)) sum += pays(e.id, account)!;
    }
    return sum;
  }

  const finalBalances = new Map(balances);
  for (const e of delivered) {
    if (status.get(e.id) !== "applied") continue;
    const t = e.transfer;
    finalBalances.set(t.source, (finalBalances.get(t.source) ?? 0n) - transferTotal(t));
    for (const o of t.outputs) finalBalances.set(o.to, (finalBalances.get(o.to) ?? 0n) + o.amount);
  }
  return { status, balances: finalBalances };
}
