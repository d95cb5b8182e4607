import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { transferToJson } from "../../src/core/transferJson.ts";
import type { DevnetNode } from "../../src/devnet/devnet.ts";
import { type Keystore, newKeystore, readKeystore } from "../../src/wallet/keystore.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import { prepareNextTransfer } from "../../src/wallet/prepareTransfer.ts";
import { type RunningDevnet, startDevnet } from "../support/devnetProcess.ts";
import type { FloodSummary } from "../support/flooder.ts";
import {
  ApplyTimes,
  mib,
  parsePrometheus,
  type RunningFlooder,
  rssBytes,
  sampleHealth,
  sampleRss,
  scrapeMetrics,
  sleep,
  startFlooder,
  stopProcess,
} from "../support/nodeProbes.ts";

/**
 * "A flood costs only the flooder": real node processes on loopback, one peer writing well-formed messages to
 * node 0 as fast as node 0 reads them, while wallets pay through the other nodes. Node 0 must keep up with the
 * network (apply every transfer soon after the others do), keep its memory flat, and show the flood in its
 * per-peer metrics.
 *
 * Run alone (about a minute; it starts two 4-node devnets one after the other):
 *   npm run test:flood
 *   node_modules/.bin/node --test test/long/flood.test.ts      (no npm: the pinned Node 24 directly)
 */

const FLOOD_MS = 20_000;
const TRANSFERS = 20;
/** Transfer k is submitted this long after the flood started, so all of them travel during the flood. */
const FIRST_SUBMIT_AFTER_MS = 1_000;
const SUBMIT_SPACING_MS = 700;
const MAX_APPLY_LAG_MS = 5_000;
/**
 * Node 0's peak RSS growth during the flood. A stranger is banned after 10 messages: what grows is the 20
 * transfers, metrics scrapes and LevelDB (2–25 MB measured). A member's stolen key gets one second's burst of
 * its rate (20,000 units) and the refill admitted before its rate overruns ban it: ≈ 30,000 random votes, each
 * decoded and tallied, which open the member's share of live instances (2,500) and fill the bounded id
 * caches; V8 promotes what the queue still holds at each scavenge, so the peak is that burst's garbage, not
 * the flood's length (20–55 MB measured over nine runs; docs/architecture.md, "Memory").
 */
const MAX_RSS_GROWTH_BYTES = { stranger: 50 * 1024 * 1024, member: 80 * 1024 * 1024 };
/** A flooding member must send at least this many times what a correct member sends to the same node. */
const MIN_FLOOD_RATIO = 10;

// ---- what the node must expose (the one place to adjust if the node's names change) --------------------------

/** Node 0's view of one peer, from `GET /metrics`. */
interface PeerInbound {
  /** `tally_channel_inbound_total{peer,result}` by result. */
  byResult: Record<string, number>;
  admitted: number;
  /** Every result other than `admitted`: budget, forbidden, malformed, unknownProtocol, globalCap. */
  notAdmitted: number;
  /** `tally_p2p_peer_refused_total{peer}`: connections refused while the peer was banned. */
  refused: number;
}

function peerInbound(metricsText: string, peerId: string): PeerInbound {
  const byResult: Record<string, number> = {};
  let refused = 0;
  for (const sample of parsePrometheus(metricsText)) {
    if (sample.labels.peer !== peerId) continue;
    if (sample.name === "tally_channel_inbound_total") {
      const result = sample.labels.result ?? "unknown";
      byResult[result] = (byResult[result] ?? 0) + sample.value;
    } else if (sample.name === "tally_p2p_peer_refused_total") {
      refused += sample.value;
    }
  }
  const admitted = byResult.admitted ?? 0;
  const total = Object.values(byResult).reduce((a, b) => a + b, 0);
  return { byResult, admitted, notAdmitted: total - admitted, refused };
}

/** The flood is visible if node 0 turned away many of the flooder's messages or refused its reconnects. */
function floodIsVisible(p: PeerInbound): boolean {
  return p.notAdmitted >= 1_000 || p.refused >= 10;
}

/**
 * `GET /v1/health` sampled during the flood (answers by "200", "<status> <body>" or "timeout"). One flooder,
 * stranger or single member, is within what the node tolerates: it must neither report itself shedding
 * members' traffic (503) nor stall its API.
 */
function healthyThroughout(seen: Record<string, number>): boolean {
  return Object.keys(seen).every((answer) => answer === "200");
}

// ---- the scenario -------------------------------------------------------------------------------------------

interface FloodOutcome {
  flooder: FloodSummary;
  /** Peer ids of the correct nodes other than node 0. */
  correctPeers: string[];
  /** Node 0's view of the flooder and of every other peer, before and after the flood. */
  metricsBefore: string;
  metricsAfter: string;
  lagsMs: number[];
}

async function floodNodeZero(
  t: TestContext,
  mode: "contagion" | "bracha",
  flooderIsMember: boolean,
): Promise<FloodOutcome> {
  const devnet: RunningDevnet = await startDevnet(["--nodes", "4", "--wallets", "4", "--broadcast", mode]);
  let flooder: RunningFlooder | undefined;
  // Stopped in `finally` too: a sampler left running keeps the test's process alive after a failure.
  let rss: ReturnType<typeof sampleRss> | undefined;
  let health: ReturnType<typeof sampleHealth> | undefined;
  try {
    const nodes = devnet.file.nodes;
    const victim = nodes[0]!;
    const impersonated = nodes[3]!;
    if (flooderIsMember) await stopProcess(impersonated.pid);
    const correct = flooderIsMember ? nodes.slice(0, 3) : nodes;
    const entryNodes = correct.slice(1);
    const wallets = await Promise.all(
      devnet.file.wallets.map(async (w) => ({
        keystore: await readKeystore(w.keystore, { passphraseFile: w.passphraseFile }),
      })),
    );
    const payTo = newKeystore().address;
    const pay = async (wallet: { keystore: Keystore }, node: DevnetNode, amount: bigint) => {
      const client = new NodeClient(node.api);
      const { signed, keystore } = await prepareNextTransfer(client, wallet.keystore, {
        outputs: [{ to: payTo, amount }],
      });
      wallet.keystore = keystore;
      return (await client.submit(transferToJson(signed.transfer))).id;
    };

    // Warm-up: one transfer per wallet, applied everywhere, so the baseline RSS is that of a working node.
    const warmup = new ApplyTimes(correct, Date.now());
    for (const [w, wallet] of wallets.entries())
      warmup.track(await pay(wallet, entryNodes[w % entryNodes.length]!, 1n));
    await warmup.pollUntil(Date.now() + 30_000, () => false);
    assert.ok(warmup.allApplied(), "warm-up transfers applied before the flood");

    const rssBefore = await rssBytes(victim.pid);
    const metricsBefore = await scrapeMetrics(victim);
    rss = sampleRss(victim.pid);
    health = sampleHealth(victim);
    flooder = startFlooder(victim, [
      "--duration-ms",
      String(FLOOD_MS),
      ...(flooderIsMember ? ["--key", join(impersonated.dataDir, "peer.key")] : []),
    ]);
    await Promise.race([
      flooder.connected,
      flooder.summary.then(() => {
        throw new Error("flooder never connected");
      }),
    ]);
    const floodStart = Date.now();

    const applied = new ApplyTimes(correct, floodStart);
    let submitting = true;
    const submissions = Promise.all(
      wallets.map(async (wallet, w) => {
        for (let k = w; k < TRANSFERS; k += wallets.length) {
          await sleep(floodStart + FIRST_SUBMIT_AFTER_MS + k * SUBMIT_SPACING_MS - Date.now());
          applied.track(await pay(wallet, entryNodes[k % entryNodes.length]!, BigInt(2 + k)));
        }
      }),
    ).finally(() => {
      submitting = false;
    });
    await Promise.all([submissions, applied.pollUntil(floodStart + FLOOD_MS + 15_000, () => submitting)]);
    const flooderSummary = await flooder.summary;
    const { max: rssMax } = await rss.stop();
    const healthSeen = await health.stop();
    const metricsAfter = await scrapeMetrics(victim);

    const lagsMs: number[] = [];
    for (const [id, byNode] of applied.at) {
      const others = correct.slice(1).map((n) => byNode.get(n.name));
      const atVictim = byNode.get(victim.name);
      assert.ok(
        others.every((x) => x !== undefined),
        `transfer ${id} not applied by every other node: ${JSON.stringify([...byNode])}`,
      );
      assert.ok(atVictim !== undefined, `transfer ${id} never applied by the flooded node`);
      lagsMs.push(atVictim - Math.max(...(others as number[])));
    }
    assert.equal(lagsMs.length, TRANSFERS);

    const growth = rssMax - rssBefore;
    t.diagnostic(
      `flooder ${flooderIsMember ? "(member)" : "(stranger)"}: ${flooderSummary.messagesSent} msgs, ` +
        `${(flooderSummary.bytesSent / 2 ** 20).toFixed(1)} MiB, ${flooderSummary.messagesPerSecond} msgs/s while connected, ` +
        `connects ${flooderSummary.connects}, refused ${flooderSummary.refused}, cut off ${flooderSummary.cutOff}`,
    );
    t.diagnostic(
      `node 0 RSS ${mib(rssBefore)} MiB before, ${mib(rssMax)} MiB max (+${mib(growth)} MiB); ` +
        `health during the flood ${JSON.stringify(healthSeen)}`,
    );
    t.diagnostic(`apply lag at node 0 behind the last other node, ms: ${lagsMs.join(" ")}`);
    t.diagnostic(
      `node 0's view of the flooder: ${JSON.stringify(peerInbound(metricsAfter, flooderSummary.peerId))}`,
    );

    for (const lag of lagsMs) assert.ok(lag <= MAX_APPLY_LAG_MS, `node 0 applied ${lag} ms after the others`);
    assert.ok(
      healthyThroughout(healthSeen),
      `node 0's health during the flood: ${JSON.stringify(healthSeen)}`,
    );
    const maxGrowth = MAX_RSS_GROWTH_BYTES[flooderIsMember ? "member" : "stranger"];
    assert.ok(
      growth < maxGrowth,
      `node 0 RSS grew by ${mib(growth)} MiB during the flood (bound ${mib(maxGrowth)})`,
    );
    assert.ok(
      floodIsVisible(peerInbound(metricsAfter, flooderSummary.peerId)),
      "node 0's per-peer metrics show the flood",
    );
    return {
      flooder: flooderSummary,
      correctPeers: correct.slice(1).map((n) => n.peerId),
      metricsBefore,
      metricsAfter,
      lagsMs,
    };
  } finally {
    await Promise.all([rss?.stop(), health?.stop()]);
    if (flooder !== undefined && flooder.child.exitCode === null) flooder.child.kill("SIGKILL");
    await devnet.stop();
  }
}

describe("a flood costs only the flooder", { timeout: 240_000 }, () => {
  it("a stranger flooding node 0 for 20 s: node 0 keeps pace, keeps its memory, admits none of it", {
    timeout: 120_000,
  }, async (t) => {
    const outcome = await floodNodeZero(t, "contagion", false);
    const view = peerInbound(outcome.metricsAfter, outcome.flooder.peerId);
    assert.equal(view.admitted, 0, "a non-member gets nothing onto the members-only broadcast protocol");
  });

  it("a member (bracha, its key stolen) flooding node 0 at 10x a correct member's rate changes nothing either", {
    timeout: 120_000,
  }, async (t) => {
    const outcome = await floodNodeZero(t, "bracha", true);
    const seconds = FLOOD_MS / 1000;
    const flooderRate = outcome.flooder.messagesSent / seconds;
    const memberRates = outcome.correctPeers.map((peer) => {
      const sent =
        peerInbound(outcome.metricsAfter, peer).admitted - peerInbound(outcome.metricsBefore, peer).admitted;
      return sent / seconds;
    });
    t.diagnostic(
      `flooder ${flooderRate.toFixed(0)} msgs/s vs correct members ${memberRates.map((r) => r.toFixed(1)).join(", ")} msgs/s admitted at node 0`,
    );
    assert.ok(
      memberRates.every((r) => r > 0),
      "node 0 admitted the correct members' broadcast traffic during the flood",
    );
    assert.ok(
      flooderRate >= MIN_FLOOD_RATIO * Math.max(...memberRates),
      `flood only ${(flooderRate / Math.max(...memberRates)).toFixed(1)}x a correct member's rate`,
    );
  });
});
