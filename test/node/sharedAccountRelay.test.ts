/**
 * Co-owners' nodes that their views never connect: an open 5-node devnet whose shared account has 2 owners,
 * hosted on nodes 1 and 2, each restarted with the other as `--testing-unlinked-peer` (its sampler never
 * takes the other into its view, as on a network far larger than a view). They find each other through the
 * hosts topic, link up for the committee alone, and a payment proposed through node 1 is certified by both
 * owners and applied on all five nodes.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { NodePeers } from "../../src/api/nodeApi.ts";
import { type RunningDevnet, startDevnet, waitForHealth } from "../support/devnetProcess.ts";
import { parsePrometheus, stopProcess } from "../support/nodeProbes.ts";
import { appliedBySeq, getJson, outgoing, postProposal, waitFor } from "../support/sharedLedger.ts";

const LIMIT_MS = 90_000;

async function peers(api: string): Promise<NodePeers> {
  return (await getJson<NodePeers>(`${api}/v1/node/peers`)).body;
}

function viewOf(p: NodePeers): Set<string> {
  return new Set(Object.values(p.samples).flat());
}

async function hostLinks(api: string): Promise<number> {
  const text = await (await fetch(`${api}/metrics`)).text();
  return parsePrometheus(text).find((s) => s.name === "tally_kshared_host_links_total")?.value ?? 0;
}

test("co-owners outside each other's views find each other through the hosts topic", {
  timeout: 240_000,
}, async (t) => {
  let devnet: RunningDevnet | undefined;
  try {
    devnet = await startDevnet(["--nodes", "5", "--wallets", "1", "--shared", "2"]);
    assert.equal(devnet.file.membership, "open");
    const shared = devnet.file.shared![0]!;
    const [one, two] = [devnet.file.nodes[1]!, devnet.file.nodes[2]!];
    assert.deepEqual(
      shared.owners.map((o) => o.node),
      [one.api, two.api],
    );
    // Restarted without the host records they exchanged while connected, each unlinked from the other.
    for (const node of [one, two]) await stopProcess(node.pid);
    for (const [node, other] of [
      [one, two],
      [two, one],
    ] as const)
      devnet.spawnExtra([...node.argv, "--testing-faults", "--testing-unlinked-peer", other.peerId]);
    await Promise.all([waitForHealth(one.api), waitForHealth(two.api)]);

    const to = devnet.file.wallets[0]!.address;
    const posted = await postProposal(shared.owners[0]!, shared.address, to, "11");
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const apis = devnet.file.nodes.map((n) => n.api);
    const ms = await waitFor("the payment applied on all 5 nodes", LIMIT_MS, async () => {
      const histories = await Promise.all(apis.map((api) => outgoing(api, shared.address)));
      return histories.every((h) => h.some((x) => x.status === "applied" && x.amount === "11"));
    });
    const applied = appliedBySeq(await Promise.all(apis.map((api) => outgoing(api, shared.address))));
    assert.equal(applied.size, 1);

    // The committee's link was made for it: neither node's view holds the other, yet they are connected, and
    // at least one of them opened that connection for its co-owner (the hosts topic was the only way to learn
    // the other's host: the records they had exchanged died with the restart).
    const [p1, p2] = await Promise.all([peers(one.api), peers(two.api)]);
    assert.equal(viewOf(p1).has(two.peerId), false, "node 2 is not in node 1's samples");
    assert.equal(viewOf(p2).has(one.peerId), false, "node 1 is not in node 2's samples");
    assert.ok(p1.connected.includes(two.peerId), "node 1 is connected to node 2");
    const links = (await hostLinks(one.api)) + (await hostLinks(two.api));
    assert.ok(links >= 1, `co-owner links opened: ${links}`);
    t.diagnostic(`applied on all 5 nodes ${ms} ms after the proposal; co-owner links opened: ${links}`);
  } finally {
    await devnet?.stop();
  }
});
