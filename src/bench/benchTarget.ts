import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { DEVNET_NETWORK, Devnet, type DevnetFile } from "../devnet/devnet.ts";
import { readKeystore } from "../wallet/keystore.ts";
import {
  type BenchSigner,
  deterministicSigners,
  signerFromSeed,
  transfersPerSigner,
} from "./benchWorkload.ts";

/** The devnet a run drives: where its nodes answer, their pids, and the accounts the bench signs for. */
export interface BenchTarget {
  readonly network: string;
  readonly broadcast: "bracha" | "contagion";
  readonly membership: "open" | "static";
  readonly nodes: readonly { readonly name: string; readonly api: string; readonly pid: number }[];
  readonly signers: readonly BenchSigner[];
  /** Stops and removes a devnet the bench started; nothing for one it was given. */
  close(): Promise<void>;
}

/** Each bench account's genesis balance: far more than any run spends (1 unit per transfer). */
export const BENCH_ACCOUNT_BALANCE = 1_000_000_000_000n;
/** An open devnet's nodes find each other through node records, which takes a few refresh periods. */
const MESH_TIMEOUT_MS = 60_000;

export interface OwnDevnetOptions {
  readonly nodes: number;
  readonly broadcast: "bracha" | "contagion";
  readonly membership?: "open" | "static" | undefined;
  readonly accounts: number;
  /** `--profile DIR`: the nodes write CPU profiles there. */
  readonly cpuProfileDir?: string | undefined;
  /** `--perf DIR`: the nodes name their JIT code for perf. */
  readonly perfMaps?: boolean | undefined;
}

/** A fresh devnet in a temporary directory, its genesis funding the bench's deterministic accounts. */
export async function startOwnDevnet(options: OwnDevnetOptions): Promise<BenchTarget> {
  const signers = deterministicSigners(options.accounts);
  const dir = await mkdtemp(join(tmpdir(), "tally-bench-devnet-"));
  let devnet: Devnet | undefined;
  const close = async () => {
    await devnet?.down();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    devnet = await Devnet.up({
      dir,
      nodes: options.nodes,
      broadcast: options.broadcast,
      membership: options.membership,
      wallets: 1,
      logLevel: "warn",
      walletBalance: 1_000_000n,
      readyTimeoutMs: 60_000,
      cpuProfileDir: options.cpuProfileDir,
      perfMaps: options.perfMaps,
      extraBalances: signers.map((s) => ({ address: s.address, amount: BENCH_ACCOUNT_BALANCE })),
    });
    const nodes = devnet.file.nodes.map(({ name, api, pid }) => ({ name, api, pid }));
    await waitForMesh(nodes);
    return {
      network: DEVNET_NETWORK,
      broadcast: options.broadcast,
      membership: devnet.membership,
      nodes,
      signers,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * A devnet already running, as `tally devnet up` described it in devnet.json: the bench signs for its
 * keystore wallets, from each one's next seq, and needs each balance to cover its share of `transfers` (1 unit
 * each).
 */
export async function attachDevnet(path: string, transfers: number): Promise<BenchTarget> {
  let file: DevnetFile;
  let genesis: { broadcast?: { mode?: string } };
  try {
    file = JSON.parse(await readFile(path, "utf8")) as DevnetFile;
    genesis = JSON.parse(await readFile(file.genesis, "utf8")) as typeof genesis;
  } catch (e) {
    throw new TallyError(ErrorCode.InvalidConfig, `--devnet ${path}: ${(e as Error).message}`);
  }
  if (!Array.isArray(file.nodes) || file.nodes.length === 0 || !Array.isArray(file.wallets))
    throw new TallyError(ErrorCode.InvalidConfig, `--devnet ${path}: no nodes or wallets`);
  // The bench's ring pays each wallet from the one before it: a single wallet would pay itself.
  if (file.wallets.length < 2)
    throw new TallyError(
      ErrorCode.InvalidConfig,
      `--devnet ${path}: the bench needs at least 2 wallets to pay each other, this devnet has ${file.wallets.length}` +
        " (start it with `tally devnet up --wallets K`, K ≥ 2)",
    );
  const nodes = file.nodes.map(({ name, api, pid }) => ({ name, api, pid }));
  const signers: BenchSigner[] = [];
  const transfersPerWallet = transfersPerSigner(transfers, file.wallets.length);
  for (const wallet of file.wallets) {
    const keystore = await readKeystore(wallet.keystore, { passphraseFile: wallet.passphraseFile });
    const account = await getAccount(nodes[0]!.api, wallet.address);
    if (BigInt(account.balance) < BigInt(transfersPerWallet))
      throw new TallyError(
        ErrorCode.InsufficientFunds,
        `wallet ${wallet.address} holds ${account.balance}, the run needs ${transfersPerWallet}`,
      );
    signers.push(signerFromSeed(keystore.secretKey, account.nextSeq));
  }
  await waitForMesh(nodes);
  return {
    network: file.network,
    broadcast: genesis.broadcast?.mode === "bracha" ? "bracha" : "contagion",
    membership: file.membership ?? "static",
    nodes,
    signers,
    close: async () => {},
  };
}

/** Until every node is connected to every other: a transfer sent earlier would reach only part of the net. */
async function waitForMesh(nodes: readonly { name: string; api: string }[]): Promise<void> {
  const deadline = Date.now() + MESH_TIMEOUT_MS;
  for (const node of nodes) {
    for (;;) {
      const peers = await getJson<{ connected: string[] }>(`${node.api}/v1/node/peers`);
      if (peers.connected.length >= nodes.length - 1) break;
      if (Date.now() > deadline)
        throw new TallyError(
          ErrorCode.BenchFailed,
          `${node.name} connected to ${peers.connected.length} of ${nodes.length - 1} peers within ${MESH_TIMEOUT_MS} ms`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** An account's balance and next seq as the node at `api` reports them (`GET /v1/accounts/:address`). */
export async function getAccount(
  api: string,
  address: string,
): Promise<{ balance: string; nextSeq: number }> {
  return getJson(`${api}/v1/accounts/${encodeURIComponent(address)}`);
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new TallyError(ErrorCode.BenchFailed, `${url} answered ${res.status}`);
  return (await res.json()) as T;
}
