import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { transferToJson } from "../../src/core/transferJson.ts";
import { type DevnetNode, nodeGcFlags } from "../../src/devnet/devnet.ts";
import { type Keystore, newKeystore, readKeystore } from "../../src/wallet/keystore.ts";
import { NodeClient, NodeRequestError } from "../../src/wallet/nodeClient.ts";
import { prepareNextTransfer } from "../../src/wallet/prepareTransfer.ts";
import { buildSignedTransfer } from "../../src/wallet/signTransfer.ts";
import { MAIN_TS, type RunningDevnet, startDevnet, waitForHealth } from "../support/devnetProcess.ts";

const run = promisify(execFile);
const TRANSFERS = Number(process.env.TALLY_DEVNET_TRANSFERS ?? 200);
const MODES = (process.env.TALLY_DEVNET_MODES ?? "contagion,bracha").split(",");

describe("devnet garbage-collector flags", () => {
  it("scavenges on the node's own thread only when the devnet has a node for every core", () => {
    assert.deepEqual(nodeGcFlags(4, 2), ["--max-semi-space-size=8", "--no-parallel-scavenge"]);
    assert.deepEqual(nodeGcFlags(2, 2), ["--max-semi-space-size=8", "--no-parallel-scavenge"]);
    assert.deepEqual(nodeGcFlags(1, 2), ["--max-semi-space-size=8"]);
    assert.deepEqual(nodeGcFlags(4, 16), ["--max-semi-space-size=8"]);
  });
});

/**
 * Pays like `tally wallet send`: the same preparation code (next seq, pending deps, waiting for a
 * lagging node to apply the wallet's previous transfer), then waits until applied.
 */
async function pay(
  client: NodeClient,
  wallet: { keystore: Keystore },
  to: string,
  amount: bigint,
): Promise<string> {
  const { signed, keystore } = await prepareNextTransfer(client, wallet.keystore, {
    outputs: [{ to, amount }],
  });
  wallet.keystore = keystore;
  const { id } = await client.submit(transferToJson(signed.transfer));
  const view = await client.waitForResolution(id, 30_000);
  assert.equal(view.status, "applied", `transfer ${id}: ${JSON.stringify(view.reason)}`);
  return id;
}

async function snapshot(node: DevnetNode, addresses: readonly string[]): Promise<string[]> {
  const client = new NodeClient(node.api);
  return Promise.all(addresses.map(async (a) => JSON.stringify(await client.account(a))));
}

for (const MODE of MODES) {
  describe(`a 4-node devnet of real processes (${MODE})`, { timeout: 300_000 }, () => {
    let devnet: RunningDevnet;
    let wallets: { keystore: Keystore }[];
    let everyone: string[];
    const network = "tally-devnet";

    before(async () => {
      devnet = await startDevnet(["--nodes", "4", "--wallets", "4", "--broadcast", MODE]);
      wallets = await Promise.all(
        devnet.file.wallets.map(async (w) => ({
          keystore: await readKeystore(w.keystore, { passphraseFile: w.passphraseFile }),
        })),
      );
      const strangers = Array.from({ length: 4 }, () => newKeystore().address);
      everyone = [...wallets.map((w) => w.keystore.address), ...strangers];
    });
    after(async () => {
      await devnet?.stop();
    });

    it("starts its nodes with the garbage-collector flags for this machine", async () => {
      const expected = nodeGcFlags(4);
      for (const node of devnet.file.nodes) {
        const argv = (await readFile(`/proc/${node.pid}/cmdline`, "utf8")).split("\0");
        for (const flag of expected) assert.ok(argv.includes(flag), `${node.name} runs without ${flag}`);
        // Four nodes on fewer than four cores: no node has a core to spare for parallel scavenging.
        if (availableParallelism() < 4) assert.ok(argv.includes("--no-parallel-scavenge"), node.name);
      }
    });

    it(`applies ${TRANSFERS} transfers submitted to random nodes and every node reports the same balances`, async () => {
      const nodes = devnet.file.nodes;
      const perWallet = Math.ceil(TRANSFERS / wallets.length);
      let sent = 0;
      const started = performance.now();
      await Promise.all(
        wallets.map(async (wallet, w) => {
          for (let i = 0; i < perWallet && sent < TRANSFERS; i++) {
            sent++;
            const node = nodes[(w * 7 + i * 3) % nodes.length]!;
            const to = everyone[(w + 1 + i) % everyone.length]!;
            const recipient = to === wallet.keystore.address ? everyone.at(-1)! : to;
            await pay(new NodeClient(node.api), wallet, recipient, BigInt(1 + (i % 17)));
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `# ${MODE}: ${TRANSFERS} transfers, 4 wallets in parallel, ${seconds.toFixed(1)} s: ${(TRANSFERS / seconds).toFixed(0)} transfers/s, ${((seconds * 1000 * wallets.length) / TRANSFERS).toFixed(0)} ms per transfer end to end`,
      );

      const views = await Promise.all(nodes.map((n) => snapshot(n, everyone)));
      for (const view of views.slice(1)) assert.deepEqual(view, views[0]);
      const supply = (
        await Promise.all(everyone.map((a) => new NodeClient(nodes[0]!.api).account(a)))
      ).reduce((sum, a) => sum + BigInt(a.balance), 0n);
      assert.equal(supply, 4n * 1_000_000_000_000n, "supply conserved");
    });

    it("rejects a bad signature with 400 and never applies a second transfer for a used seq", async () => {
      const [n0, n1] = devnet.file.nodes;
      const wallet = wallets[0]!.keystore;
      const client = new NodeClient(n0!.api);
      const account = await client.account(wallet.address);
      const good = buildSignedTransfer(wallet, {
        network,
        seq: account.nextSeq,
        outputs: [{ to: everyone[5]!, amount: 5n }],
        deps: account.pendingDeps,
      });
      const forged = transferToJson(good.transfer);
      const signature = forged.signature!;
      forged.signature = `${signature.slice(0, -2)}${signature.endsWith("00") ? "01" : "00"}`;
      await assert.rejects(
        client.submit(forged),
        (e: unknown) => e instanceof NodeRequestError && e.status === 400 && e.code === "BAD_SIGNATURE",
      );

      const firstId = await pay(client, wallets[0]!, everyone[5]!, 5n);
      const usedSeq = account.nextSeq;
      const usedSeqTwin = buildSignedTransfer(wallet, {
        network,
        seq: usedSeq,
        outputs: [{ to: everyone[6]!, amount: 7n }],
        deps: [],
      });
      await assert.rejects(
        new NodeClient(n1!.api).submit(transferToJson(usedSeqTwin.transfer)),
        (e: unknown) => e instanceof NodeRequestError && e.status === 409,
      );

      for (const n of devnet.file.nodes) {
        const c = new NodeClient(n.api);
        assert.notEqual((await c.transfer(usedSeqTwin.id).catch(() => undefined))?.status, "applied");
        assert.equal((await c.waitForResolution(firstId, 10_000)).status, "applied");
      }
    });

    // Twin A goes to n0–n2 while n3 is frozen with twin B: the twins' echoes split 3 to 1, and the echo
    // quorum (Bracha's, or contagion's full-membership quorums at this size) lets A win everywhere.
    it("a double spend raced into the network applies one twin at most, the same on every node", async () => {
      const [n0, n1, n2, n3] = devnet.file.nodes;
      const client = new NodeClient(n0!.api);
      // Twins: two different transfers for one fresh seq of another wallet, raced into the network at once.
      // Secure broadcast alone may deliver neither on an even split, so the race is set up to have exactly one
      // possible winner and still really happen: n3 is frozen (SIGSTOP), twin B is sent to it and twin A to the
      // other three, so A is the first payload n0..n2 see and B the first that can reach n3's API. On SIGCONT
      // n3 either accepts B (202) and broadcasts it against A, or has already heard of A and refuses B (409:
      // SEQ_CONFLICT while A is in flight, STALE_SEQ once it is applied).
      const racer = wallets[3]!.keystore;
      const before = await client.account(racer.address);
      const twin = (to: string, amount: bigint) =>
        buildSignedTransfer(racer, {
          network,
          seq: before.nextSeq,
          outputs: [{ to, amount }],
          deps: before.pendingDeps,
        });
      const a = twin(everyone[5]!, 3n);
      const b = twin(everyone[6]!, 4n);
      process.kill(n3!.pid, "SIGSTOP");
      let bOutcome: Promise<string>;
      try {
        bOutcome = new NodeClient(n3!.api, { timeoutMs: 30_000 }).submit(transferToJson(b.transfer)).then(
          (r) => `${r.status}`,
          (e: unknown) => (e instanceof NodeRequestError ? `${e.status} ${e.code}` : String(e)),
        );
        await Promise.allSettled(
          [n0!, n1!, n2!].map((n) => new NodeClient(n.api).submit(transferToJson(a.transfer))),
        );
      } finally {
        process.kill(n3!.pid, "SIGCONT");
      }
      const submittedB = await bOutcome;
      assert.ok(
        ["pending", "409 SEQ_CONFLICT", "409 STALE_SEQ"].includes(submittedB),
        `twin B reached n3's API: ${submittedB}`,
      );

      const status = async (n: DevnetNode, id: string) =>
        (await new NodeClient(n.api).transfer(id).catch(() => undefined))?.status ?? "unknown";
      const settled = (s: string[]) => s[0] === "applied" && s[1] !== "pending" && s[1] !== "delivered";
      const deadline = Date.now() + 10_000;
      let statuses: string[][] = [];
      for (;;) {
        statuses = await Promise.all(
          devnet.file.nodes.map(async (n) => [await status(n, a.id), await status(n, b.id)]),
        );
        if (statuses.every(settled) || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const report = `B at n3: ${submittedB}; [A, B] per node: ${JSON.stringify(statuses)}`;
      if (MODE === "contagion" && submittedB === "pending") {
        // The open devnet samples with the 1,000-node parameters: each of a node's 3 peers carries ≈ 1/3 of
        // its samples and echo-delivery needs 72 %, so nearly all three. With n3 echoing B, A has ≈ 2 of 3 at
        // every node, so mostly neither twin wins, which secure broadcast allows for an equivocating source.
        // But a sample is random draws, partly redrawn at each refresh: where n3's share of a node's sample
        // falls under 28 %, A is echo-delivered there and then readied everywhere. What must hold is that B
        // (echoed by n3 alone) wins nowhere and the nodes agree: A applied on all four, or on none.
        const appliedA = statuses.filter(([statusA]) => statusA === "applied").length;
        for (const [i, [, statusB]] of statuses.entries())
          assert.notEqual(statusB, "applied", `n${i} (${report})`);
        assert.ok(appliedA === 0 || appliedA === statuses.length, `the nodes disagree (${report})`);
        if (appliedA === 0) {
          console.log(`# ${MODE}: double-spend race, 3 to 1: neither twin applied: ${report}`);
          return;
        }
        // A won: every check of the 3-to-1 race below holds.
        console.log(
          `# ${MODE}: double-spend race, 3 to 1: twin A applied through a sample's draws: ${report}`,
        );
      }
      for (const [i, [statusA, statusB]] of statuses.entries()) {
        assert.equal(statusA, "applied", `n${i} applied twin A (${report})`);
        // B lost everywhere: refused at the door, superseded where it was accepted, unknown elsewhere.
        assert.ok(statusB === "rejected" || statusB === "unknown", `n${i} has twin B ${statusB} (${report})`);
      }
      if (submittedB === "pending") {
        const lost = await new NodeClient(n3!.api).transfer(b.id);
        assert.equal(lost.status, "rejected", report);
        assert.equal(lost.reason?.code, "SEQ_CONFLICT", report);
      }
      // Exactly one twin's money moved, the same on every node.
      for (const n of devnet.file.nodes) {
        const after = await new NodeClient(n.api).account(racer.address);
        assert.equal(after.nextSeq, before.nextSeq + 1, `${n.api}: one transfer took the seq`);
        assert.equal(
          BigInt(after.balance),
          BigInt(before.balance) - 3n,
          `${n.api}: A's 3 left, B's 4 did not`,
        );
      }
      console.log(`# ${MODE}: double-spend race: ${report}`);
    });

    it("applies 20 transfers a wallet sends one node in reverse seq order, each answered pending", async () => {
      const [n0] = devnet.file.nodes;
      const client = new NodeClient(n0!.api);
      const wallet = wallets[2]!.keystore;
      const before = await client.account(wallet.address);
      const pipelined = Array.from({ length: 20 }, (_, i) =>
        buildSignedTransfer(wallet, {
          network,
          seq: before.nextSeq + i,
          outputs: [{ to: everyone[7]!, amount: 1n }],
          deps: i === 0 ? before.pendingDeps : [],
        }),
      );
      // Later seqs first: more than the 8 places the account has in n0's broadcast table. Before n0 held
      // those more than 4 past the next seq back, the ninth POST and every one after it (the next seq
      // included) was refused as PENDING_FULL.
      for (const t of [...pipelined].reverse()) {
        const answer = await client.submit(transferToJson(t.transfer));
        assert.equal(answer.status, "pending", `seq ${t.transfer.seq}`);
      }
      for (const n of devnet.file.nodes) {
        const c = new NodeClient(n.api);
        for (const t of pipelined)
          assert.equal(
            (await c.waitForResolution(t.id, 30_000)).status,
            "applied",
            `${n.api} seq ${t.transfer.seq}`,
          );
        assert.equal((await c.account(wallet.address)).nextSeq, before.nextSeq + 20);
      }
    });

    it("a pipelined transfer its predecessor leaves unfunded, sent to two nodes, is rejected there, and its seq takes another", async () => {
      const [n0, n1, n2] = devnet.file.nodes;
      const wallet = wallets[1]!.keystore;
      const before = await new NodeClient(n2!.api).account(wallet.address);
      const sign = (seq: number, amount: bigint, deps: readonly string[] = []) =>
        buildSignedTransfer(wallet, { network, seq, outputs: [{ to: everyone[6]!, amount }], deps });
      // Seq n+1 spends the whole balance, seq n takes 1 of it first. A careful client that hears nothing sends
      // n+1 to a second node: two of the four hold it. Until this node echoed only what peers would, both
      // echoed it at once, and with two echoes for it no other transfer could gather the three an echo quorum
      // needs: the account's seq n+1 was lost for good.
      const overdraft = sign(before.nextSeq + 1, BigInt(before.balance));
      const first = sign(before.nextSeq, 1n, before.pendingDeps);
      for (const n of [n0!, n1!]) {
        const answer = await new NodeClient(n.api).submit(transferToJson(overdraft.transfer));
        assert.equal(answer.status, "pending", n.api);
      }
      await new NodeClient(n2!.api).submit(transferToJson(first.transfer));
      for (const n of [n0!, n1!]) {
        const view = await new NodeClient(n.api).waitForResolution(overdraft.id, 30_000);
        assert.equal(view.status, "rejected", n.api);
        assert.equal(view.reason?.code, "INSUFFICIENT_FUNDS", n.api);
      }
      // Another transfer for seq n+1, through one of the nodes that refused the first: applied everywhere.
      const replacement = sign(before.nextSeq + 1, 1n);
      assert.equal(
        (await new NodeClient(n0!.api).submit(transferToJson(replacement.transfer))).status,
        "pending",
      );
      for (const n of devnet.file.nodes) {
        const c = new NodeClient(n.api);
        assert.equal((await c.waitForResolution(replacement.id, 30_000)).status, "applied", n.api);
        assert.equal((await c.account(wallet.address)).nextSeq, before.nextSeq + 2, n.api);
      }
    });

    it("the wallet CLI sends, and a node killed with SIGKILL comes back with the same state", async () => {
      const nodes = devnet.file.nodes;
      const dev = devnet.file.wallets[0]!;
      const { stdout } = await run(process.execPath, [
        MAIN_TS,
        "wallet",
        "send",
        everyone[7]!,
        "11",
        "--keystore",
        dev.keystore,
        "--passphrase-file",
        dev.passphraseFile,
        "--node",
        nodes[3]!.api,
        "--json",
      ]);
      assert.equal(JSON.parse(stdout).status, "applied");

      const victim = nodes[1]!;
      const before = await snapshot(victim, everyone);
      process.kill(victim.pid, "SIGKILL");
      await new Promise((r) => setTimeout(r, 300));
      devnet.restart(victim);
      await waitForHealth(victim.api);
      assert.deepEqual(await snapshot(victim, everyone), before);
      const history = await new NodeClient(victim.api).accountTransfers(everyone[7]!);
      assert.ok(history.transfers.some((t) => t.direction === "in" && t.status === "applied"));
    });
  });
}
