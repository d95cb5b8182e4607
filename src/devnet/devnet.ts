import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultContagionParams } from "../analysis/defaultParams.ts";
import { BYZANTINE_STRATEGIES, isByzantineStrategy } from "../broadcast/byzantine.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { genesisToJson, parseGenesis } from "../genesis/genesis.ts";
import { loadOrCreatePeerKey } from "../p2p/peerKey.ts";
import { newKeystore, sealKeystore, writeKeystore } from "../wallet/keystore.ts";
import { DEVNET_SCRYPT } from "../wallet/keystoreCrypto.ts";
import { writePrivateFile } from "../wallet/privateFile.ts";
import { type DevnetShared, writeDevnetDefinition } from "./devnetShared.ts";
import { freePorts } from "./freePort.ts";

/** `DIR/devnet.json`: what test scripts read to find, kill and restart nodes (README, "tally devnet up"). */
export interface DevnetFile {
  network: string;
  genesis: string;
  /** Open: nodes found each other from node-0's address; static: the genesis lists them all. */
  membership?: "open" | "static";
  nodes: DevnetNode[];
  /** Encrypted keystores; each one's passphrase is in its `passphraseFile` (mode 0600), for scripts and tests. */
  wallets: DevnetWallet[];
  /** `--shared K`: the shared account owned by K owners, hosted one per node on nodes 1..K. */
  shared?: DevnetShared[];
}

export interface DevnetWallet {
  address: string;
  keystore: string;
  passphraseFile: string;
}

export interface DevnetNode {
  name: string;
  api: string;
  peerId: string;
  multiaddr: string;
  pid: number;
  dataDir: string;
  /** Restarts this node exactly as the devnet started it: spawn(argv[0], argv.slice(1)). */
  argv: string[];
  log: string;
  /** Testing: the misbehaviour this node was told to adopt. */
  byzantine?: string;
}

export interface DevnetOptions {
  readonly dir: string;
  readonly nodes: number;
  readonly broadcast: "bracha" | "contagion";
  readonly wallets: number;
  readonly logLevel: string;
  /** Each funded wallet's genesis balance. */
  readonly walletBalance: bigint;
  readonly readyTimeoutMs: number;
  /** Testing: the last `byzantine.count` nodes misbehave with `byzantine.strategy`. */
  readonly byzantine?: { readonly count: number; readonly strategy: string } | undefined;
  /**
   * Open (default for contagion): every node is given only node-0's address and finds the others through
   * node records. Static: the genesis lists every node (Bracha and the byzantine test modes need it).
   */
  readonly membership?: "open" | "static" | undefined;
  /** Testing: start every node with `--testing-faults` (the chaos suite partitions them). Off by default. */
  readonly testingFaults?: boolean | undefined;
  /** A shared account with this many owners (1 ≤ K ≤ nodes − 1), hosted on nodes 1..K; funded like a wallet. */
  readonly shared?: number | undefined;
  /** Testing: the last hosting node's owner misbehaves (`--byzantine-owner silent|equivocate`). */
  readonly byzantineOwner?: string | undefined;
  /** Testing: how many hosting nodes (the last ones) get `byzantineOwner`; 1 by default. */
  readonly byzantineOwners?: number | undefined;
  /** Each node writes a V8 CPU profile into DIR/<node name> when it stops (`tally bench --profile DIR`). */
  readonly cpuProfileDir?: string | undefined;
  /** Each node writes its JIT code's symbols to /tmp/perf-PID.map, so `perf` can name them (`tally bench --perf`). */
  readonly perfMaps?: boolean | undefined;
  /** More genesis balances beside the wallets' (`tally bench` funds its own deterministic accounts this way). */
  readonly extraBalances?: readonly { readonly address: string; readonly amount: bigint }[] | undefined;
}

/**
 * An open devnet's membership: a trivial identity proof (8 bits, ~256 hashes), records refreshed every 2 s
 * and valid for 10 s, so a stopped node leaves every view within ~11 s. The broadcast uses the sampled
 * parameter set designed for 1,000 nodes: an open network's size is not known in advance.
 */
export const OPEN_DEVNET_MEMBERSHIP = {
  identityDifficulty: 8,
  recordTtlSeconds: 10,
  recordRefreshSeconds: 2,
} as const;
export const OPEN_DEVNET_DESIGN_NODES = 1_000;

/** Open unless the options need a member list: Bracha, the byzantine test modes, a single node. */
export function devnetMembership(options: DevnetOptions): "open" | "static" {
  // A one-node network has nobody to find, and an open node that knows nobody waits (it is isolated).
  const needsList = options.broadcast === "bracha" || options.byzantine !== undefined || options.nodes === 1;
  const wanted = options.membership ?? (needsList ? "static" : "open");
  if (wanted === "open" && options.broadcast === "bracha")
    throw new TallyError(ErrorCode.InvalidField, "--membership open needs --broadcast contagion");
  if (wanted === "open" && options.byzantine)
    throw new TallyError(ErrorCode.InvalidField, "--byzantine needs --membership static");
  return wanted;
}

export const DEVNET_NETWORK = "tally-devnet";
/** V8 young-generation semi-space of devnet nodes, in MiB (see docs/architecture.md, "Memory"). */
export const NODE_SEMI_SPACE_MB = 8;

/**
 * V8 flags for the garbage collector of devnet nodes. When the devnet packs at least as many nodes as the
 * machine has cores, no node has a spare core for V8's parallel scavenger helpers: they only add work
 * (splitting, stealing, synchronising) to a scavenge that takes no less time. Scavenging on the node's own
 * thread then costs less CPU in all (docs/architecture.md, "Memory").
 */
export function nodeGcFlags(nodes: number, cores: number = availableParallelism()): string[] {
  const flags = [`--max-semi-space-size=${NODE_SEMI_SPACE_MB}`];
  if (nodes >= cores) flags.push("--no-parallel-scavenge");
  return flags;
}

const MAIN_TS = fileURLToPath(new URL("../cli/main.ts", import.meta.url));

/**
 * What perf needs from a node: V8's JIT symbol map (`/tmp/perf-PID.map`, removed by the bench once read). With
 * the map on, V8 13 also opens its event log, by default as `isolate-…-v8.log` in the current directory; `+`
 * makes that log a temporary file, unlinked as soon as it is opened, so a profiled run leaves nothing behind.
 */
const PERF_MAP_FLAGS: readonly string[] = ["--perf-basic-prof", "--no-logfile-per-isolate", "--logfile=+"];

/** The V8 flags that make a node write its CPU profile into `dir`/`name` when it exits. */
function cpuProfileFlags(dir: string, name: string): string[] {
  return ["--cpu-prof", `--cpu-prof-dir=${join(dir, name)}`];
}

/** A running local network of real node processes on loopback. */
export class Devnet {
  readonly file: DevnetFile;
  readonly membership: "open" | "static";
  readonly path: string;
  private readonly children: ChildProcess[];

  private constructor(
    path: string,
    file: DevnetFile,
    children: ChildProcess[],
    membership: "open" | "static",
  ) {
    this.membership = membership;
    this.path = path;
    this.file = file;
    this.children = children;
  }

  static async up(options: DevnetOptions): Promise<Devnet> {
    if (options.nodes < 1 || options.nodes > 64) {
      throw new TallyError(ErrorCode.InvalidField, "--nodes must be 1..64");
    }
    if (options.byzantine) {
      const { count, strategy } = options.byzantine;
      if (!isByzantineStrategy(strategy)) {
        throw new TallyError(
          ErrorCode.InvalidField,
          `--strategy must be one of ${BYZANTINE_STRATEGIES.join(", ")}`,
        );
      }
      if (count >= options.nodes)
        throw new TallyError(ErrorCode.InvalidField, "--byzantine must be below --nodes");
    }
    const dir = resolve(options.dir);
    await prepareDirectory(dir);
    const wallets: DevnetWallet[] = [];
    for (let i = 0; i < options.wallets; i++) {
      const name = i === 0 ? "dev" : `wallet-${i}`;
      wallets.push(await createDevnetWallet(join(dir, "wallets"), name));
    }
    const sharedCount = options.shared ?? 0;
    if (sharedCount > 0 && sharedCount > options.nodes - 1)
      throw new TallyError(ErrorCode.InvalidField, "--shared K needs 1 ≤ K ≤ nodes − 1");
    const ownerWallets: DevnetWallet[] = [];
    for (let i = 0; i < sharedCount; i++)
      ownerWallets.push(await createDevnetWallet(join(dir, "wallets"), `owner-${i + 1}`));
    const sharedAccount = sharedCount > 0 ? await writeDevnetDefinition(dir, ownerWallets) : undefined;
    const funded = sharedAccount === undefined ? wallets : [...wallets, sharedAccount];
    const planned = [];
    const ports = await freePorts(2 * options.nodes);
    for (let i = 0; i < options.nodes; i++) {
      const dataDir = join(dir, "nodes", `node-${i}`);
      const { peerId } = await loadOrCreatePeerKey(dataDir);
      planned.push({
        name: `node-${i}`,
        dataDir,
        peerId: peerId.toString(),
        p2pPort: ports[2 * i]!,
        apiPort: ports[2 * i + 1]!,
      });
    }
    const open = devnetMembership(options) === "open";
    const first = planned[0]!;
    const genesis = parseGenesis({
      network: DEVNET_NETWORK,
      balances: [
        ...funded.map((w) => ({ address: w.address, amount: options.walletBalance.toString() })),
        ...(options.extraBalances ?? []).map((b) => ({ address: b.address, amount: b.amount.toString() })),
      ],
      broadcast:
        options.broadcast === "contagion"
          ? {
              mode: "contagion",
              params: defaultContagionParams(open ? OPEN_DEVNET_DESIGN_NODES : options.nodes),
            }
          : { mode: "bracha" },
      ...(open
        ? {
            membership: {
              mode: "open",
              bootstrap: [`/ip4/127.0.0.1/tcp/${first.p2pPort}/p2p/${first.peerId}`],
              ...OPEN_DEVNET_MEMBERSHIP,
            },
          }
        : {
            members: planned.map((p) => ({
              peerId: p.peerId,
              multiaddrs: [`/ip4/127.0.0.1/tcp/${p.p2pPort}`],
            })),
          }),
    });
    const genesisPath = join(dir, "genesis.json");
    await writeFile(genesisPath, `${JSON.stringify(genesisToJson(genesis), null, 2)}\n`);

    const children: ChildProcess[] = [];
    const nodes: DevnetNode[] = [];
    const byzantineFrom = options.nodes - (options.byzantine?.count ?? 0);
    const gcFlags = nodeGcFlags(planned.length);
    for (const [index, p] of planned.entries()) {
      const strategy = index >= byzantineFrom ? options.byzantine?.strategy : undefined;
      const argv = [
        process.execPath,
        // A bounded young generation: under a burst of peer traffic V8 otherwise grows it to 3 × 16 MiB and
        // keeps the pages. 8 MiB: ≈ 2.5 % less CPU per transfer than 4 (fewer scavenges), same flood RSS.
        ...gcFlags,
        ...(options.cpuProfileDir === undefined ? [] : cpuProfileFlags(options.cpuProfileDir, p.name)),
        ...(options.perfMaps === true ? PERF_MAP_FLAGS : []),
        MAIN_TS,
        "node",
        "start",
        "--data-dir",
        p.dataDir,
        "--genesis",
        genesisPath,
        "--listen",
        `/ip4/127.0.0.1/tcp/${p.p2pPort}`,
        "--api",
        `127.0.0.1:${p.apiPort}`,
        "--log-level",
        options.logLevel,
        ...(strategy ? ["--byzantine", strategy] : []),
        ...(options.testingFaults ? ["--testing-faults"] : []),
        ...hostingArgs(index, ownerWallets, sharedAccount?.definition, options),
      ];
      const log = join(p.dataDir, "node.log");
      const child = spawnNode(argv, log);
      children.push(child);
      nodes.push({
        name: p.name,
        api: `http://127.0.0.1:${p.apiPort}`,
        peerId: p.peerId,
        multiaddr: `/ip4/127.0.0.1/tcp/${p.p2pPort}/p2p/${p.peerId}`,
        pid: child.pid ?? -1,
        dataDir: p.dataDir,
        argv,
        log,
        ...(strategy ? { byzantine: strategy } : {}),
      });
    }
    const membership = open ? "open" : "static";
    const file: DevnetFile = { network: DEVNET_NETWORK, genesis: genesisPath, membership, nodes, wallets };
    if (sharedAccount !== undefined) {
      const owners = ownerWallets.map((w, i) => ({ ...w, node: nodes[i + 1]!.api }));
      file.shared = [{ ...sharedAccount, owners: owners.map(({ address: _a, ...o }) => o) }];
    }
    const path = join(dir, "devnet.json");
    await writeFile(path, `${JSON.stringify(file, null, 2)}\n`);
    const devnet = new Devnet(path, file, children, membership);
    try {
      await devnet.waitUntilReady(options.readyTimeoutMs);
    } catch (e) {
      await devnet.down();
      throw e;
    }
    return devnet;
  }

  private async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const pending = new Set(this.file.nodes.map((_, i) => i));
    while (pending.size > 0) {
      for (const i of [...pending]) {
        const child = this.children[i]!;
        const node = this.file.nodes[i]!;
        if (child.exitCode !== null || child.signalCode !== null) {
          const tail = (await readFile(node.log, "utf8").catch(() => ""))
            .trim()
            .split("\n")
            .slice(-5)
            .join("\n");
          throw new TallyError(
            ErrorCode.InvalidField,
            `${node.name} exited during startup (see ${node.log}):\n${tail}`,
          );
        }
        const ok = await fetch(`${node.api}/v1/health`, { signal: AbortSignal.timeout(1000) }).then(
          (r) => r.status === 200,
          () => false,
        );
        if (ok) pending.delete(i);
      }
      if (pending.size === 0) break;
      if (Date.now() > deadline) {
        const names = [...pending].map((i) => this.file.nodes[i]!.name).join(", ");
        throw new TallyError(
          ErrorCode.InvalidField,
          `devnet not ready within ${timeoutMs} ms: ${names} not healthy`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** SIGTERM every node this devnet started, SIGKILL those still alive after `graceMs`. */
  async down(graceMs = 10_000): Promise<void> {
    const alive = this.children.filter((c) => c.exitCode === null && c.signalCode === null);
    const exited = alive.map((c) => new Promise<void>((r) => c.once("exit", () => r())));
    for (const c of alive) c.kill("SIGTERM");
    const timer = setTimeout(() => {
      for (const c of alive) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    }, graceMs);
    await Promise.all(exited);
    clearTimeout(timer);
  }
}

/**
 * A funded devnet wallet: an encrypted keystore and, beside it, its random passphrase. The passphrase file
 * sits next to the keystore, so the KDF's cost would protect nothing: devnet keystores use DEVNET_SCRYPT.
 */
/** Node i (1..K) hosts owner i; with byzantine owners, the last nodes' owners are told to misbehave. */
function hostingArgs(
  index: number,
  owners: readonly DevnetWallet[],
  definition: string | undefined,
  { byzantineOwner, byzantineOwners = 1 }: { byzantineOwner?: string; byzantineOwners?: number },
): string[] {
  const owner = owners[index - 1];
  if (index === 0 || owner === undefined || definition === undefined) return [];
  const args = ["--owner-key", `${owner.keystore}:${owner.passphraseFile}`, "--shared", definition];
  return byzantineOwner !== undefined && index > owners.length - byzantineOwners
    ? [...args, "--byzantine-owner", byzantineOwner]
    : args;
}

async function createDevnetWallet(dir: string, name: string): Promise<DevnetWallet> {
  const keystorePath = join(dir, `${name}.json`);
  const passphraseFile = join(dir, `${name}.passphrase`);
  const passphrase = randomBytes(24).toString("hex");
  await writePrivateFile(passphraseFile, `${passphrase}\n`, "passphrase file", { create: true });
  const keystore = await sealKeystore(newKeystore(undefined, DEVNET_NETWORK), passphrase, DEVNET_SCRYPT);
  await writeKeystore(keystorePath, keystore, { create: true });
  return { address: keystore.address, keystore: keystorePath, passphraseFile };
}

function spawnNode(argv: string[], logPath: string): ChildProcess {
  const fd = openSync(logPath, "a");
  try {
    return spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", fd, fd], env: { ...process.env } });
  } finally {
    closeSync(fd);
  }
}

/** A devnet directory is ours to wipe only if it holds a devnet.json whose nodes are all gone. */
async function prepareDirectory(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  if (entries.length > 0) {
    let previous: DevnetFile;
    try {
      previous = JSON.parse(await readFile(join(dir, "devnet.json"), "utf8")) as DevnetFile;
    } catch {
      throw new TallyError(
        ErrorCode.InvalidField,
        `${dir} is not empty and holds no devnet.json; refusing to touch it`,
      );
    }
    const running = previous.nodes.filter((n) => isAlive(n.pid));
    if (running.length > 0) {
      throw new TallyError(
        ErrorCode.InvalidField,
        `a devnet is still running in ${dir} (pids ${running.map((n) => n.pid).join(", ")}); stop it first`,
      );
    }
    for (const name of ["nodes", "wallets", "genesis.json", "devnet.json"]) {
      await rm(join(dir, name), { recursive: true, force: true });
    }
  }
  await mkdir(dir, { recursive: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
