import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { promisify } from "node:util";
import { transferToJson } from "../../src/core/transferJson.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import { MAIN_TS, waitForHealth } from "../support/devnetProcess.ts";
import { makeTransfer, testKey } from "../support/fixtures.ts";
import { createLab, type LabHost, labUnavailable, type NetLab } from "../support/netLab.ts";

/**
 * A network across hosts, set up the way an operator would, with the CLI only: `tally node init` on each host,
 * `tally genesis new` naming the first host as the bootstrap (open membership) or every host as a member
 * (static), then `tally node start` listening on every interface (`/ip4/0.0.0.0/…`). Each host is a network
 * namespace with its own address (test/support/netLab.ts), so nodes reach each other over a real link, not
 * loopback — and each also has a loopback of its own, which is what broke it: a node listening on a wildcard
 * announced 127.0.0.1 first, and every other host's node dialled itself there and never connected.
 */

const exec = promisify(execFile);
const P2P_PORT = 4001;
const API_PORT = 8080;

async function tally(args: readonly string[]): Promise<unknown> {
  const { stdout } = await exec(process.execPath, [MAIN_TS, ...args, "--json"]);
  return JSON.parse(stdout);
}

/** Not exited yet: a process killed by a signal has no exit code, only a signal code. */
const running = (p: ChildProcess) => p.exitCode === null && p.signalCode === null;

interface Member {
  peerId: string;
  addrs: string[];
}

const unavailable = await labUnavailable();

describe("a network across hosts (network namespaces)", { skip: unavailable, timeout: 240_000 }, () => {
  let lab: NetLab;
  let dir: string;
  const processes: ChildProcess[] = [];

  before(async () => {
    lab = await createLab(4);
    dir = await mkdtemp(join(tmpdir(), "tally-hosts-"));
    await writeFile(join(dir, "pass"), "lab passphrase\n", { mode: 0o600 });
  });

  after(async () => {
    for (const p of processes) p.kill("SIGKILL");
    await Promise.all(processes.map((p) => (running(p) ? new Promise((r) => p.once("exit", r)) : 0)));
    await lab?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts a node on `host` from `genesis`, its data in `dataDir`, listening on every interface. */
  function startNode(
    host: LabHost,
    genesis: string,
    dataDir: string,
    extra: readonly string[] = [],
    ipv6 = false,
  ): { api: string; child: ChildProcess } {
    const argv = lab.on(host, [
      process.execPath,
      MAIN_TS,
      "node",
      "start",
      "--genesis",
      genesis,
      "--data-dir",
      dataDir,
      "--listen",
      ipv6 ? `/ip6/::/tcp/${P2P_PORT}` : `/ip4/0.0.0.0/tcp/${P2P_PORT}`,
      "--api",
      ipv6 ? `[::]:${API_PORT}` : `0.0.0.0:${API_PORT}`,
      "--log-level",
      "warn",
      ...extra,
    ]);
    const child = spawn(argv[0]!, argv.slice(1), { stdio: "ignore" });
    processes.push(child);
    return { api: ipv6 ? `http://[${host.ip6}]:${API_PORT}` : `http://${host.ip}:${API_PORT}`, child };
  }

  async function stopAll(): Promise<void> {
    for (const p of processes.splice(0)) {
      p.kill("SIGTERM");
      if (running(p)) await new Promise((r) => p.once("exit", r));
    }
  }
  // Each case starts with no node running, whatever the one before left (its ports are the same).
  beforeEach(stopAll);

  /** Two wallets on `network`: the first to be funded in the genesis, the second to be paid. */
  async function wallets(network: string, tag: string) {
    const made = [];
    for (const name of ["payer", "payee"]) {
      const keystore = join(dir, `${tag}-${name}.json`);
      const w = (await tally([
        "wallet",
        "new",
        "--keystore",
        keystore,
        "--network",
        network,
        "--passphrase-file",
        join(dir, "pass"),
      ])) as { address: string };
      made.push({ keystore, address: w.address });
    }
    return made as [{ keystore: string; address: string }, { keystore: string; address: string }];
  }

  /** A payment of 500 through `apis[1]`, then every node of `apis` reports it applied and `balance` paid. */
  async function paysAcross(
    apis: readonly string[],
    payer: { keystore: string },
    payee: { address: string },
    balance = "500",
  ): Promise<string> {
    const sent = (await tally([
      "wallet",
      "send",
      payee.address,
      "500",
      "--keystore",
      payer.keystore,
      "--passphrase-file",
      join(dir, "pass"),
      "--node",
      apis[1]!,
    ])) as { id: string; status: string };
    assert.equal(sent.status, "applied");
    for (const api of apis) {
      const view = await new NodeClient(api).waitForResolution(sent.id, 30_000);
      assert.equal(view.status, "applied", api);
      assert.equal((await new NodeClient(api).account(payee.address)).balance, balance, api);
    }
    return sent.id;
  }

  /**
   * Each other host's record as the first host's node knows it: exactly one address, `expected(host)` with
   * its peer id — the one other hosts can dial.
   */
  async function assertRecords(api: string, ids: readonly string[], expected: (host: LabHost) => string) {
    const peers = (await (await fetch(`${api}/v1/node/peers`)).json()) as { members: Member[] };
    for (const [i, host] of lab.hosts.entries()) {
      if (i === 0) continue;
      const member = peers.members.find((m) => m.peerId === ids[i]);
      assert.ok(member !== undefined, `host ${i + 1} is a member`);
      assert.deepEqual(member.addrs, [`${expected(host)}/p2p/${ids[i]}`], `host ${i + 1}'s record`);
    }
  }

  /** `tally node init` for each host's node, its data in `dir/<tag>-<i>`: their peer ids, in host order. */
  async function initNodes(tag: string): Promise<string[]> {
    const ids: string[] = [];
    for (const [i] of lab.hosts.entries()) {
      const r = (await tally(["node", "init", "--data-dir", join(dir, `${tag}-${i}`)])) as { peerId: string };
      ids.push(r.peerId);
    }
    return ids;
  }

  /** An open network's genesis funding `payers`, with `bootstrap` and a small network's settings. */
  async function openGenesis(
    tag: string,
    network: string,
    payers: string | readonly string[],
    bootstrap: string,
  ): Promise<string> {
    const genesis = join(dir, `${tag}-genesis.json`);
    await tally([
      "genesis",
      "new",
      "--out",
      genesis,
      "--network",
      network,
      ...[payers].flat().flatMap((payer) => ["--balance", `${payer}=1000000`]),
      "--bootstrap",
      bootstrap,
      // A cheap identity, and records that expire in seconds.
      "--identity-difficulty",
      "8",
      "--record-ttl",
      "10",
      "--record-refresh",
      "2",
    ]);
    return genesis;
  }

  it("open membership: nodes listening on every interface find each other through one bootstrap host, a payment reaches all, and a node killed and restarted catches up", async () => {
    const ids = await initNodes("open");
    const [payer, payee] = await wallets("labnet", "open");
    const [first, , , last] = lab.hosts;
    const bootstrap = `/ip4/${first!.ip}/tcp/${P2P_PORT}/p2p/${ids[0]}`;
    const genesis = await openGenesis("open", "labnet", payer.address, bootstrap);
    // The last host has a second address and announces only that one (`--announce`).
    const announced = `${lab.prefix}.${100 + lab.hosts.length}`;
    await exec("ip", ["-n", last!.ns, "addr", "add", `${announced}/24`, "dev", last!.dev]);
    const startOpen = (i: number) =>
      startNode(
        lab.hosts[i]!,
        genesis,
        join(dir, `open-${i}`),
        lab.hosts[i] === last ? ["--announce", `/ip4/${announced}/tcp/${P2P_PORT}`] : [],
      );
    const started = lab.hosts.map((_, i) => startOpen(i));
    const apis = started.map((s) => s.api);
    for (const api of apis) await waitForHealth(api, 60_000);

    await assertRecords(
      apis[0]!,
      ids,
      (host) => `/ip4/${host === last ? announced : host.ip}/tcp/${P2P_PORT}`,
    );
    for (const api of apis) {
      const info = (await (await fetch(`${api}/v1/node`)).json()) as { peers: { connected: number } };
      assert.equal(info.peers.connected, lab.hosts.length - 1, `${api} is connected to every other host`);
    }
    await paysAcross(apis, payer, payee);

    // Host 3's node killed: a payment goes through without it; restarted from its data dir, it is dialled
    // back across the link and catches up.
    const victim = started[2]!.child;
    victim.kill("SIGKILL");
    if (running(victim)) await new Promise((r) => victim.once("exit", r));
    const whileDown = await paysAcross(
      apis.filter((_, i) => i !== 2),
      payer,
      payee,
      "1000",
    );
    startOpen(2);
    await waitForHealth(apis[2]!, 60_000);
    assert.equal((await new NodeClient(apis[2]!).waitForResolution(whileDown, 30_000)).status, "applied");
    assert.equal((await new NodeClient(apis[2]!).account(payee.address)).balance, "1000");
    await stopAll();
  });

  it("over IPv6 alone: nodes listening on [::] announce each host's address and not ::1, and a payment reaches all", async () => {
    const ids = await initNodes("v6");
    const [payer, payee] = await wallets("labnet-v6", "v6");
    const bootstrap = `/ip6/${lab.hosts[0]!.ip6}/tcp/${P2P_PORT}/p2p/${ids[0]}`;
    const genesis = await openGenesis("v6", "labnet-v6", payer.address, bootstrap);
    const apis = lab.hosts.map((host, i) => startNode(host, genesis, join(dir, `v6-${i}`), [], true).api);
    for (const api of apis) await waitForHealth(api, 60_000);
    await assertRecords(apis[0]!, ids, (host) => `/ip6/${host.ip6}/tcp/${P2P_PORT}`);
    await paysAcross(apis, payer, payee);
    await stopAll();
  });

  it("static membership: a genesis listing every host's node, Bracha, and a payment reaches all", async () => {
    const ids = await initNodes("static");
    const members = lab.hosts.map((host, i) => `/ip4/${host.ip}/tcp/${P2P_PORT}/p2p/${ids[i]}`);
    const [payer, payee] = await wallets("labnet-static", "static");
    const genesis = join(dir, "static-genesis.json");
    await tally([
      "genesis",
      "new",
      "--out",
      genesis,
      "--network",
      "labnet-static",
      "--membership",
      "static",
      "--broadcast",
      "bracha",
      "--balance",
      `${payer.address}=1000000`,
      ...members.flatMap((m) => ["--member", m]),
    ]);
    const apis = lab.hosts.map((host, i) => startNode(host, genesis, join(dir, `static-${i}`)).api);
    for (const api of apis) await waitForHealth(api, 60_000);
    await paysAcross(apis, payer, payee);
    await stopAll();
  });

  it("on slow links (every host's uplink at 1 Mbit/s): 400 pipelined transfers reach every node, and one killed during them catches up", async () => {
    const network = "labnet-slow";
    const ids = await initNodes("slow");
    const payers = Array.from({ length: 40 }, (_, i) => testKey(1_000 + i));
    const payee = testKey(2_000);
    const bootstrap = `/ip4/${lab.hosts[0]!.ip}/tcp/${P2P_PORT}/p2p/${ids[0]}`;
    const genesis = await openGenesis(
      "slow",
      network,
      payers.map((k) => k.address),
      bootstrap,
    );
    for (const host of lab.hosts)
      await exec("ip", lab.on(host, SLOW_UPLINK.replace("DEV", host.dev).split(" ")).slice(1));
    const started = lab.hosts.map((host, i) => startNode(host, genesis, join(dir, `slow-${i}`)));
    const apis = started.map((s) => s.api);
    for (const api of apis) await waitForHealth(api, 60_000);

    // Ten seqs per account, all signed up front and sent at once (the node holds those past 4 ahead), each
    // account's to one of hosts 1, 2 and 4: host 3's node is the one killed, and nothing is sent to it.
    const targets = [apis[0]!, apis[1]!, apis[3]!];
    const batches = targets.map(() => [] as ReturnType<typeof transferToJson>[]);
    for (const [i, payer] of payers.entries())
      for (let seq = 1; seq <= 10; seq++)
        batches[i % targets.length]!.push(
          transferToJson(
            makeTransfer(payer, seq, [{ to: payee.address, amount: 1n }], [], { network }).transfer,
          ),
        );
    const startedAt = performance.now();
    await Promise.all(
      targets.map(async (api, i) => {
        const response = await fetch(`${api}/v1/transfers:batch`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ transfers: batches[i] }),
        });
        assert.equal(response.status, 200, await response.text());
      }),
    );
    await untilPaid(apis[0]!, payee.address, 100);
    const first100 = (performance.now() - startedAt) / 1000;
    console.log(`# slow links: the first 100 applied on host 1 in ${first100.toFixed(1)} s, all nodes up`);
    const victim = started[2]!.child;
    victim.kill("SIGKILL");
    if (running(victim)) await new Promise((r) => victim.once("exit", r));
    for (const api of targets) await untilPaid(api, payee.address, 400);
    const seconds = (performance.now() - startedAt) / 1000;
    console.log(`# slow links: 400 transfers applied on the 3 live nodes in ${seconds.toFixed(1)} s`);
    startNode(lab.hosts[2]!, genesis, join(dir, "slow-2"));
    await waitForHealth(apis[2]!, 60_000);
    await untilPaid(apis[2]!, payee.address, 400);
    console.log(
      `# slow links: the restarted node caught up ${((performance.now() - startedAt) / 1000 - seconds).toFixed(1)} s later`,
    );
    for (const api of apis)
      assert.equal((await new NodeClient(api).account(payers[0]!.address)).nextSeq, 11, api);
    await stopAll();
  });
});

/** Shapes a host's uplink (DEV, run inside its namespace) with a token bucket: 1 Mbit/s, 400 ms of queue at most. */
const SLOW_UPLINK = "tc qdisc add dev DEV root tbf rate 1mbit burst 32kbit latency 400ms";

/** Waits until `api` reports `address` holding `balance` (2 minutes at most). */
async function untilPaid(api: string, address: string, balance: number): Promise<void> {
  const client = new NodeClient(api);
  const deadline = Date.now() + 120_000;
  let last = "";
  while (Date.now() < deadline) {
    last = (await client.account(address)).balance;
    if (BigInt(last) >= BigInt(balance)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`${api}: ${address} holds ${last}, not ${balance}, after 2 minutes`);
}
