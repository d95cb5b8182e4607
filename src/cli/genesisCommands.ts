import { resolve } from "node:path";
import { defaultContagionParams } from "../analysis/defaultParams.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { genesisHash, genesisToJson, parseGenesis } from "../genesis/genesis.ts";
import {
  DEFAULT_IDENTITY_DIFFICULTY,
  DEFAULT_RECORD_REFRESH_SECONDS,
  DEFAULT_RECORD_TTL_SECONDS,
} from "../genesis/membershipMode.ts";
import { writeFileAtomic } from "../storage/atomicFile.ts";
import {
  type Command,
  optionalInteger,
  optionalString,
  type ParsedArgs,
  requireString,
  UsageError,
} from "./command.ts";

/**
 * `tally genesis new`: the file every node of a network starts from, written from flags and checked by the
 * same parser a node runs at start, so a genesis this writes is one every node accepts. Its hash names the
 * network's identity proofs and records: change one byte and the nodes are on different networks.
 */

/** The size an open network's broadcast parameters are designed for when `--design-nodes` is not given. */
const OPEN_DESIGN_NODES = 1_000;

interface GenesisSummary {
  readonly genesis: string;
  readonly hash: string;
  readonly network: string;
  readonly membership: "open" | "static";
  readonly broadcast: "contagion" | "bracha";
  readonly balances: number;
  readonly members: number;
}

/** `ADDRESS=AMOUNT` → a genesis balance; the parser checks the address and the amount. */
function balanceArg(text: string): { address: string; amount: string } {
  const at = text.lastIndexOf("=");
  if (at <= 0) throw new UsageError(`--balance ${text}: expected ADDRESS=AMOUNT`);
  return { address: text.slice(0, at), amount: text.slice(at + 1) };
}

/** `/ip4/…/tcp/…/p2p/PEER_ID` → a static member: its peer id and the address without the /p2p part. */
function memberArg(text: string): { peerId: string; multiaddrs: string[] } {
  const match = /^(\/.+)\/p2p\/([^/]+)$/.exec(text);
  if (match === null) throw new UsageError(`--member ${text}: expected a multiaddr ending in /p2p/<peer id>`);
  return { peerId: match[2]!, multiaddrs: [match[1]!] };
}

function strings(args: ParsedArgs, name: string): string[] {
  return (args.values[name] as string[] | undefined) ?? [];
}

function buildGenesisJson(args: ParsedArgs): Record<string, unknown> {
  const membership = optionalString(args, "membership") ?? "open";
  if (membership !== "open" && membership !== "static")
    throw new UsageError(`--membership must be open or static, not ${membership}`);
  const broadcast = optionalString(args, "broadcast") ?? "contagion";
  if (broadcast !== "contagion" && broadcast !== "bracha")
    throw new UsageError(`--broadcast must be contagion or bracha, not ${broadcast}`);
  const members = strings(args, "member").map(memberArg);
  const bootstrap = strings(args, "bootstrap");
  if (membership === "open" && members.length > 0)
    throw new UsageError("--member is for --membership static; an open network takes --bootstrap");
  if (membership === "static" && bootstrap.length > 0)
    throw new UsageError("--bootstrap is for --membership open; a static network lists every --member");
  if (membership === "static" && members.length === 0)
    throw new UsageError(
      "--membership static needs every member: --member MULTIADDR/p2p/PEER_ID (repeatable)",
    );
  const designNodes =
    optionalInteger(args, "design-nodes", 1) ?? (membership === "open" ? OPEN_DESIGN_NODES : members.length);
  return {
    network: requireString(args, "network"),
    balances: strings(args, "balance").map(balanceArg),
    broadcast:
      broadcast === "contagion"
        ? { mode: "contagion", params: defaultContagionParams(designNodes) }
        : { mode: "bracha" },
    ...(membership === "open"
      ? {
          membership: {
            mode: "open",
            bootstrap,
            identityDifficulty: optionalInteger(args, "identity-difficulty") ?? DEFAULT_IDENTITY_DIFFICULTY,
            recordTtlSeconds: optionalInteger(args, "record-ttl", 1) ?? DEFAULT_RECORD_TTL_SECONDS,
            recordRefreshSeconds:
              optionalInteger(args, "record-refresh", 1) ?? DEFAULT_RECORD_REFRESH_SECONDS,
          },
        }
      : { members }),
  };
}

/**
 * Writes `text` to a new file, whole or not at all (atomicFile.ts): never over one that exists, since a
 * network's genesis must not change, and never a torn file a node would refuse and a re-run would not replace.
 */
async function writeNewFile(path: string, text: string): Promise<void> {
  if ((await writeFileAtomic(path, text, { mode: 0o644, create: true })) === "exists")
    throw new TallyError(ErrorCode.InvalidConfig, `${path} exists; a genesis is never overwritten`);
}

const genesisNew: Command = {
  path: ["genesis", "new"],
  summary: "write a new network's genesis file, checked as a node checks it (docs/deploy.md)",
  usage:
    "--out FILE --network NAME [--balance ADDRESS=AMOUNT…] [--membership open|static] [--bootstrap MULTIADDR/p2p/PEER_ID…] [--member MULTIADDR/p2p/PEER_ID…] [--broadcast contagion|bracha] [--design-nodes N] [--identity-difficulty BITS] [--record-ttl S] [--record-refresh S]",
  options: {
    out: { type: "string" },
    network: { type: "string" },
    balance: { type: "string", multiple: true },
    membership: { type: "string" },
    bootstrap: { type: "string", multiple: true },
    member: { type: "string", multiple: true },
    broadcast: { type: "string" },
    "design-nodes": { type: "string" },
    "identity-difficulty": { type: "string" },
    "record-ttl": { type: "string" },
    "record-refresh": { type: "string" },
  },
  async run(args): Promise<GenesisSummary> {
    const out = resolve(requireString(args, "out"));
    const genesis = parseGenesis(buildGenesisJson(args));
    await writeNewFile(out, `${JSON.stringify(genesisToJson(genesis), null, 2)}\n`);
    return {
      genesis: out,
      hash: genesisHash(genesis),
      network: genesis.network,
      membership: genesis.membership.mode,
      broadcast: genesis.broadcast.mode,
      balances: genesis.balances.length,
      members: genesis.members.length,
    };
  },
  human(result) {
    const r = result as GenesisSummary;
    const who = r.membership === "open" ? "open membership" : `${r.members} static members`;
    return `genesis ${r.genesis}: network ${r.network}, ${who}, ${r.broadcast}, ${r.balances} funded accounts, hash ${r.hash}`;
  },
};

export const genesisCommands: readonly Command[] = [genesisNew];
