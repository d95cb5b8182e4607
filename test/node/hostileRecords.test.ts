import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { NodeInfo, NodePeers } from "../../src/api/nodeApi.ts";
import { transferToJson } from "../../src/core/transferJson.ts";
import { OPEN_DEVNET_MEMBERSHIP } from "../../src/devnet/devnet.ts";
import { type Keystore, readKeystore } from "../../src/wallet/keystore.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import { prepareNextTransfer } from "../../src/wallet/prepareTransfer.ts";
import { type RunningDevnet, startDevnet } from "../support/devnetProcess.ts";
import { parsePrometheus, scrapeMetrics, sleep } from "../support/nodeProbes.ts";
import type { AttackMode, AttackSummary } from "../support/recordAttacker.ts";

/**
 * Hostile node records on an open 4-node devnet (real processes, loopback): an attacker with its own libp2p
 * node and gossipsub publishes records on the devnet's record topic to node 0.
 * 1. Records with a bad signature, for another network, or with a wrong identity proof never make anyone a
 *    member anywhere, and node 0 bans the attacker (cuts it off and refuses its redials).
 * 2. Valid records of thousands of freshly minted identities at 10× the announcement budget: node 0 accepts
 *    no more than the budget allows (burst + rate × time) and bans the sender. Wallets' transfers apply on
 *    all four nodes: one made after the ban within 3 s; one made while the accepted fakes fill the views
 *    within one record TTL + 8 s (they stall it until they expire — the price of difficulty 8).
 * 3. A valid record that claims to be valid for an hour is ignored (not a member, not the sender's fault).
 *
 * Run alone (about a minute):
 *   node_modules/.bin/node --test test/node/hostileRecords.test.ts
 */

const ATTACKER_TS = fileURLToPath(new URL("../support/recordAttacker.ts", import.meta.url));

/** The announcement budget every node gives one sender (src/membership/announcementBudget.ts). */
const BUDGET_BURST = 500;
const BUDGET_PER_SECOND = 50;
const FLOOD_RATE = 500;
const FLOOD_MS = 8_000;
/** A transfer submitted after node 0 banned the flooder must be applied by all four nodes this soon. */
const APPLY_WITHIN_MS = 3_000;
/**
 * Any transfer, even one submitted while the fresh identities fill every node's view, must be applied within
 * one record TTL (10 s: the fakes expire) plus 5 s. Measured: ~12.3 s for one submitted 1 s into the flood.
 */
const STALL_BOUND_MS = OPEN_DEVNET_MEMBERSHIP.recordTtlSeconds * 1_000 + 8_000;
const POLL_MS = 250;

interface RunningAttacker {
  peerId: Promise<string>;
  subscribed: Promise<void>;
  summary: Promise<AttackSummary>;
}

function startAttacker(
  devnet: RunningDevnet,
  info: NodeInfo,
  mode: AttackMode,
  extra: readonly string[] = [],
): RunningAttacker {
  const target = devnet.file.nodes[0]!;
  const args = [
    ATTACKER_TS,
    "--target",
    target.multiaddr,
    "--network",
    info.network,
    "--genesis-hash",
    info.genesis,
    "--difficulty",
    String(OPEN_DEVNET_MEMBERSHIP.identityDifficulty),
    "--ttl-ms",
    String(OPEN_DEVNET_MEMBERSHIP.recordTtlSeconds * 1_000),
    "--mode",
    mode,
    ...extra,
  ];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  let onPeerId: (id: string) => void = () => {};
  let onSubscribed: () => void = () => {};
  const peerId = new Promise<string>((resolve) => {
    onPeerId = resolve;
  });
  const subscribed = new Promise<void>((resolve) => {
    onSubscribed = resolve;
  });
  const summary = new Promise<AttackSummary>((resolve, reject) => {
    let last: AttackSummary | undefined;
    createInterface({ input: child.stdout }).on("line", (line) => {
      const event = JSON.parse(line) as { event: string; peerId?: string };
      if (event.event === "started") onPeerId(event.peerId!);
      if (event.event === "subscribed") onSubscribed();
      if (event.event === "summary") last = event as AttackSummary;
    });
    child.once("exit", (code) => {
      if (last !== undefined) resolve(last);
      else reject(new Error(`attacker exited with ${code} and no summary: ${stderr}`));
    });
  });
  // A crash before subscribing must fail the test, not hang it.
  const failed = summary.then(() => {
    throw new Error("attacker finished before it subscribed");
  });
  const subscribedOrFailed = Promise.race([subscribed, failed]);
  subscribedOrFailed.catch(() => {}); // handled where awaited; modes that never wait for it must not crash
  return { peerId, subscribed: subscribedOrFailed, summary };
}

async function peersOf(api: string): Promise<NodePeers | undefined> {
  return fetch(`${api}/v1/node/peers`, { signal: AbortSignal.timeout(2_000) }).then(
    (r) => r.json() as Promise<NodePeers>,
    () => undefined,
  );
}

/** Every member any of `apis` listed while it ran: polled every 250 ms until stopped. */
function watchMembers(apis: readonly string[]): { stop(): Promise<Map<string, Set<string>>> } {
  const seen = new Map<string, Set<string>>(apis.map((api) => [api, new Set()]));
  let running = true;
  const loop = (async () => {
    while (running) {
      await Promise.all(
        apis.map(async (api) => {
          for (const m of (await peersOf(api))?.members ?? []) seen.get(api)!.add(m.peerId);
        }),
      );
      await sleep(POLL_MS);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return seen;
    },
  };
}

/** Node 0's `tally_p2p_peer_refused_total` for `peer`: present once node 0 banned it, counting refusals. */
async function refusedByNodeZero(devnet: RunningDevnet, peer: string): Promise<number | undefined> {
  const samples = parsePrometheus(await scrapeMetrics(devnet.file.nodes[0]!));
  const sample = samples.find((s) => s.name === "tally_p2p_peer_refused_total" && s.labels.peer === peer);
  return sample?.value;
}

describe("hostile node records (multi-process)", { timeout: 120_000 }, () => {
  let devnet: RunningDevnet;
  let info: NodeInfo;
  let apis: string[];

  before(async () => {
    devnet = await startDevnet(["--nodes", "4", "--wallets", "2"]);
    assert.equal(devnet.file.membership, "open");
    apis = devnet.file.nodes.map((n) => n.api);
    info = (await (await fetch(`${apis[0]}/v1/node`)).json()) as NodeInfo;
  });
  after(async () => {
    await devnet?.stop();
  });

  it("forged, foreign and unpaid records make nobody a member; node 0 bans their sender", async (t) => {
    const watch = watchMembers(apis);
    const attacker = startAttacker(devnet, info, "invalid", ["--count-each", "3", "--watch-ms", "5000"]);
    const summary = await attacker.summary.finally(() => sleep(1_000).then(() => watch.stop()));
    const seen = await watch.stop();
    const refused = await refusedByNodeZero(devnet, summary.peerId);
    t.diagnostic(
      `invalid records: ${summary.sent} sent before node 0 cut the attacker off ${summary.cutOffAfterMs} ms ` +
        `after its first; redials refused ${summary.refused}, accepted ${summary.reconnected}; ` +
        `node 0 counts ${refused} refusals`,
    );
    for (const [api, members] of seen) {
      const admitted = summary.recordPeerIds.filter((p) => members.has(p));
      assert.deepEqual(admitted, [], `${api} listed an identity from an invalid record`);
    }
    // −20 per rejected record, banned at −100: the fifth record bans the sender.
    assert.ok(summary.sent >= 5, `only ${summary.sent} records sent`);
    assert.ok(summary.cutOffAfterMs !== undefined, "node 0 never cut the attacker off");
    assert.equal(summary.reconnected, 0, "node 0 let the banned attacker reconnect");
    assert.ok(summary.refused >= 1, "the attacker never tried to redial");
    assert.ok(refused !== undefined && refused >= 1, "node 0's metrics show no refusal of the attacker");
  });

  it("a flood of valid fresh identities at 10x the budget: bounded, banned, and transfers still apply", async (t) => {
    const wallets = await Promise.all(
      devnet.file.wallets.map((w) => readKeystore(w.keystore, { passphraseFile: w.passphraseFile })),
    );
    let payer: Keystore = wallets[0]!;
    const payee = wallets[1]!.address;
    const devnetIds = new Set(devnet.file.nodes.map((n) => n.peerId));

    const attacker = startAttacker(devnet, info, "flood", [
      "--rate",
      String(FLOOD_RATE),
      "--duration-ms",
      String(FLOOD_MS),
      "--watch-ms",
      "4000",
    ]);
    await attacker.subscribed;
    const floodStart = Date.now();
    const watch = watchMembers(apis);
    // Honest payments through nodes 1..3 while the flood runs, each awaited on all four nodes: per transfer,
    // the ms each node took to apply it, or undefined if it did not within APPLY_WITHIN_MS.
    const applyMs: (number | undefined)[][] = [];
    const submitted: { id: string; at: number }[] = [];
    let summary: AttackSummary;
    try {
      for (let k = 0; k < 3; k++) {
        await sleep(floodStart + 1_000 + k * 2_500 - Date.now());
        const via = new NodeClient(apis[1 + k]!, { timeoutMs: 5_000 });
        const { signed, keystore } = await prepareNextTransfer(via, payer, {
          outputs: [{ to: payee, amount: BigInt(1 + k) }],
        });
        payer = keystore;
        const submittedAt = Date.now();
        const { id } = await via.submit(transferToJson(signed.transfer));
        submitted.push({ id, at: submittedAt });
        applyMs.push(
          await Promise.all(
            apis.map((api) =>
              new NodeClient(api, { timeoutMs: 2_000 }).waitForResolution(id, APPLY_WITHIN_MS).then(
                (view) => (view.status === "applied" ? Date.now() - submittedAt : undefined),
                () => undefined,
              ),
            ),
          ),
        );
      }
      summary = await attacker.summary;
      await sleep(500);
    } finally {
      await watch.stop();
    }
    const seen = await watch.stop();
    // Late: the ones that missed APPLY_WITHIN_MS, awaited until STALL_BOUND_MS after their submission.
    await Promise.all(
      applyMs.map((byNode, k) =>
        Promise.all(
          byNode.map(async (ms, n) => {
            if (ms !== undefined) return;
            const { id, at } = submitted[k]!;
            byNode[n] = await new NodeClient(apis[n]!, { timeoutMs: 2_000 })
              .waitForResolution(id, Math.max(0, at + STALL_BOUND_MS - Date.now()))
              .then(
                (v) => (v.status === "applied" ? Date.now() - at : undefined),
                () => undefined,
              );
          }),
        ),
      ),
    );
    const refused = await refusedByNodeZero(devnet, summary.peerId);
    const minted = new Set(summary.recordPeerIds);
    const acceptedAtZero = [...seen.get(apis[0]!)!].filter((p) => !devnetIds.has(p));
    const foreign = acceptedAtZero.filter((p) => !minted.has(p));
    const seconds = summary.publishingMs / 1000;
    // One second of slack: the node's clock starts the budget when the first record arrives, not when sent.
    const bound = BUDGET_BURST + BUDGET_PER_SECOND * (seconds + 1);
    t.diagnostic(
      `flood: ${summary.sent} valid records of fresh identities in ${summary.publishingMs} ms ` +
        `(${Math.round(summary.sent / Math.max(seconds, 1e-3))}/s); node 0 cut the attacker off after ` +
        `${summary.cutOffAfterMs} ms, refused ${summary.refused} redials (its metric: ${refused})`,
    );
    t.diagnostic(
      `node 0 accepted ${acceptedAtZero.length} of them (budget bound ${Math.round(bound)}); ` +
        `members seen per node: ${[...seen.values()].map((s) => s.size).join(" ")}; ` +
        `ms until each node applied each transfer: ${applyMs.map((t) => t.map((ms) => ms ?? "never").join("/")).join(" ")}`,
    );
    assert.deepEqual(foreign, [], "node 0 listed identities neither the devnet nor the attacker has");
    assert.ok(summary.sent > bound, `the flood (${summary.sent}) did not even exceed the budget`);
    assert.ok(acceptedAtZero.length > 0, "node 0 accepted none of the valid records");
    assert.ok(
      acceptedAtZero.length <= bound,
      `node 0 accepted ${acceptedAtZero.length} identities from one sender, budget bound ${bound}`,
    );
    assert.ok(summary.cutOffAfterMs !== undefined, "node 0 never banned the flooding sender");
    const cutOffAt = floodStart + summary.cutOffAfterMs;
    for (const [k, byNode] of applyMs.entries()) {
      const afterBan = submitted[k]!.at >= cutOffAt;
      for (const [n, ms] of byNode.entries()) {
        assert.ok(ms !== undefined, `transfer ${k} not applied by node ${n} within ${STALL_BOUND_MS} ms`);
        if (afterBan)
          assert.ok(ms <= APPLY_WITHIN_MS, `transfer ${k} (after the ban) took ${ms} ms at node ${n}`);
      }
    }
    assert.ok(
      submitted.some((s) => s.at >= cutOffAt),
      "no transfer was made after the ban: the flood outlasted the test's payments",
    );
    assert.equal(summary.reconnected, 0, "node 0 let the banned flooder reconnect");
    assert.ok(refused !== undefined && refused >= 1, "node 0's metrics show no refusal of the flooder");
  });

  it("a valid record that claims an hour of validity is ignored, and its sender is not punished", async (t) => {
    const watch = watchMembers(apis);
    const attacker = startAttacker(devnet, info, "future", ["--watch-ms", "2000"]);
    const summary = await attacker.summary.finally(() => sleep(500).then(() => watch.stop()));
    const seen = await watch.stop();
    t.diagnostic(
      `future record of ${summary.peerId}: sent ${summary.sent}, cut off ${summary.cutOffAfterMs}`,
    );
    assert.equal(summary.sent, 1);
    for (const [api, members] of seen) assert.ok(!members.has(summary.peerId), `${api} lists it`);
    assert.equal(summary.cutOffAfterMs, undefined, "an ignored record cost its sender the connection");
  });
});
