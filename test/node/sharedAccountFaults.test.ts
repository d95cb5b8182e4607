/**
 * Byzantine owners of a 4-owner shared account on a 6-node static devnet (nodes 1..4 host the owners).
 * One equivocating owner (f = 1): every correct owner's payment is made, one transfer per seq on every
 * node, and the correct owners caught the equivocation. Two equivocating owners (beyond f): the ledger
 * still applies at most one transfer per seq on every node, whether or not the committee progressed.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { promisify } from "node:util";
import type { SharedEvidence } from "../../src/api/nodeApi.ts";
import { decodeAddress } from "../../src/core/address.ts";
import { fromHex, toHex } from "../../src/core/bytes.ts";
import { sodiumVerifier } from "../../src/crypto/ed25519Sodium.ts";
import { voteSigningBytes } from "../../src/kshared/certificate.ts";
import { MAIN_TS, type RunningDevnet, startDevnet } from "../support/devnetProcess.ts";
import { appliedBySeq, getJson, outgoing, postProposal, waitFor } from "../support/sharedLedger.ts";

const EQUIVOCATION_MEMO = "equivocation";

/**
 * What the correct owners' nodes serve at `GET /v1/shared/:address/evidence`: every proof names the byzantine
 * owner (by index and key), and both of every vote proof's signatures are that owner's; and `tally shared
 * evidence` proves every signed proof of the node serving the most. Returns the proofs each node served and
 * how many the command proved.
 */
async function servedEvidence(
  devnet: RunningDevnet,
  byzantineApi: string,
): Promise<{ perNode: number[]; proven: number }> {
  const shared = devnet.file.shared![0]!;
  const nodes = devnet.file.nodes;
  const { body: account } = await getJson<{ definition: { owners: string[] } }>(
    `${nodes[1]!.api}/v1/accounts/${shared.address}`,
  );
  const keystore = shared.owners.find((o) => o.node === byzantineApi)!.keystore;
  const byzantineKey = toHex(decodeAddress(JSON.parse(await readFile(keystore, "utf8")).address).key);
  const byzantineOwner = account.definition.owners.indexOf(byzantineKey);
  assert.ok(byzantineOwner >= 0);
  const accountId = decodeAddress(shared.address).key;
  const correct = shared.owners.filter((o) => o.node !== byzantineApi);
  const served = await Promise.all(
    correct.map((o) => getJson<SharedEvidence>(`${o.node}/v1/shared/${shared.address}/evidence`)),
  );
  for (const { status, body } of served) {
    assert.equal(status, 200);
    assert.ok(body.equivocations >= body.proofs.length);
    for (const proof of body.proofs) {
      assert.deepEqual([proof.owner, proof.ownerKey], [byzantineOwner, byzantineKey], JSON.stringify(proof));
      if (proof.kind === "timeout") continue;
      assert.notEqual(proof.digests[0], proof.digests[1]);
      if (proof.kind !== "vote") continue;
      for (const i of [0, 1]) {
        const message = voteSigningBytes(
          accountId,
          proof.phase,
          proof.seq,
          proof.round,
          fromHex(proof.digests[i]!, 32, "digest"),
        );
        const signature = fromHex(proof.signatures[i]!, 64, "signature");
        assert.ok(
          sodiumVerifier.verify(signature, message, fromHex(byzantineKey, 32, "key")),
          "the owner signed both votes",
        );
      }
    }
  }
  const notHosted = await getJson<{ code: string }>(`${nodes[0]!.api}/v1/shared/${shared.address}/evidence`);
  assert.deepEqual([notHosted.status, notHosted.body.code], [409, "SHARED_NOT_HOSTED"]);
  // `tally shared evidence` checks the same proofs on this side, trusting the node for nothing.
  const most = served.reduce(
    (best, s, i) => (s.body.proofs.length > served[best]!.body.proofs.length ? i : best),
    0,
  );
  const { stdout } = await promisify(execFile)(process.execPath, [
    ...[MAIN_TS, "shared", "evidence", shared.address, "--node", correct[most]!.node, "--json"],
  ]);
  const checked = JSON.parse(stdout) as { proofs: { owner: number; kind: string; verdict: string }[] };
  assert.deepEqual(
    checked.proofs.map((p) => [p.owner, p.verdict === (p.kind === "proposal" ? "nodesWord" : "proven")]),
    served[most]!.body.proofs.map(() => [byzantineOwner, true]),
  );
  const proven = checked.proofs.filter((p) => p.verdict === "proven").length;
  return { perNode: served.map(({ body }) => body.proofs.length), proven };
}

async function logLines(path: string, message: string): Promise<number> {
  const text = await readFile(path, "utf8").catch(() => "");
  return text.split("\n").filter((l) => l.includes(`"msg":"${message}"`)).length;
}

/** Proposes amounts 1..count round-robin through the given owners' nodes. */
async function proposeAll(devnet: RunningDevnet, owners: number[], count: number): Promise<void> {
  const shared = devnet.file.shared![0]!;
  const to = devnet.file.wallets[0]!.address;
  for (let i = 0; i < count; i++) {
    const owner = shared.owners[owners[i % owners.length]!]!;
    const r = await postProposal(owner, shared.address, to, String(i + 1));
    assert.equal(r.status, 202, JSON.stringify(r.body));
  }
}

/** The amounts of correct payments (not the equivocator's forged twins) applied on every node. */
async function appliedAmounts(devnet: RunningDevnet): Promise<{ amounts: string[]; seqs: number }> {
  const address = devnet.file.shared![0]!.address;
  const histories = await Promise.all(devnet.file.nodes.map((n) => outgoing(n.api, address)));
  const bySeq = appliedBySeq(histories);
  const onAll = [...bySeq.values()].filter((t) =>
    histories.every((h) => h.some((x) => x.id === t.id && x.status === "applied")),
  );
  const amounts = onAll.filter((t) => t.memo !== EQUIVOCATION_MEMO).map((t) => t.amount);
  return { amounts: amounts.sort((a, b) => Number(a) - Number(b)), seqs: bySeq.size };
}

test("one equivocating owner: every correct owner's payment is made once, the same per seq on all 6 nodes", async (t) => {
  const devnet = await startDevnet([
    "--nodes",
    "6",
    "--shared",
    "4",
    "--membership",
    "static",
    "--byzantine-owner",
    "equivocate",
  ]);
  try {
    const count = 12;
    await proposeAll(devnet, [0, 1, 2], count);
    const expected = Array.from({ length: count }, (_, i) => String(i + 1));
    let last = { amounts: [] as string[], seqs: 0 };
    const elapsed = await waitFor("all correct payments applied on all nodes", 120_000, async () => {
      last = await appliedAmounts(devnet);
      return last.amounts.length >= count;
    });
    assert.deepEqual(last.amounts, expected, "each correct payment exactly once");
    const nodes = devnet.file.nodes;
    const byzantine = nodes[4]!;
    const equivocations = await logLines(byzantine.log, "equivocating (testing)");
    const evidence = await Promise.all(
      nodes.slice(1, 4).map((n) => logLines(n.log, "committee equivocation evidence")),
    );
    assert.ok(equivocations > 0, "the byzantine owner led a round and equivocated");
    assert.ok(
      evidence.some((e) => e > 0),
      `a correct owner recorded evidence: ${evidence}`,
    );
    const address = devnet.file.shared![0]!.address;
    const exported = await Promise.all(
      nodes.slice(1, 4).map(async (n) => {
        const text = await (await fetch(`${n.api}/metrics`)).text();
        const line = text
          .split("\n")
          .find((l) => l.startsWith(`tally_kshared_equivocations_total{account="${address}"}`));
        return Number(line?.split(" ").at(-1) ?? 0);
      }),
    );
    assert.ok(
      exported.some((e) => e > 0),
      `a correct owner exports its evidence count in /metrics: ${exported}`,
    );
    const proofs = await servedEvidence(devnet, byzantine.api);
    assert.ok(
      proofs.perNode.some((n) => n > 0),
      `a correct owner's node serves its proofs: ${proofs.perNode}`,
    );
    t.diagnostic(
      `${count} payments applied on 6 nodes in ${elapsed} ms over ${last.seqs} seqs; ${equivocations} equivocating proposals; evidence reports per correct node ${evidence}; /metrics equivocations ${exported}; proofs served ${proofs.perNode}, ${proofs.proven} proven by \`tally shared evidence\``,
    );
  } finally {
    await devnet.stop();
  }
});

test("two equivocating owners of 4 (beyond f): never two transfers for one seq on any node", async (t) => {
  const devnet = await startDevnet([
    ...["--nodes", "6", "--shared", "4", "--membership", "static"],
    ...["--byzantine-owner", "equivocate", "--byzantine-owners", "2"],
  ]);
  try {
    const count = 10;
    await proposeAll(devnet, [0, 1], count);
    let last = { amounts: [] as string[], seqs: 0 };
    let stalled = false;
    try {
      await waitFor("correct payments applied", 60_000, async () => {
        last = await appliedAmounts(devnet); // throws if two transfers share a seq anywhere
        return last.amounts.length >= count;
      });
    } catch (e) {
      if (!(e instanceof Error) || !e.message.includes("not after")) throw e;
      stalled = true;
    }
    last = await appliedAmounts(devnet);
    assert.equal(new Set(last.amounts).size, last.amounts.length, "no payment made twice");
    const address = devnet.file.shared![0]!.address;
    const seqs = await Promise.all(
      devnet.file.nodes.map((n) =>
        getJson<{ nextSeq: number }>(`${n.api}/v1/accounts/${address}`).then((r) => r.body.nextSeq),
      ),
    );
    t.diagnostic(
      `${stalled ? "stalled" : "completed"}: ${last.amounts.length}/${count} correct payments on all nodes, ${last.seqs} seqs applied, nextSeq per node ${seqs}`,
    );
  } finally {
    await devnet.stop();
  }
});
