import { readFile } from "node:fs/promises";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { parseAnnounce } from "../p2p/announceAddrs.ts";
import { MAX_BLOCKED_PEERS } from "../p2p/partitionGate.ts";
import { parsePeerId } from "../p2p/transportOptions.ts";

/** Everything `tally node start` needs; flags override the config file, which overrides defaults. */
export interface NodeConfig {
  readonly dataDir: string;
  readonly genesisPath: string;
  readonly listen: readonly string[];
  /** `--announce`: addresses to put in this node's record instead of the listening ones (canonical, no /p2p). */
  readonly announce?: readonly string[];
  readonly api: { readonly host: string; readonly port: number };
  /** Multiaddrs with /p2p/<peerId>; genesis members are added automatically. */
  readonly bootstrap: readonly string[];
  readonly logLevel: string;
  /** Testing only: make this node misbehave (see src/node/byzantine.ts). */
  readonly byzantine?: string | undefined;
  /** Testing only: serve the fault controls under /v1/testing (a partition the chaos suite drives). Off by default. */
  readonly testingFaults?: boolean;
  /**
   * Testing only (`--testing-blocked-peer`, with `--testing-faults`): peers this node refuses from its first
   * dial, as `PUT /v1/testing/partition` would later — so a node restarted while a test holds a partition
   * stays on its side of the cut.
   */
  readonly testingBlockedPeers?: readonly string[];
  /**
   * Testing only (`--testing-unlinked-peer`, with `--testing-faults`): identities an open network's sampler
   * never takes into this node's view, so its view never connects to them (tests of co-owners' nodes that
   * must find each other through the network).
   */
  readonly testingUnlinkedPeers?: readonly string[];
  /**
   * Testing only (`--testing-stall-timeout-ms`, with `--testing-faults`): how long the broadcast keeps an idle
   * instance (10 minutes by default), so a test can outlast it in seconds.
   */
  readonly testingStallTimeoutMs?: number | undefined;
  /** `--owner-key KEYSTORE[:PASSPHRASE_FILE]`: owner keys of shared accounts this node hosts. */
  readonly ownerKeys?: readonly string[];
  /** `--shared DEFINITION_FILE`: shared-account definitions; those naming an owner key are hosted. */
  readonly shared?: readonly string[];
  /** Testing only: "silent" makes this node's hosted owners never speak. */
  readonly byzantineOwner?: string | undefined;
}

export const DEFAULT_API = { host: "127.0.0.1", port: 7070 } as const;
export const DEFAULT_LISTEN = "/ip4/127.0.0.1/tcp/7000";

const CONFIG_KEYS = new Set([
  "dataDir",
  "genesis",
  "listen",
  "announce",
  "api",
  "bootstrap",
  "logLevel",
  "byzantine",
  "testingFaults",
]);

function invalid(message: string): TallyError {
  return new TallyError(ErrorCode.InvalidField, `config: ${message}`);
}

export function parseHostPort(value: string, field: string): { host: string; port: number } {
  const match = /^(\[[0-9a-f:]+\]|[^:]+):([0-9]{1,5})$/i.exec(value);
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || port > 65535) throw invalid(`${field} must be HOST:PORT, got "${value}"`);
  return { host: match[1]!.replace(/^\[|\]$/g, ""), port };
}

export interface NodeFlags {
  config?: string | undefined;
  dataDir?: string | undefined;
  genesis?: string | undefined;
  listen?: string[] | undefined;
  announce?: string[] | undefined;
  api?: string | undefined;
  bootstrap?: string[] | undefined;
  logLevel?: string | undefined;
  byzantine?: string | undefined;
  testingFaults?: boolean | undefined;
  testingBlockedPeers?: string[] | undefined;
  testingUnlinkedPeers?: string[] | undefined;
  testingStallTimeoutMs?: string | undefined;
  ownerKeys?: string[] | undefined;
  shared?: string[] | undefined;
  byzantineOwner?: string | undefined;
}

export async function resolveNodeConfig(flags: NodeFlags): Promise<NodeConfig> {
  let file: Record<string, unknown> = {};
  if (flags.config !== undefined) {
    try {
      file = JSON.parse(await readFile(flags.config, "utf8")) as Record<string, unknown>;
    } catch (e) {
      throw invalid(`cannot read ${flags.config}: ${(e as Error).message}`);
    }
    if (typeof file !== "object" || file === null || Array.isArray(file))
      throw invalid("must be a JSON object");
    for (const k of Object.keys(file)) if (!CONFIG_KEYS.has(k)) throw invalid(`unknown field "${k}"`);
  }
  const str = (v: unknown, field: string): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== "string") throw invalid(`${field} must be a string`);
    return v;
  };
  const strs = (v: unknown, field: string): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
      throw invalid(`${field} must be an array of strings`);
    return v as string[];
  };
  const bool = (v: unknown, field: string): boolean => {
    if (v !== undefined && typeof v !== "boolean") throw invalid(`${field} must be true or false`);
    return v === true;
  };
  const dataDir = flags.dataDir ?? str(file.dataDir, "dataDir") ?? "./tally-data";
  const genesisPath = flags.genesis ?? str(file.genesis, "genesis");
  if (genesisPath === undefined) throw invalid("--genesis FILE is required");
  const api = flags.api ?? str(file.api, "api");
  const testingFaults = flags.testingFaults === true || bool(file.testingFaults, "testingFaults");
  return {
    dataDir,
    genesisPath,
    listen: flags.listen?.length ? flags.listen : (strs(file.listen, "listen") ?? [DEFAULT_LISTEN]),
    announce: parseAnnounce(
      flags.announce?.length ? flags.announce : (strs(file.announce, "announce") ?? []),
    ),
    api: api === undefined ? DEFAULT_API : parseHostPort(api, "api"),
    bootstrap: [...(strs(file.bootstrap, "bootstrap") ?? []), ...(flags.bootstrap ?? [])],
    logLevel: flags.logLevel ?? str(file.logLevel, "logLevel") ?? "info",
    byzantine: flags.byzantine ?? str(file.byzantine, "byzantine"),
    testingFaults,
    testingBlockedPeers: testingPeers("blocked", flags.testingBlockedPeers ?? [], testingFaults),
    testingUnlinkedPeers: testingPeers("unlinked", flags.testingUnlinkedPeers ?? [], testingFaults),
    testingStallTimeoutMs: testingStallTimeout(flags.testingStallTimeoutMs, testingFaults),
    ownerKeys: flags.ownerKeys ?? [],
    shared: flags.shared ?? [],
    byzantineOwner: flags.byzantineOwner,
  };
}

/** `--testing-stall-timeout-ms`: whole milliseconds, 1,000 to the default 600,000, only with the fault controls. */
function testingStallTimeout(value: string | undefined, testingFaults: boolean): number | undefined {
  if (value === undefined) return undefined;
  if (!testingFaults) throw invalid("--testing-stall-timeout-ms needs --testing-faults");
  const ms = Number(value);
  if (!/^[0-9]+$/.test(value) || ms < 1_000 || ms > 600_000)
    throw invalid(`--testing-stall-timeout-ms must be 1000..600000, got "${value}"`);
  return ms;
}

/**
 * `--testing-blocked-peer`, `--testing-unlinked-peer`: valid peer ids, at most MAX_BLOCKED_PEERS (the partition
 * gate's bound), each once, and only with the fault controls.
 */
function testingPeers(
  kind: "blocked" | "unlinked",
  peers: readonly string[],
  testingFaults: boolean,
): string[] {
  const flag = `--testing-${kind}-peer`;
  if (peers.length === 0) return [];
  if (!testingFaults) throw invalid(`${flag} needs --testing-faults`);
  if (peers.length > MAX_BLOCKED_PEERS) throw invalid(`at most ${MAX_BLOCKED_PEERS} ${flag}`);
  for (const peer of peers) {
    try {
      parsePeerId(peer);
    } catch {
      throw invalid(`${flag}: not a peer id: "${peer}"`);
    }
  }
  const twice = peers.find((peer, i) => peers.indexOf(peer) !== i);
  if (twice !== undefined) throw invalid(`${flag}: "${twice}" given twice`);
  return [...peers];
}
