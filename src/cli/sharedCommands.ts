import { toHex } from "../core/bytes.ts";
import { isTallyError } from "../core/errors.ts";
import { MAX_LABEL_BYTES, parseOwners, sharedAccountId, sharedAddress } from "../kshared/definition.ts";
import { type Command, optionalString, type ParsedArgs, requireString, UsageError } from "./command.ts";
import { sharedEvidenceCommand } from "./sharedEvidence.ts";
import { sharedProposeCommand } from "./sharedPropose.ts";
import { sharedStatusCommand } from "./sharedStatus.ts";

/** What `tally shared address` prints: the account's address, its id and the definition that hashes to it. */
export interface SharedAddressResult {
  readonly address: string;
  /** The 32-byte shared-account id (the address's payload after the version byte), hex. */
  readonly id: string;
  /** The owners' public keys in canonical (ascending) order: owner index i is `owners[i]`. */
  readonly owners: readonly string[];
  readonly label: string;
}

/** The address a set of owners (any order) and a label define; usage errors name the bad input. */
export function sharedAddressOf(ownersText: string, label = ""): SharedAddressResult {
  let owners: Uint8Array[];
  try {
    owners = parseOwners(ownersText);
  } catch (e) {
    if (isTallyError(e)) throw new UsageError(`--${e.message}`);
    throw e;
  }
  if (Buffer.byteLength(label) > MAX_LABEL_BYTES) {
    throw new UsageError(`--label is at most ${MAX_LABEL_BYTES} bytes of UTF-8`);
  }
  const definition = { owners, label };
  return {
    address: sharedAddress(definition),
    id: toHex(sharedAccountId(definition)),
    owners: owners.map(toHex),
    label,
  };
}

const sharedAddressCommand: Command = {
  path: ["shared", "address"],
  summary: "the address of a k-shared account owned by these ed25519 keys (docs/kshared.md)",
  usage: "--owners PUBKEY,PUBKEY,… [--label TEXT]",
  options: { owners: { type: "string" }, label: { type: "string" } },
  run: async (args: ParsedArgs) => {
    if (args.positionals.length > 0) {
      throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
    }
    return sharedAddressOf(requireString(args, "owners"), optionalString(args, "label") ?? "");
  },
  human: (r) => {
    const result = r as SharedAddressResult;
    return [
      result.address,
      `  id     ${result.id}`,
      ...result.owners.map((key, i) => `  owner ${i} ${key}`),
      `  label  ${JSON.stringify(result.label)}`,
    ].join("\n");
  },
};

export const sharedCommands: readonly Command[] = [
  sharedAddressCommand,
  sharedProposeCommand,
  sharedStatusCommand,
  sharedEvidenceCommand,
];
