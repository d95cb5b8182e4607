/**
 * Committees inside nodes: a 6-node devnet whose shared account has 4 owners, hosted on nodes 1..4. Fifty
 * payments proposed through the owners' nodes (REST) are ordered by the committee, certified, submitted
 * and applied on all six nodes, one transfer per seq, the same everywhere; the wallet they paid then spends
 * the money with `tally wallet send`, its deps the committee's certified transfers.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { MAIN_TS, startDevnet } from "../support/devnetProcess.ts";
import { appliedBySeq, outgoing, postProposal } from "../support/sharedLedger.ts";
import { type DevnetOwner, postProposalBody, signedProposal } from "../support/signedProposals.ts";

const PROPOSALS = 50;
const LIMIT_MS = 180_000;

interface AccountJson {
  nextSeq: number;
  definition?: { owners: string[]; label: string };
}
interface TransferViewJson {
  status: string;
  transfer: { deps: string[] };
}
interface HistoryJson {
  transfers: { id: string; status: string; direction: string; transfer: { seq: number } }[];
}

async function json<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as T };
}

/**
 * What reaching an owner's node is not enough for: unsigned, signed by another owner's key, altered after
 * signing, issued too far ahead, or issued before the node started (a replay is tried after the batch).
 * Each is refused with its code and proposes nothing.
 */
async function refusesUnauthorizedProposals(
  shared: { address: string; owners: readonly DevnetOwner[] },
  to: string,
): Promise<void> {
  const [owner, other] = [shared.owners[0]!, shared.owners[1]!];
  const good = await signedProposal(owner, shared.address, to, "5");
  const cases: [string, unknown, number, string][] = [
    ["unsigned", { to, amount: "5" }, 400, "INVALID_REQUEST"],
    ["another owner's key", await signedProposal(other, shared.address, to, "5"), 403, "SHARED_BAD_INTENT"],
    ["amount changed after signing", { ...good, amount: "500" }, 403, "SHARED_BAD_INTENT"],
    ["payee changed after signing", { ...good, to: shared.address }, 403, "SHARED_BAD_INTENT"],
    [
      "issued 60 s ahead of the node's clock",
      await signedProposal(owner, shared.address, to, "5", { issuedAtMs: Date.now() + 60_000 }),
      409,
      "SHARED_STALE_INTENT",
    ],
    [
      "issued before the node started",
      await signedProposal(owner, shared.address, to, "5", { issuedAtMs: 1 }),
      409,
      "SHARED_STALE_INTENT",
    ],
  ];
  for (const [what, body, status, code] of cases) {
    const r = await postProposalBody(owner.node, shared.address, body);
    assert.deepEqual([r.status, r.body.code], [status, code], what);
  }
  const listed = await json<{ proposals: unknown[] }>(`${owner.node}/v1/shared/${shared.address}/proposals`);
  assert.deepEqual(listed.body.proposals, [], "no refused request was proposed");
}

test("50 proposals through 4 owners' nodes are applied on all 6 nodes in one order", async (t) => {
  const devnet = await startDevnet(["--nodes", "6", "--shared", "4", "--membership", "static"]);
  try {
    const shared = devnet.file.shared?.[0];
    assert.ok(shared !== undefined, "devnet.json lists the shared account");
    assert.equal(shared.owners.length, 4);
    const to = devnet.file.wallets[0]!.address;
    const hosted = await json<AccountJson>(`${shared.owners[0]!.node}/v1/accounts/${shared.address}`);
    assert.equal(hosted.body.definition?.owners.length, 4);
    const owner0 = shared.owners[0]!;
    const notHost = await postProposalBody(
      devnet.file.nodes[0]!.api,
      shared.address,
      await signedProposal(owner0, shared.address, to, "1"),
    );
    assert.equal(notHost.status, 409);
    assert.equal(notHost.body.code, "SHARED_NOT_HOSTED");
    await refusesUnauthorizedProposals(shared, to);

    const began = Date.now();
    const bodies = await Promise.all(
      Array.from({ length: PROPOSALS }, (_, i) =>
        signedProposal(shared.owners[i % 4]!, shared.address, to, String(i + 1)),
      ),
    );
    const posted = await Promise.all(
      bodies.map((body, i) => postProposalBody(shared.owners[i % 4]!.node, shared.address, body)),
    );
    for (const p of posted) assert.equal(p.status, 202, JSON.stringify(p.body));
    // The same signed intent again is a replay: refused, and (below) exactly 50 transfers are made.
    const replayed = await postProposalBody(owner0.node, shared.address, bodies[0]);
    assert.deepEqual([replayed.status, replayed.body.code], [409, "SHARED_INTENT_REPLAYED"]);

    // Every node applies seq 1..50 of the shared account.
    const apis = devnet.file.nodes.map((n) => n.api);
    for (;;) {
      const seqs = await Promise.all(
        apis.map((api) =>
          json<AccountJson>(`${api}/v1/accounts/${shared.address}`).then((r) => r.body.nextSeq),
        ),
      );
      if (seqs.every((s) => s > PROPOSALS)) break;
      assert.ok(
        Date.now() - began < LIMIT_MS,
        `not all applied after ${Date.now() - began} ms: nextSeq ${seqs}`,
      );
      await new Promise((r) => setTimeout(r, 250));
    }
    const elapsedMs = Date.now() - began;

    const orders = await Promise.all(
      apis.map(async (api) => {
        const { body } = await json<HistoryJson>(`${api}/v1/accounts/${shared.address}/transfers?limit=100`);
        const out = body.transfers.filter((x) => x.direction === "out");
        assert.ok(out.every((x) => x.status === "applied"));
        return out.map((x) => `${x.transfer.seq}:${x.id}`).sort();
      }),
    );
    assert.equal(orders[0]!.length, PROPOSALS);
    for (const order of orders) assert.deepEqual(order, orders[0]);
    // Every proposal's payment was made exactly once (amounts 1..50 are distinct).
    const statuses = await Promise.all(
      shared.owners.map((o) =>
        json<{ proposals: { status: string; amount: string }[] }>(
          `${o.node}/v1/shared/${shared.address}/proposals`,
        ),
      ),
    );
    const applied = statuses.flatMap((s) => s.body.proposals.filter((p) => p.status === "applied"));
    assert.equal(new Set(applied.map((p) => p.amount)).size, PROPOSALS);
    t.diagnostic(
      `${PROPOSALS} proposals over 4 owners applied on ${apis.length} nodes in ${elapsedMs} ms (${(elapsedMs / PROPOSALS).toFixed(0)} ms per seq)`,
    );

    // `tally shared status`: an owner's node lists its owner's proposals, all applied; a node hosting no owner
    // shows the account (it has resolved its transfers, so it knows the definition) and no proposals.
    const status = async (api: string) => {
      const { stdout } = await promisify(execFile)(process.execPath, [
        ...[MAIN_TS, "shared", "status", shared.address, "--node", api, "--json"],
      ]);
      return JSON.parse(stdout) as {
        nextSeq: number;
        definition: { owners: string[] } | null;
        proposals: { status: string }[] | null;
      };
    };
    const [ownerView, otherView] = [await status(owner0.node), await status(apis[0]!)];
    assert.equal(ownerView.nextSeq, PROPOSALS + 1);
    assert.ok(ownerView.proposals !== null && ownerView.proposals.length > 0);
    assert.ok(ownerView.proposals.every((p) => p.status === "applied" || p.status === "superseded"));
    assert.deepEqual(
      [otherView.nextSeq, otherView.definition?.owners.length, otherView.proposals],
      [PROPOSALS + 1, 4, null],
    );

    // The payee's wallet spends what the shared account paid it (1 back to the account): it checks each
    // certified dep as the ledger does (definition, certificate, owners' signatures) before it signs over it.
    const payee = devnet.file.wallets[0]!;
    const { stdout } = await promisify(execFile)(process.execPath, [
      ...[MAIN_TS, "wallet", "send", shared.address, "1"],
      ...["--keystore", payee.keystore, "--passphrase-file", payee.passphraseFile],
      ...["--node", apis[5]!, "--json"],
    ]);
    const sent = JSON.parse(stdout) as { id: string; status: string };
    assert.equal(sent.status, "applied");
    const { body: spent } = await json<TransferViewJson>(`${apis[5]}/v1/transfers/${sent.id}`);
    const certifiedIds = orders[0]!.map((entry) => entry.split(":")[1]!);
    assert.deepEqual(
      certifiedIds.filter((id) => !spent.transfer.deps.includes(id)),
      [],
      "every payment from the shared account is a dep of the wallet's transfer",
    );
  } finally {
    await devnet.stop();
  }
});

// The three correct owners all propose the same payment (1 to the same wallet): identical bodies for one
// seq are one transfer id, and only the requester's proposal may count as made (the others are rebuilt).
test("with one owner silent, proposals from the three correct owners still complete", async (t) => {
  const devnet = await startDevnet([
    ...["--nodes", "6", "--shared", "4", "--membership", "static", "--byzantine-owner", "silent"],
  ]);
  try {
    const shared = devnet.file.shared![0]!;
    const to = devnet.file.wallets[0]!.address;
    const began = Date.now();
    const count = 9;
    for (let i = 0; i < count; i++) {
      const r = await postProposal(shared.owners[i % 3]!, shared.address, to, "1");
      assert.equal(r.status, 202);
    }
    const apis = devnet.file.nodes.map((n) => n.api);
    for (;;) {
      const seqs = await Promise.all(
        apis.map((api) =>
          json<AccountJson>(`${api}/v1/accounts/${shared.address}`).then((r) => r.body.nextSeq),
        ),
      );
      if (seqs.every((s) => s > count)) break;
      assert.ok(Date.now() - began < LIMIT_MS, `not all applied: nextSeq ${seqs}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const elapsedMs = Date.now() - began;
    // One transfer per seq, the same on every node (all pages), and all 9 payments made.
    const histories = await Promise.all(apis.map((api) => outgoing(api, shared.address)));
    assert.equal(appliedBySeq(histories).size, count);
    for (const owner of shared.owners.slice(0, 3)) {
      const { body } = await json<{ proposals: { status: string }[] }>(
        `${owner.node}/v1/shared/${shared.address}/proposals`,
      );
      assert.ok(body.proposals.every((p) => p.status === "applied" || p.status === "superseded"));
    }
    t.diagnostic(`${count} proposals with a silent owner applied on 6 nodes in ${elapsedMs} ms`);
  } finally {
    await devnet.stop();
  }
});
