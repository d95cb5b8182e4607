import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { genesisToJson, parseGenesis } from "../../src/genesis/genesis.ts";
import { TallyNode, type TallyNodeOptions } from "../../src/node/tallyNode.ts";
import { loadOrCreatePeerKey } from "../../src/p2p/peerKey.ts";

export interface OneNodeNetwork {
  readonly node: TallyNode;
  /** A temporary directory holding the node's data; removed by `stop`. */
  readonly dir: string;
  /** Stops the node and starts a new one on the same data directory (`node` then names the new one). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A real one-node network (N = 1, f = 0) on loopback, in this process: the API in front of the real ledger,
 * store, channels and broadcast. `balances` are the genesis balances, amounts in decimal.
 */
export async function startOneNodeNetwork(
  network: string,
  balances: readonly { address: string; amount: string }[],
  options: { readonly testingFaults?: boolean; readonly nodeOptions?: TallyNodeOptions } = {},
): Promise<OneNodeNetwork> {
  const dir = await mkdtemp(join(tmpdir(), "tally-one-node-"));
  const dataDir = join(dir, "node");
  const { peerId } = await loadOrCreatePeerKey(dataDir);
  const genesis = parseGenesis({
    network,
    balances,
    members: [{ peerId: peerId.toString(), multiaddrs: [] }],
  });
  const genesisPath = join(dir, "genesis.json");
  await writeFile(genesisPath, JSON.stringify(genesisToJson(genesis)));
  const config = {
    dataDir,
    genesisPath,
    listen: ["/ip4/127.0.0.1/tcp/0"],
    api: { host: "127.0.0.1", port: 0 },
    bootstrap: [],
    logLevel: "silent",
    ...(options.testingFaults ? { testingFaults: true } : {}),
  };
  let node = new TallyNode(config, pino({ level: "silent" }), options.nodeOptions);
  await node.start();
  return {
    get node() {
      return node;
    },
    dir,
    async restart() {
      await node.stop();
      node = new TallyNode(config, pino({ level: "silent" }), options.nodeOptions);
      await node.start();
    },
    async stop() {
      await node.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
