import { Devnet } from "../devnet/devnet.ts";
import { type Command, optionalInteger, optionalString, type ParsedArgs, UsageError } from "./command.ts";

const devnetUp: Command = {
  path: ["devnet", "up"],
  summary:
    "start N real node processes on loopback with a fresh genesis and funded wallets; Ctrl-C stops them",
  usage:
    "[--nodes N] [--broadcast bracha|contagion] [--membership open|static] [--dir DIR] [--wallets K] [--log-level LEVEL] [--byzantine K --strategy silent|forge|equivocate] [--testing-faults] [--shared K [--byzantine-owner silent|equivocate [--byzantine-owners N]]]",
  options: {
    nodes: { type: "string" },
    broadcast: { type: "string" },
    membership: { type: "string" },
    dir: { type: "string" },
    wallets: { type: "string" },
    "log-level": { type: "string" },
    byzantine: { type: "string" },
    shared: { type: "string" },
    "byzantine-owner": { type: "string" },
    "byzantine-owners": { type: "string" },
    strategy: { type: "string" },
    "testing-faults": { type: "boolean" },
  },
  async run(args) {
    const broadcast = optionalString(args, "broadcast") ?? "contagion";
    if (broadcast !== "bracha" && broadcast !== "contagion")
      throw new UsageError("--broadcast must be bracha or contagion");
    const membership = optionalString(args, "membership");
    if (membership !== undefined && membership !== "open" && membership !== "static")
      throw new UsageError("--membership must be open or static");
    const devnet = await Devnet.up({
      dir: optionalString(args, "dir") ?? ".devnet",
      nodes: optionalInteger(args, "nodes", 1) ?? 4,
      broadcast,
      wallets: optionalInteger(args, "wallets", 1) ?? 1,
      logLevel: optionalString(args, "log-level") ?? "info",
      walletBalance: 1_000_000_000_000n,
      readyTimeoutMs: 60_000,
      byzantine: byzantineOption(args),
      shared: optionalInteger(args, "shared", 1),
      byzantineOwner: optionalString(args, "byzantine-owner"),
      byzantineOwners: optionalInteger(args, "byzantine-owners", 1),
      membership,
      testingFaults: args.values["testing-faults"] === true,
    });
    const { nodes, wallets } = devnet.file;
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ ready: true, devnet: devnet.path, ...devnet.file })}\n`);
    } else {
      const lines = [
        `devnet ready: ${nodes.length} nodes (${broadcast}, ${devnet.membership} membership), ${devnet.path}`,
        ...nodes.map(
          (n) =>
            `  ${n.name}  ${n.api}  pid ${n.pid}  log ${n.log}${n.byzantine ? `  BYZANTINE (${n.byzantine})` : ""}`,
        ),
        `  dev wallet ${wallets[0]!.address}`,
        `             keystore ${wallets[0]!.keystore}`,
        `             passphrase in ${wallets[0]!.passphraseFile}`,
        "  try: npx --no tally wallet balance --keystore " +
          `${wallets[0]!.keystore} --node ${nodes[0]!.api}`,
        `  explorer: ${nodes[0]!.api}/explorer/ (any node's API address serves it)`,
        ...(devnet.membership === "open"
          ? [
              "  join: npx --no tally node start --genesis " +
                `${devnet.file.genesis} --bootstrap ${nodes[0]!.multiaddr} --data-dir DIR --api 127.0.0.1:PORT --listen /ip4/127.0.0.1/tcp/PORT2`,
            ]
          : []),
        "Ctrl-C stops the devnet.",
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    }
    await new Promise<void>((resolve) => {
      const shutdown = () => {
        devnet.down().then(resolve, resolve);
      };
      process.once("SIGINT", shutdown);
      process.once("SIGTERM", shutdown);
    });
    return undefined;
  },
};

/** Testing feature: `--byzantine K --strategy NAME` makes the last K nodes misbehave. */
function byzantineOption(args: ParsedArgs): { count: number; strategy: string } | undefined {
  const count = optionalInteger(args, "byzantine", 0) ?? 0;
  const strategy = optionalString(args, "strategy");
  if (count === 0 && strategy === undefined) return undefined;
  if (count === 0 || strategy === undefined)
    throw new UsageError("--byzantine K and --strategy NAME go together");
  return { count, strategy };
}

export const devnetCommands: readonly Command[] = [devnetUp];
