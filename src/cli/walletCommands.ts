import { decodeAddress } from "../core/address.ts";
import { toHex } from "../core/bytes.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { parseAmount, type TransferJson, transferToJson } from "../core/transferJson.ts";
import {
  checkNetworkId,
  type Keystore,
  newKeystore,
  readKeystore,
  readKeystoreInfo,
  sealKeystore,
  writeKeystore,
} from "../wallet/keystore.ts";
import { NodeClient } from "../wallet/nodeClient.ts";
import { promptNewPassphrase, promptPassphrase, readPassphraseFile } from "../wallet/passphrase.ts";
import { prepareNextTransfer } from "../wallet/prepareTransfer.ts";
import { readPrivateFile } from "../wallet/privateFile.ts";
import { parseSecretKeyText } from "../wallet/secretKeyText.ts";
import { signAndSubmit } from "../wallet/submitTransfer.ts";
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

const DEFAULT_NODE = "http://127.0.0.1:7070";

function nodeClient(args: ParsedArgs): NodeClient {
  return new NodeClient(optionalString(args, "node") ?? process.env.TALLY_NODE ?? DEFAULT_NODE);
}

const nodeOption = { node: { type: "string" } } as const;
const passphraseOption = { "passphrase-file": { type: "string" } } as const;

/** The passphrase from `--passphrase-file`, else asked on the terminal (twice for a new keystore). */
async function passphraseOf(args: ParsedArgs, options: { forNewKeystore?: boolean } = {}): Promise<string> {
  const file = optionalString(args, "passphrase-file");
  if (file !== undefined) return readPassphraseFile(file);
  return options.forNewKeystore ? promptNewPassphrase() : promptPassphrase("Keystore passphrase: ");
}

async function unlockKeystore(args: ParsedArgs): Promise<{ path: string; keystore: Keystore }> {
  const path = requireString(args, "keystore");
  return { path, keystore: await readKeystore(path, { passphrase: await passphraseOf(args) }) };
}

/** The network a new keystore pins: `--network`, else what its node says (asked once, at creation only). */
async function networkToPin(args: ParsedArgs): Promise<string> {
  const given = optionalString(args, "network");
  if (given !== undefined) return checkNetworkId(given);
  const client = nodeClient(args);
  try {
    return checkNetworkId((await client.info()).network);
  } catch (e) {
    throw new TallyError(
      ErrorCode.WalletNetworkMismatch,
      `cannot learn the network to pin from ${client.baseUrl} (${(e as Error).message}); pass --network NAME`,
    );
  }
}

const createOptions = {
  keystore: { type: "string" },
  network: { type: "string" },
  ...nodeOption,
  ...passphraseOption,
} as const;

const walletNew: Command = {
  path: ["wallet", "new"],
  summary:
    "create an encrypted keystore with a fresh ed25519 key, pinned to a network (mode 0600; never overwrites)",
  usage: "--keystore FILE [--network NAME | --node URL] [--passphrase-file FILE]",
  options: createOptions,
  async run(args) {
    const path = requireString(args, "keystore");
    const network = await networkToPin(args);
    const keystore = await sealKeystore(
      newKeystore(undefined, network),
      await passphraseOf(args, { forNewKeystore: true }),
    );
    await writeKeystore(path, keystore, { create: true });
    return { address: keystore.address, network, keystore: path };
  },
  human: (r) => (r as { address: string }).address,
};

/** Keys and version-1 keystores are at most a few hundred bytes. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

async function readStdin(maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > maxBytes)
      throw new TallyError(ErrorCode.WalletKeystoreInvalid, `stdin holds more than ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

const walletImport: Command = {
  path: ["wallet", "import"],
  summary:
    "create an encrypted keystore from a secret key (64 hex) or a version-1 keystore, read from a file or stdin",
  usage: "--key-file FILE|- --keystore FILE [--network NAME | --node URL] [--passphrase-file FILE]",
  options: { ...createOptions, "key-file": { type: "string" } },
  async run(args) {
    const path = requireString(args, "keystore");
    const keyFile = requireString(args, "key-file");
    if (keyFile === "-" && optionalString(args, "passphrase-file") === undefined) {
      throw new UsageError(
        "--key-file - reads the key from stdin, so the passphrase must come from --passphrase-file",
      );
    }
    const text =
      keyFile === "-"
        ? await readStdin(MAX_KEY_FILE_BYTES)
        : (await readPrivateFile(keyFile, "key file", MAX_KEY_FILE_BYTES)).toString("utf8");
    const imported = parseSecretKeyText(text);
    const network = await networkToPin(args);
    const keystore = await sealKeystore(
      {
        ...newKeystore(imported.secretKey, network),
        lastSignedSeq: imported.lastSignedSeq,
        lastSignedId: imported.lastSignedId,
      },
      await passphraseOf(args, { forNewKeystore: true }),
    );
    await writeKeystore(path, keystore, { create: true });
    return { address: keystore.address, network, keystore: path, lastSignedSeq: keystore.lastSignedSeq };
  },
  human: (r) => (r as { address: string }).address,
};

const walletExport: Command = {
  path: ["wallet", "export"],
  summary: "print the keystore's secret key (64 hex, what `wallet import` reads); needs --show-secret",
  usage: "--keystore FILE --show-secret [--passphrase-file FILE]",
  options: { keystore: { type: "string" }, "show-secret": { type: "boolean" }, ...passphraseOption },
  async run(args) {
    if (args.values["show-secret"] !== true) {
      throw new UsageError(
        "export prints the secret key, which gives anyone who sees it the funds; pass --show-secret to confirm",
      );
    }
    const { keystore } = await unlockKeystore(args);
    return { address: keystore.address, network: keystore.network, secretKey: toHex(keystore.secretKey) };
  },
  human: (r) => (r as { secretKey: string }).secretKey,
};

const walletAddress: Command = {
  path: ["wallet", "address"],
  summary: "print the keystore's address (no passphrase needed)",
  usage: "--keystore FILE",
  options: { keystore: { type: "string" } },
  async run(args) {
    const info = await readKeystoreInfo(requireString(args, "keystore"));
    return { address: info.address, network: info.network };
  },
  human: (r) => (r as { address: string }).address,
};

/**
 * Signs TO AMOUNT with the wallet's next seq and its node's verified deps, recording the seq in the keystore
 * *before* anything leaves the machine: a crash after submitting can never lead the wallet to sign a second,
 * different transfer for the same seq.
 */
function paymentOf(args: ParsedArgs) {
  const confirm = (args.values["confirm-node"] as string[] | undefined) ?? [];
  return {
    outputs: [parseTo(args)],
    memo: optionalString(args, "memo"),
    explicitSeq: optionalInteger(args, "seq", 1),
    confirmNodes: confirm.map((url) => new NodeClient(url)),
  };
}

const signOptions = {
  keystore: { type: "string" },
  seq: { type: "string" },
  memo: { type: "string" },
  "confirm-node": { type: "string", multiple: true },
  ...nodeOption,
  ...passphraseOption,
} as const;

const walletSign: Command = {
  path: ["wallet", "sign"],
  summary:
    "print a signed transfer (the JSON POST /v1/transfers accepts) without submitting it; its seq stays held",
  usage:
    "TO AMOUNT --keystore FILE [--node URL] [--confirm-node URL…] [--seq N] [--memo TEXT] [--passphrase-file FILE]",
  options: signOptions,
  async run(args) {
    const { path, keystore } = await unlockKeystore(args);
    const { signed, keystore: updated } = await prepareNextTransfer(
      nodeClient(args),
      keystore,
      paymentOf(args),
    );
    if (updated !== keystore) await writeKeystore(path, updated);
    return transferToJson(signed.transfer);
  },
  human: (r) => JSON.stringify(r, null, 2),
};

const walletSend: Command = {
  path: ["wallet", "send"],
  summary: "sign and submit a transfer, then wait until the node has applied it",
  usage:
    "TO AMOUNT --keystore FILE [--node URL] [--confirm-node URL…] [--memo TEXT] [--no-wait] [--timeout MS] [--seq N] [--passphrase-file FILE]",
  options: { ...signOptions, "no-wait": { type: "boolean" }, timeout: { type: "string" } },
  async run(args) {
    const { path, keystore } = await unlockKeystore(args);
    const client = nodeClient(args);
    const submitted = await signAndSubmit(client, keystore, paymentOf(args), (k) => writeKeystore(path, k));
    if (args.values["no-wait"] === true) return { id: submitted.id, status: submitted.status };
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
  summary: "the wallet's balance and next seq, as a node reports them (no passphrase needed)",
  usage: "--keystore FILE [--node URL]",
  options: { keystore: { type: "string" }, ...nodeOption },
  async run(args) {
    const info = await readKeystoreInfo(requireString(args, "keystore"));
    const account = await nodeClient(args).account(info.address);
    return { address: account.address, balance: account.balance, nextSeq: account.nextSeq };
  },
  human: (r) => {
    const { address, balance, nextSeq } = r as { address: string; balance: string; nextSeq: number };
    return `${balance} (${address}, next seq ${nextSeq})`;
  },
};

const walletHistory: Command = {
  path: ["wallet", "history"],
  summary: "transfers from and to the wallet, newest first (no passphrase needed)",
  usage: "--keystore FILE [--node URL] [--limit N]",
  options: { keystore: { type: "string" }, limit: { type: "string" }, ...nodeOption },
  async run(args) {
    const info = await readKeystoreInfo(requireString(args, "keystore"));
    const limit = optionalInteger(args, "limit", 1) ?? 50;
    return (await nodeClient(args).accountTransfers(info.address, limit)).transfers;
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
  walletImport,
  walletExport,
  walletAddress,
  walletBalance,
  walletSend,
  walletSign,
  walletHistory,
];
