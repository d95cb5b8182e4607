import { decodeAddress } from "../core/address.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import type { EncodedTransfer } from "../core/transfer.ts";
import { parseAmount, type TransferJson, transferToJson } from "../core/transferJson.ts";
import { newKeystore, readKeystore, writeKeystore } from "../wallet/keystore.ts";
import { NodeClient } from "../wallet/nodeClient.ts";
import { prepareNextTransfer } from "../wallet/prepareTransfer.ts";
import {
  type Command,
  optionalInteger,
  optionalString,
  type ParsedArgs,
  requireString,
  UsageError,
} from "./command.ts";

function parseTo(args: ParsedArgs): { to: string; amount: bigint } {
  const [to, amount] = args.positionals;
  if (to === undefined || amount === undefined) throw new UsageError("expected TO AMOUNT");
  decodeAddress(to);
  return { to, amount: parseAmount(amount, "AMOUNT") };
}

const walletNew: Command = {
  path: ["wallet", "new"],
  summary: "create a keystore with a fresh ed25519 key (file mode 0600; never overwrites)",
  usage: "--keystore FILE",
  options: { keystore: { type: "string" } },
  async run(args) {
    const path = requireString(args, "keystore");
    const keystore = newKeystore();
    await writeKeystore(path, keystore, { create: true });
    return { address: keystore.address, keystore: path };
  },
  human: (r) => (r as { address: string }).address,
};

const walletAddress: Command = {
  path: ["wallet", "address"],
  summary: "print the keystore's address",
  usage: "--keystore FILE",
  options: { keystore: { type: "string" } },
  async run(args) {
    const keystore = await readKeystore(requireString(args, "keystore"));
    return { address: keystore.address };
  },
  human: (r) => (r as { address: string }).address,
};

const DEFAULT_NODE = "http://127.0.0.1:7070";

function nodeClient(args: ParsedArgs): NodeClient {
  return new NodeClient(optionalString(args, "node") ?? process.env.TALLY_NODE ?? DEFAULT_NODE);
}

const nodeOption = { node: { type: "string" } } as const;

/**
 * Signs TO AMOUNT with the wallet's next seq and the node's pending deps, recording the seq in the
 * keystore *before* anything leaves the machine: a crash after submitting can never lead the
 * wallet to sign a second, different transfer for the same seq.
 */
async function signNext(args: ParsedArgs): Promise<{ signed: EncodedTransfer; client: NodeClient }> {
  const path = requireString(args, "keystore");
  const keystore = await readKeystore(path);
  const client = nodeClient(args);
  const { signed, keystore: updated } = await prepareNextTransfer(client, keystore, {
    outputs: [parseTo(args)],
    memo: optionalString(args, "memo"),
    explicitSeq: optionalInteger(args, "seq", 1),
  });
  if (updated !== keystore) await writeKeystore(path, updated);
  return { signed, client };
}

const walletSign: Command = {
  path: ["wallet", "sign"],
  summary: "print a signed transfer (the JSON POST /v1/transfers accepts) without submitting it",
  usage: "TO AMOUNT --keystore FILE [--node URL] [--seq N] [--memo TEXT]",
  options: { keystore: { type: "string" }, seq: { type: "string" }, memo: { type: "string" }, ...nodeOption },
  async run(args) {
    const { signed } = await signNext(args);
    return transferToJson(signed.transfer);
  },
  human: (r) => JSON.stringify(r, null, 2),
};

const walletSend: Command = {
  path: ["wallet", "send"],
  summary: "sign and submit a transfer, then wait until the node has applied it",
  usage: "TO AMOUNT --keystore FILE [--node URL] [--memo TEXT] [--no-wait] [--timeout MS] [--seq N]",
  options: {
    keystore: { type: "string" },
    seq: { type: "string" },
    memo: { type: "string" },
    "no-wait": { type: "boolean" },
    timeout: { type: "string" },
    ...nodeOption,
  },
  async run(args) {
    const { signed, client } = await signNext(args);
    const submitted = await client.submit(transferToJson(signed.transfer));
    if (args.values["no-wait"] === true) return submitted;
    const timeoutMs = optionalInteger(args, "timeout", 1) ?? 30_000;
    const view = await client.waitForResolution(submitted.id, timeoutMs);
    if (view.status === "rejected") {
      throw new TallyError(
        view.reason?.code ?? ErrorCode.InvalidField,
        `transfer ${view.id} was rejected: ${view.reason?.message ?? "no reason given"}`,
      );
    }
    return { id: view.id, status: view.status };
  },
  human: (r) => {
    const { id, status } = r as { id: string; status: string };
    return `${status} ${id}`;
  },
};

const walletBalance: Command = {
  path: ["wallet", "balance"],
  summary: "the wallet's balance and next seq, as a node reports them",
  usage: "--keystore FILE [--node URL]",
  options: { keystore: { type: "string" }, ...nodeOption },
  async run(args) {
    const keystore = await readKeystore(requireString(args, "keystore"));
    const account = await nodeClient(args).account(keystore.address);
    return { address: account.address, balance: account.balance, nextSeq: account.nextSeq };
  },
  human: (r) => {
    const { address, balance, nextSeq } = r as { address: string; balance: string; nextSeq: number };
    return `${balance} (${address}, next seq ${nextSeq})`;
  },
};

const walletHistory: Command = {
  path: ["wallet", "history"],
  summary: "transfers from and to the wallet, newest first",
  usage: "--keystore FILE [--node URL] [--limit N]",
  options: { keystore: { type: "string" }, limit: { type: "string" }, ...nodeOption },
  async run(args) {
    const keystore = await readKeystore(requireString(args, "keystore"));
    const limit = optionalInteger(args, "limit", 1) ?? 50;
    return (await nodeClient(args).accountTransfers(keystore.address, limit)).transfers;
  },
  human: (r) =>
    (r as { id: string; status: string; direction: string; transfer: TransferJson }[])
      .map((t) => {
        const total = t.transfer.outputs.reduce((sum, o) => sum + BigInt(o.amount), 0n);
        const peer =
          t.direction === "out"
            ? `to ${t.transfer.outputs.map((o) => o.to).join(",")}`
            : `from ${t.transfer.source}`;
        return `${t.direction === "out" ? "-" : "+"}${total} ${peer} seq ${t.transfer.seq} ${t.status} ${t.id}`;
      })
      .join("\n") || "(no transfers)",
};

export const walletCommands: readonly Command[] = [
  walletNew,
  walletAddress,
  walletBalance,
  walletSend,
  walletSign,
  walletHistory,
];
