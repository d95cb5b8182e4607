/**
 * Proposals survive their node's crash: on a 6-node static devnet with a 4-owner shared account, owner node 1
 * takes proposals, is killed with SIGKILL while they are being decided, and is restarted with its argv. Every
 * proposal it accepted (202) before the kill is applied exactly once — the same transfer per seq on all six
 * nodes — and its proposal list still shows them after the restart.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { startDevnet, waitForHealth } from "../support/devnetProcess.ts";
import { appliedBySeq, getJson, outgoing, postProposal, waitFor } from "../support/sharedLedger.ts";

interface ProposalEntry {
  id: string;
  status: string;
  amount: string;
  supersededBy?: string;
}

test("proposals accepted by an owner node before SIGKILL are each applied once after its restart", async (t) => {
  const devnet = await startDevnet(["--nodes", "6", "--shared", "4", "--membership", "static"]);
  try {
    const shared = devnet.file.shared![0]!;
    const victim = devnet.file.nodes.find((n) => n.api === shared.owners[0]!.node)!;
    const to = devnet.file.wallets[0]!.address;
    const count = 20;
    const accepted: string[] = [];
    // Fire them all without waiting for decisions, then kill mid-way through the committee's work.
    for (let i = 0; i < count; i++) {
      const r = await postProposal(shared.owners[0]!, shared.address, to, String(i + 1));
      assert.equal(r.status, 202, JSON.stringify(r.body));
      accepted.push(String(i + 1));
    }
    const before = await outgoing(devnet.file.nodes[5]!.api, shared.address);
    process.kill(victim.pid, "SIGKILL");
    const appliedAtKill = before.filter((x) => x.status === "applied").length;
    devnet.restart(victim);
    await waitForHealth(victim.api, 60_000);

    let amounts: string[] = [];
    const elapsed = await waitFor("every accepted proposal applied on all 6 nodes", 120_000, async () => {
      const histories = await Promise.all(devnet.file.nodes.map((n) => outgoing(n.api, shared.address)));
      const bySeq = appliedBySeq(histories); // throws on two transfers for one seq
      const onAll = [...bySeq.values()].filter((x) =>
        histories.every((h) => h.some((y) => y.id === x.id && y.status === "applied")),
      );
      amounts = onAll.map((x) => x.amount).sort((a, b) => Number(a) - Number(b));
      return amounts.length >= count;
    });
    assert.deepEqual(amounts, accepted, "each accepted proposal applied exactly once");

    const list = async () => {
      const listed = await getJson<{ proposals: ProposalEntry[] }>(
        `${victim.api}/v1/shared/${shared.address}/proposals`,
      );
      assert.equal(listed.status, 200);
      return listed.body.proposals;
    };
    const live = (await list()).filter((p) => p.status !== "superseded");
    assert.deepEqual(
      live.map((p) => p.amount).sort((a, b) => Number(a) - Number(b)),
      accepted,
      "the restarted node lists every proposal",
    );
    // And says each is paid: a verdict that reached the ledger before the kill, or while the committee was
    // loading, is read back from the ledger at start (a paid proposal once stayed `decided` for good).
    await waitFor("the restarted node lists every proposal applied", 10_000, async () =>
      (await list()).every((p) => p.status === "applied" || p.status === "superseded"),
    );
    t.diagnostic(
      `${count} proposals; ${appliedAtKill} applied at the kill; all applied once on 6 nodes ${elapsed} ms after the restart; ${(await list()).length} list entries`,
    );
  } finally {
    await devnet.stop();
  }
});
