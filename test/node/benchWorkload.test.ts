import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { test } from "node:test";
import fc from "fast-check";
import { ApplyBook } from "../../src/bench/applyBook.ts";
import {
  dependentOf,
  depIndexOf,
  deterministicSigners,
  type SignedWorkload,
  signWorkload,
} from "../../src/bench/benchWorkload.ts";
import { presignCount } from "../../src/bench/devnetBench.ts";
import { LoadDriver } from "../../src/bench/loadDriver.ts";
import { PrerequisiteTracker } from "../../src/bench/prerequisites.ts";
import { decodeTransfer } from "../../src/core/transfer.ts";
import { splitTransferBatch } from "../../src/core/transferBatch.ts";
import { transferToJson } from "../../src/core/transferJson.ts";
import { sodiumVerifier } from "../../src/crypto/ed25519Sodium.ts";
import { SignatureAuthorizer } from "../../src/ledger/authorization.ts";
import { Ledger } from "../../src/ledger/ledger.ts";
import { MemoryLedgerStore } from "../../src/ledger/memoryStore.ts";

const NETWORK = "tally-bench-test";
const signers = deterministicSigners(5);
const withDeps = signWorkload(signers, 4, NETWORK);
const noDeps = signWorkload(signers, 4, NETWORK, false);

interface TransferShape {
  source: string;
  seq: number;
  outputs: { to: string; amount: string }[];
  deps: string[];
}
const parsed = (w: SignedWorkload, n: number) =>
  JSON.parse(JSON.stringify(transferToJson(decodeTransfer(w.bytes[n]!).transfer))) as TransferShape;

test("workload: each round-k (k ≥ 2) transfer references the payment received in round k−1", () => {
  const A = signers.length;
  for (let n = 0; n < withDeps.ids.length; n++) {
    const t = parsed(withDeps, n);
    const i = n % A;
    assert.equal(t.source, signers[i]!.address);
    assert.equal(t.seq, Math.floor(n / A) + 1);
    assert.deepEqual(t.outputs, [{ to: signers[(i + 1) % A]!.address, amount: "1" }]);
    if (n < A) {
      assert.deepEqual(t.deps, [], "round 1 has no dep");
      continue;
    }
    assert.equal(t.deps.length, 1);
    const dep = withDeps.ids.indexOf(t.deps[0]!);
    const paid = parsed(withDeps, dep);
    assert.equal(paid.source, signers[(i + A - 1) % A]!.address, "from the previous account");
    assert.equal(paid.outputs[0]!.to, t.source, "a payment to this account");
    assert.equal(paid.seq, t.seq - 1, "in the previous round");
    assert.equal(depIndexOf(withDeps, n), dep);
    assert.equal(dependentOf(withDeps, dep), n);
  }
  for (let n = 0; n < noDeps.ids.length; n++) assert.deepEqual(parsed(noDeps, n).deps, []);
});

test("workload: with deps a ledger keeps one unreferenced payment per account, without it keeps them all", () => {
  const unreferenced = (w: SignedWorkload) => {
    const ledger = new Ledger(
      { network: NETWORK, balances: signers.map((s) => ({ address: s.address, amount: 1_000n })) },
      new MemoryLedgerStore(),
      new SignatureAuthorizer(sodiumVerifier),
    );
    for (const bytes of w.bytes) {
      const changes = ledger.deliver(decodeTransfer(bytes));
      assert.equal(changes[0]!.status, "applied");
    }
    return signers.map((s) => ledger.account(s.address).pendingDeps.length);
  };
  assert.deepEqual(unreferenced(withDeps), [1, 1, 1, 1, 1]);
  assert.deepEqual(unreferenced(noDeps), [4, 4, 4, 4, 4]);
});

test("presign count: 10 % over rate × (warmup + duration), rounded up; saturation signs for 6000/s", () => {
  assert.equal(presignCount(100, 0, 10), 1100);
  assert.equal(presignCount(7, 1, 2), 24); // 23.1
  assert.equal(presignCount(undefined, 3, 20), 151_800);
});

test("prerequisites: whatever order transfers settle in, none is released before its predecessor and dep", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.nat(), { minLength: 60, maxLength: 60 }),
      (accounts, perAccount, picks) => {
        const shape = { accounts, perAccount, withDeps: true };
        const tracker = new PrerequisiteTracker(shape);
        const settled = new Set<number>();
        const inFlight: number[] = [];
        const release = (n: number) => {
          assert.ok(n < accounts || settled.has(n - accounts), `${n} before its predecessor`);
          const dep = depIndexOf(shape, n);
          assert.ok(dep < 0 || settled.has(dep), `${n} before its dep ${dep}`);
          inFlight.push(n);
        };
        for (const n of tracker.initial()) release(n);
        // The network applies whatever is in flight, in an arbitrary order.
        for (let k = 0; inFlight.length > 0; k++) {
          const [n] = inFlight.splice((picks[k % picks.length] ?? 0) % inFlight.length, 1);
          settled.add(n!);
          tracker.settled(n!, true, release);
        }
        assert.equal(settled.size, accounts * perAccount, "every transfer is eventually released");
      },
    ),
  );
});

test("prerequisites: a refused dep is never counted as applied", () => {
  const shape = { accounts: 3, perAccount: 2, withDeps: true };
  const tracker = new PrerequisiteTracker(shape);
  const released: number[] = [];
  for (const n of [0, 1, 2]) tracker.settled(n, n !== 0, (r) => released.push(r));
  // 3 (account 0) references 2; 4 (account 1) references 0, which was refused; 5 references 1.
  assert.deepEqual(released.sort(), [3, 5]);
  assert.equal(tracker.isReleased(4), false);
});

/**
 * Two fake nodes behind real HTTP: each checks, as a node's precheck would, that every transfer it is sent
 * has its dep applied "everywhere" already, then applies it after a while by telling the driver.
 */
for (const format of ["binary", "json"] as const)
  test(`load driver (${format} batches): a transfer is POSTed only once its dep is applied on every node`, async () => {
    const w = signWorkload(deterministicSigners(6), 5, NETWORK, true, format);
    const A = w.accounts;
    const total = w.ids.length;
    const book = new ApplyBook(total, 1);
    const appliedEverywhere = new Set<number>();
    const accountOf = new Map(deterministicSigners(6).map((s, i) => [s.address, i]));
    const violations: string[] = [];
    let posted = 0;
    let driver: LoadDriver | undefined;
    let done: () => void = () => {};
    const finished = new Promise<void>((r) => (done = r));
    let busyOnce = true;
    let maxUnsettled = 0;
    const handler = async (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const binary = req.headers["content-type"] === "application/octet-stream";
      if (binary !== (format === "binary")) violations.push(`a ${req.headers["content-type"]} body`);
      const transfers: { source: string; seq: number }[] = binary
        ? splitTransferBatch(body, 1_000).map((b) => decodeTransfer(b).transfer)
        : (JSON.parse(body.toString()) as { transfers: TransferShape[] }).transfers;
      const results = transfers.map((t) => {
        const n = (t.seq - 1) * A + accountOf.get(t.source)!;
        // The first one sent is answered "busy" once: the retry must respect the same rule.
        if (busyOnce) {
          busyOnce = false;
          return { code: "PENDING_FULL" };
        }
        const dep = depIndexOf(w, n);
        if (dep >= 0 && !appliedEverywhere.has(dep)) violations.push(`${n} sent before its dep ${dep}`);
        if (n >= A && !appliedEverywhere.has(n - A)) violations.push(`${n} sent before ${n - A}`);
        posted++;
        // Applied a varying while later, so transfers settle out of order.
        setTimeout(
          () => {
            maxUnsettled = Math.max(maxUnsettled, driver!.unsettled);
            appliedEverywhere.add(n);
            driver!.settled(n, true);
            if (appliedEverywhere.size === total) done();
          },
          (n * 7) % 13,
        );
        return { id: w.ids[n] };
      });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ results }));
    };
    const servers = [createServer(handler), createServer(handler)];
    try {
      for (const s of servers) {
        s.listen(0, "127.0.0.1");
        await once(s, "listening");
      }
      const apis = servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`);
      driver = new LoadDriver(apis, w, book, { batch: 2, inFlight: 2 }, () => performance.now());
      driver.start();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([finished, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer);
      await driver.stop();
      assert.deepEqual(violations, []);
      assert.equal(appliedEverywhere.size, total, "every transfer was sent and applied");
      assert.equal(posted, total);
      assert.equal(driver.retried, 1);
      // What a prewarm waits for before the next run signs on: none left, the "busy" answer never counted.
      assert.equal(driver.unsettled, 0);
      // While it ran, transfers the nodes took were counted until settled: at most one per account.
      assert.ok(maxUnsettled > 0 && maxUnsettled <= A, `at most ${maxUnsettled} unsettled`);
      assert.equal(driver.submitted, total);
      assert.equal(driver.submittedWithDeps, total - A);
      assert.equal(driver.ranDry, true);
      assert.equal(driver.failed, undefined);
    } finally {
      for (const s of servers) s.close();
    }
  });

/**
 * Open loop against fake nodes that apply whatever they are sent a few ms later: each node is sent its 1/N
 * of what comes due, at its own turn in the tick — one request per turn, consecutive requests going to
 * different nodes rather than arriving together. Twelve nodes have turns closer than the timer's 1 ms.
 */
for (const [nodes, rate] of [
  [2, 800],
  [12, 1_200],
] as const)
  test(`load driver (open loop, ${nodes} nodes): each node gets its share of the rate at its own turn, one request a turn`, async () => {
    const signers = deterministicSigners(400);
    const w = signWorkload(signers, 4, NETWORK, true, "binary");
    const accountOf = new Map(signers.map((s, i) => [s.address, i]));
    const book = new ApplyBook(w.ids.length, 1);
    const requests: { node: number; transfers: number }[] = [];
    let driver: LoadDriver | undefined;
    const servers = Array.from({ length: nodes }, (_, node) =>
      createServer(async (req: IncomingMessage, res: ServerResponse) => {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const transfers = splitTransferBatch(Buffer.concat(chunks), 1_000).map(
          (b) => decodeTransfer(b).transfer,
        );
        requests.push({ node, transfers: transfers.length });
        for (const t of transfers) {
          const n = (t.seq - 1) * w.accounts + accountOf.get(t.source)!;
          setTimeout(() => driver!.settled(n, true), 3);
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ results: transfers.map(() => ({})) }));
      }),
    );
    try {
      for (const s of servers) {
        s.listen(0, "127.0.0.1");
        await once(s, "listening");
      }
      const apis = servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`);
      driver = new LoadDriver(apis, w, book, { batch: 100, inFlight: 8, rate }, () => performance.now());
      // The driver and the fake nodes share this process's event loop: while it stalls (a loaded test
      // machine), nothing is sent or received. What comes due in the longest stall is the slack allowed.
      const stalls = monitorEventLoopDelay({ resolution: 1 });
      stalls.enable();
      const startedAt = performance.now();
      driver.start();
      await new Promise((r) => setTimeout(r, 1_000));
      const late = driver.late;
      const elapsedMs = performance.now() - startedAt;
      stalls.disable();
      await driver.stop();
      assert.equal(driver.failed, undefined);
      const stallSlack = Math.ceil((stalls.max / 1e9) * rate);
      const due = Math.floor((elapsedMs / 1000) * rate);
      const sent = requests.reduce((sum, r) => sum + r.transfers, 0);
      // Sent at the nodes' turns: at most one tick (10 ms, 8 transfers) behind what is due, nothing ahead.
      assert.ok(
        sent <= due && sent >= due - 0.01 * rate - nodes - stallSlack,
        `sent ${sent} of ${due} due (longest stall ${(stalls.max / 1e6).toFixed(1)} ms)`,
      );
      // 400 accounts are never all busy: what is owed waits only for its node's turn.
      assert.ok(late <= 0.01 * rate + nodes + stallSlack, `${late} owed`);
      const perNode = [0, 1].map((node) =>
        requests.filter((r) => r.node === node).reduce((s, r) => s + r.transfers, 0),
      );
      assert.ok(Math.abs(perNode[0]! - perNode[1]!) <= 0.01 * rate, `shares ${perNode.join(" / ")}`);
      // One request per node per 10 ms tick (≈ 100 in a second each), not several small ones.
      for (const node of servers.keys()) {
        const count = requests.filter((r) => r.node === node).length;
        assert.ok(
          count <= elapsedMs / 10 + 2,
          `node ${node}: ${count} requests in ${elapsedMs.toFixed(0)} ms`,
        );
      }
      // Turns alternate: consecutive requests go to different nodes (allowing a few that timers bunched).
      let alternations = 0;
      for (let i = 1; i < requests.length; i++)
        if (requests[i]!.node !== requests[i - 1]!.node) alternations++;
      assert.ok(
        alternations >= 0.9 * (requests.length - 1),
        `${alternations} of ${requests.length - 1} alternate`,
      );
    } finally {
      for (const s of servers) s.close();
    }
  });
