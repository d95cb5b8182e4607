import { decodeAddress } from "../core/address.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { parseAmount, transferToJson } from "../core/transferJson.ts";
import { newKeystore, readKeystore, writeKeystore } from "../wallet/keystore.ts";
import { buildSignedTransfer, checkSeqNotReused } from "../wallet/signTransfer.ts";
import { type Command, optionalInteger, optionalString, type ParsedArgs, requireString, UsageError } from "./command.ts";

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

const walletSign: Command = {
  path: ["wallet", "sign"],
  summary: "print a signed transfer (the JSON POST /v1/transfers accepts) without submitting it",
  usage: "TO AMOUNT --keystore FILE --network ID --seq N [--dep ID…] [--memo TEXT]",
  options: {
    keystore: { type: "string" },
    network: { type: "string" },
    seq: { type: "string" },
    dep: { type: "string", multiple: true },
    memo: { type: "string" },
  },
  async run(args) {
    const path = requireString(args, "keystore");
    const keystore = await readKeystore(path);
    const output = parseTo(args);
    const seq = optionalInteger(args, "seq", 1);
    if (seq === undefined) throw new UsageError("--seq is required until the wallet can ask a node (--node)");
    checkSeqNotReused(keystore, seq, true);
    const signed = buildSignedTransfer(keystore, {
      network: requireString(args, "network"),
      seq,
      outputs: [output],
      deps: (args.values.dep as string[] | undefined) ?? [],
      memo: optionalString(args, "memo"),
    });
    if (seq > keystore.lastSignedSeq) {
      await writeKeystore(path, { ...keystore, lastSignedSeq: seq, lastSignedId: signed.id });
    }
    return transferToJson(signed.transfer);
  },
  human: (r) => JSON.stringify(r, null, 2),
};

export const walletCommands: readonly Command[] = [walletNew, walletAddress, walletSign];

export function assertNever(x: never): never {
  throw new TallyError(ErrorCode.InvalidField, `unexpected ${String(x)}`);
}
