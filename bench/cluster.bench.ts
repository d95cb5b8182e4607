/**
 * The nodes' processing path without their I/O drivers: N complete node cores — ledger over a real LevelDB
 * (fsynced batch per step), payload inspector with libsodium, the genesis's broadcast, the channel layer's
 * admission and fair scheduling, vote batching — in one process on one thread, their messages handed over in
 * memory instead of libp2p and the transfers handed in decoded instead of over HTTP. Each node runs steps as
 * the node's `ProcessingLoop` does.
 *
 * What it is for: judging a change to the cores. A devnet's figures move ±10 % with the hour on a shared
 * machine, and four node processes contend for two cores; this runs the same code single-threaded and prints
 * the CPU per transfer per node both in µs and in units of one libsodium verify measured in the same run, which
 * cancels most of the machine's drift. It leaves out libp2p (Noise, yamux, TCP), the HTTP API and event
 * streams: the devnet bench (`tally bench`) measures everything.
 *
 * Run: node bench/cluster.bench.ts [--nodes 4] [--transfers 20000] [--accounts 1000] [--bracha]
 *      [--json]  (CPU is the whole process: main thread and LevelDB's threads)
 *
 * `--seed N` makes a run replayable: the nodes' keys and random draws come from N and their clock is virtual
 * (one ms per step), so the same code does the same work every time. `--callgrind-window` (under valgrind's
 * callgrind, started with `--instr-atstart=no`) counts instructions inside the measured window only.
 * `node bench/instructions.bench.ts` drives both: instructions per transfer per node, against another
 * checkout in the same run.
 */

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generateKeyPair, generateKeyPairFromSeed } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import pino from "pino";
import sodium from "sodium-native";
import { defaultContagionParams } from "../src/analysis/defaultParams.ts";
import { depIndexOf, deterministicSigners } from "../src/bench/benchWorkload.ts";
import { BENCH_NETWORK, signRingPayment } from "../src/bench/ringWorkload.ts";
import { Channels } from "../src/channels/channels.ts";
import { decodeAddress } from "../src/core/address.ts";
import type { PeerId } from "../src/core/peerId.ts";
import { decodeTransfer, type EncodedTransfer } from "../src/core/transfer.ts";
import { genesisHash, parseGenesis } from "../src/genesis/genesis.ts";
import { assembleCore } from "../src/node/assembleCore.ts";
import type { NodeCore } from "../src/node/core/nodeCore.ts";
import type { NodeAction, NodeEvent } from "../src/node/core/nodeEvents.ts";
import { setUpMembership } from "../src/node/membershipSetup.ts";
import { NodeNetwork } from "../src/node/nodeNetwork.ts";
import type { P2PTransport } from "../src/p2p/transport.ts";
import { BROADCAST_CHANNEL } from "../src/protocols/broadcast/broadcastChannel.ts";
import { COMMITTEES_CHANNEL } from "../src/protocols/committees/committeeChannel.ts";
import { STATUS_CHANNEL } from "../src/protocols/status/statusChannel.ts";
import { SYNC_CHANNEL } from "../src/protocols/sync/syncChannel.ts";
import { childSeed, seededRandom } from "../src/sim/prng.ts";
import { type BatchOp, type NodeDatabase, openDatabase, writeBatch } from "../src/storage/database.ts";
import { LevelLedgerStore } from "../src/storage/levelLedgerStore.ts";

const { values: args } = parseArgs({
  options: {
    nodes: { type: "string", default: "4" },
    transfers: { type: "string", default: "20000" },
    accounts: { type: "string", default: "1000" },
    bracha: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    seed: { type: "string" },
    "callgrind-window": { type: "boolean", default: false },
  },
});
const NODES = Number(args.nodes);
const TRANSFERS = Number(args.transfers);
const ACCOUNTS = Math.min(Number(args.accounts), TRANSFERS);
/** Replayable runs: one stream of draws for keys and samples, and a clock that only steps move. */
const seeded = args.seed === undefined ? undefined : seededRandom(Number(args.seed));
let virtualMs = 1_800_000_000_000;
const now = (): number => (seeded === undefined ? Date.now() : virtualMs);
/** What a replayable run did, reported with `--seed`: two runs with one seed must match exactly. */
const replay = { steps: 0, messages: 0, bytes: 0 };
/**
 * Every message sent, in order, with its sender and receiver: the run's behaviour in one hash. Not while
 * counting instructions: hashing the wire would be counted as the nodes' work.
 */
const wireHash = seeded !== undefined && !args["callgrind-window"] ? createHash("sha256") : undefined;
/** The node's defaults: events per step, and a tick every 250 ms. */
const MAX_EVENTS_PER_STEP = 2_000;
const TICK_MS = 250;
/** Submissions handed to each node per step while fewer than WINDOW are unapplied somewhere. */
const SUBMISSIONS_PER_STEP = 100;
const WINDOW = 4_000;
/** The first transfers warm the JIT and the caches; the clock covers the rest. */
const WARMUP_FRACTION = 0.2;

const PROTOCOLS = [BROADCAST_CHANNEL, STATUS_CHANNEL, SYNC_CHANNEL, COMMITTEES_CHANNEL];

interface WireMessage {
  readonly from: PeerId;
  readonly bytes: Uint8Array;
}

interface BenchNode {
  readonly peerId: PeerId;
  readonly db: NodeDatabase;
  readonly store: LevelLedgerStore;
  readonly core: NodeCore;
  readonly network: NodeNetwork;
  readonly inbox: NodeEvent[];
  readonly wire: WireMessage[];
  applied: number;
  lastTickMs: number;
}

function signTransfers(): EncodedTransfer[] {
  const signers = deterministicSigners(ACCOUNTS);
  const shape = { accounts: ACCOUNTS, withDeps: true };
  const out: EncodedTransfer[] = [];
  for (let n = 0; n < TRANSFERS; n++) {
    const i = n % ACCOUNTS;
    const dep = depIndexOf(shape, n);
    const seq = 1 + Math.floor(n / ACCOUNTS);
    const to = signers[(i + 1) % ACCOUNTS]!.address;
    out.push(signRingPayment(signers[i]!, to, seq, BENCH_NETWORK, dep < 0 ? undefined : out[dep]!.id));
  }
  return out;
}

/** libsodium verify µs over the workload's signatures: the unit the cores' cost is counted in. */
function verifyMicros(transfers: readonly EncodedTransfer[]): number {
  const inputs = transfers.map((t) => ({
    signature: Buffer.from(t.transfer.signature),
    body: Buffer.from(t.body),
    key: Buffer.from(decodeAddress(t.transfer.source).key),
  }));
  const start = process.cpuUsage();
  let ok = 0;
  for (const { signature, body, key } of inputs)
    if (sodium.crypto_sign_verify_detached(signature, body, key)) ok++;
  const used = process.cpuUsage(start);
  if (ok !== inputs.length) throw new Error("a workload signature failed to verify");
  return (used.user + used.system) / inputs.length;
}

async function startNodes(dir: string): Promise<BenchNode[]> {
  const peerIds = await Promise.all(
    Array.from({ length: NODES }, async () =>
      peerIdFromPrivateKey(
        seeded === undefined
          ? await generateKeyPair("Ed25519")
          : await generateKeyPairFromSeed("Ed25519", seedBytes(seeded)),
      ).toString(),
    ),
  );
  const genesis = parseGenesis({
    network: BENCH_NETWORK,
    balances: deterministicSigners(ACCOUNTS).map((s) => ({ address: s.address, amount: "1000000000" })),
    broadcast: args.bracha
      ? { mode: "bracha" }
      : { mode: "contagion", params: defaultContagionParams(NODES) },
    members: peerIds.map((peerId, i) => ({ peerId, multiaddrs: [`/ip4/127.0.0.1/tcp/${40_000 + i}`] })),
  });
  const genesisId = genesisHash(genesis);
  const log = pino({ level: "silent" });
  const byPeer = new Map<PeerId, BenchNode>();
  const nodes: BenchNode[] = [];
  for (const peerId of peerIds) {
    const db = await openDatabase(join(dir, peerId));
    const store = await LevelLedgerStore.open(db);
    const random = seeded === undefined ? Math.random : seededRandom(childSeed(seeded));
    const membership = setUpMembership(genesis, genesisId, peerId, random);
    const { core, identity } = assembleCore({
      ...(seeded === undefined ? {} : { random: seededRandom(childSeed(seeded)) }),
      genesis,
      genesisId,
      self: peerId,
      membership: membership.membership,
      store,
      protocols: PROTOCOLS,
      byzantine: undefined,
      log,
    });
    const channels = new Channels({
      protocols: PROTOCOLS,
      isMember: (peer) => membership.membership.isMember(peer),
      wasMember: (peer, nowMs) => membership.membership.wasMember(peer, nowMs),
    });
    const inbox: NodeEvent[] = [];
    // The part of the transport NodeNetwork uses for these protocols: sends, handed to the peer in memory
    // (copied, as a frame would be). Bans and throttles do not happen between these correct nodes.
    const transport = {
      send: (to: PeerId, bytes: Uint8Array) => {
        replay.messages++;
        replay.bytes += bytes.length;
        wireHash?.update(`${peerId}>${to}:`).update(bytes);
        byPeer.get(to)?.wire.push({ from: peerId, bytes: bytes.slice() });
        return true;
      },
      throttle: () => {},
      ban: () => {},
      disconnect: async () => {},
    } as unknown as P2PTransport;
    const network = new NodeNetwork({
      transport,
      channels,
      identity,
      log,
      onAdmitted: () => {},
      emit: (event) => inbox.push(event),
      serveSync: async () => {
        throw new Error("no catch-up between nodes that start together");
      },
      now,
    });
    const node: BenchNode = { peerId, db, store, core, network, inbox, wire: [], applied: 0, lastTickMs: 0 };
    byPeer.set(peerId, node);
    nodes.push(node);
  }
  const nowMs = now();
  for (const node of nodes) {
    node.inbox.push({ type: "start", nowMs });
    for (const other of nodes) {
      if (other === node) continue;
      node.inbox.push({ type: "peerUp", peer: other.peerId, nowMs });
      node.network.askStatus(other.peerId);
    }
  }
  return nodes;
}

/** One processing step of one node, as the node's `ProcessingLoop` runs it. */
async function step(node: BenchNode): Promise<void> {
  virtualMs++;
  replay.steps++;
  const nowMs = now();
  for (const { from, bytes } of node.wire.splice(0)) node.network.offer(from, bytes);
  if (nowMs - node.lastTickMs >= TICK_MS) {
    node.lastTickMs = nowMs;
    node.network.tick(nowMs);
    node.inbox.push({ type: "tick", nowMs });
  }
  const own = Math.ceil(MAX_EVENTS_PER_STEP / 2);
  const batch = node.inbox.splice(0, own);
  batch.push(...node.network.takeEvents(MAX_EVENTS_PER_STEP - batch.length, nowMs));
  if (batch.length === 0) return;
  const writes: BatchOp[] = [];
  const after: NodeAction[] = [];
  for (const event of batch) {
    for (const action of node.core.handle(event)) {
      if (action.type === "write") writes.push(...action.ops);
      else after.push(action);
    }
  }
  for (const op of node.core.finishStep()) writes.push(op);
  await writeBatch(node.db, writes);
  node.store.settleTaken();
  for (const action of after) {
    if (action.type === "announce") {
      if (action.change.status === "applied") node.applied++;
    } else if (action.type !== "submitted" && action.type !== "readBody") {
      node.network.send(action);
    }
  }
  node.network.flushStep();
}

async function main(): Promise<void> {
  const transfers = signTransfers();
  const verifyBefore = verifyMicros(transfers);
  const dir = await mkdtemp(join(tmpdir(), "tally-cluster-bench-"));
  try {
    const nodes = await startNodes(dir);
    const warmup = Math.floor(TRANSFERS * WARMUP_FRACTION);
    const shape = { accounts: ACCOUNTS, withDeps: true };
    let submitted = 0;
    let ticket = 0;
    let clock:
      | { cpu: NodeJS.CpuUsage; mainCpu: NodeJS.CpuUsage; wallMs: number; applied: number }
      | undefined;
    const minApplied = () => Math.min(...nodes.map((n) => n.applied));
    while (minApplied() < TRANSFERS) {
      if (clock === undefined && minApplied() >= warmup) {
        if (args["callgrind-window"]) callgrind("on");
        clock = {
          cpu: process.cpuUsage(),
          mainCpu: process.threadCpuUsage(),
          wallMs: performance.now(),
          applied: minApplied(),
        };
      }
      for (const node of nodes) {
        // Spread over the nodes as the devnet bench spreads its requests; decoded as the API decodes them.
        // A transfer goes to a node once its dep applied there, as a wallet waits for the payment it spends.
        for (
          let k = 0;
          k < SUBMISSIONS_PER_STEP && submitted < TRANSFERS && submitted - minApplied() < WINDOW;
          k++
        ) {
          const dep = depIndexOf(shape, submitted);
          if (dep >= 0 && node.core.ledger.status(transfers[dep]!.id)?.status !== "applied") break;
          const encoded = decodeTransfer(transfers[submitted++]!.bytes);
          node.inbox.push({ type: "submit", encoded, ticket: ticket++, nowMs: now() });
        }
        await step(node);
      }
    }
    if (args["callgrind-window"]) callgrind("off");
    if (clock === undefined) throw new Error("the run ended inside its warm-up");
    // Every node applied every transfer exactly once, or the figures describe something else.
    const counts = nodes.map((n) => n.applied);
    if (counts.some((c) => c !== TRANSFERS))
      throw new Error(`applied per node ${counts.join(", ")}, not ${TRANSFERS}`);
    const cpu = process.cpuUsage(clock.cpu);
    const mainCpu = process.threadCpuUsage(clock.mainCpu);
    const wallSeconds = (performance.now() - clock.wallMs) / 1000;
    const measured = TRANSFERS - clock.applied;
    for (const node of nodes) await node.db.close();
    const verify = (verifyBefore + verifyMicros(transfers)) / 2;
    const perTransferPerNode = (cpu.user + cpu.system) / measured / NODES;
    const report = {
      nodes: NODES,
      broadcast: args.bracha ? "bracha" : "contagion",
      transfers: measured,
      cpuMicrosPerTransferPerNode: Math.round(perTransferPerNode * 10) / 10,
      /** The event loop's thread alone; the rest is LevelDB's threads and V8's helpers (GC, compiler). */
      mainThreadMicrosPerTransferPerNode:
        Math.round(((mainCpu.user + mainCpu.system) / measured / NODES) * 10) / 10,
      verifyMicros: Math.round(verify * 100) / 100,
      verifiesPerTransferPerNode: Math.round((perTransferPerNode / verify) * 100) / 100,
      appliedPerSecOneThread: Math.round(measured / wallSeconds),
      ...(seeded === undefined ? {} : { replay: { ...replay, wire: wireHash?.digest("hex") ?? null } }),
    };
    if (args.json) console.log(JSON.stringify(report));
    else {
      console.log(
        `${report.nodes} nodes (${report.broadcast}), ${report.transfers} transfers measured: ` +
          `${report.cpuMicrosPerTransferPerNode} CPU-µs per transfer per node ` +
          `(${report.mainThreadMicrosPerTransferPerNode} on the main thread) = ` +
          `${report.verifiesPerTransferPerNode} × one verify (${report.verifyMicros} µs in this run); ` +
          `${report.appliedPerSecOneThread} applied/s with all nodes on one thread`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** 32 bytes from the run's seeded stream: a node key that is the same in every run with this seed. */
function seedBytes(random: () => number): Uint8Array {
  return Uint8Array.from({ length: 32 }, () => Math.floor(random() * 256));
}

/** Switches callgrind's instrumentation for this process (valgrind's own `callgrind_control`). */
function callgrind(state: "on" | "off"): void {
  execFileSync("callgrind_control", [`--instr=${state}`, String(process.pid)], { stdio: "ignore" });
}

await main();
