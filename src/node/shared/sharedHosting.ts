import { readFile } from "node:fs/promises";
import { bytesEqual, toHex } from "../../core/bytes.ts";
import { ErrorCode, TallyError } from "../../core/errors.ts";
import {
  MAX_LABEL_BYTES,
  parseOwners,
  type SharedDefinition,
  sharedAccountId,
  sharedAddress,
} from "../../kshared/definition.ts";
import { MAX_HOST_RECORDS_PER_MESSAGE } from "../../protocols/committees/committeeChannelMessages.ts";
import { readKeystore } from "../../wallet/keystore.ts";
import { type OwnerSigner, ownerSigner } from "./ownerSigner.ts";

/** A shared account this node runs a committee for, as one of its owners. */
export interface HostedAccount {
  readonly definition: SharedDefinition;
  readonly id: Uint8Array;
  readonly idHex: string;
  readonly address: string;
  /** This node's owner index (the canonical position of its key). */
  readonly self: number;
  readonly signer: OwnerSigner;
}

/** `--owner-key KEYSTORE[:PASSPHRASE_FILE]`. */
export interface OwnerKeyFlag {
  readonly keystore: string;
  readonly passphraseFile?: string | undefined;
}

/** Definition files are tiny; anything larger is not one. */
const MAX_DEFINITION_FILE_BYTES = 16 * 1024;

function invalid(message: string): TallyError {
  return new TallyError(ErrorCode.InvalidConfig, message);
}

export function parseOwnerKeyFlag(value: string): OwnerKeyFlag {
  const at = value.lastIndexOf(":");
  if (at <= 0) return { keystore: value };
  return { keystore: value.slice(0, at), passphraseFile: value.slice(at + 1) };
}

/** `{"owners": [hex…], "label": "…"}`: the owners in any order (sorted here), label optional. */
export function parseDefinitionJson(text: string, where: string): SharedDefinition {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw invalid(`${where}: not JSON (${(e as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw invalid(`${where}: not an object`);
  const { owners, label, ...rest } = json as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw invalid(`${where}: unknown field "${Object.keys(rest)[0]}"`);
  if (!Array.isArray(owners) || owners.some((o) => typeof o !== "string"))
    throw invalid(`${where}: "owners" must be an array of hex keys`);
  if (label !== undefined && typeof label !== "string") throw invalid(`${where}: "label" must be a string`);
  if (Buffer.byteLength(label ?? "", "utf8") > MAX_LABEL_BYTES)
    throw invalid(`${where}: label over ${MAX_LABEL_BYTES} bytes`);
  return { owners: parseOwners(owners.join(",")), label: label ?? "" };
}

/**
 * Unlocks every owner key and reads every definition; hosts each definition holding one of the keys.
 * Refuses (at startup, so an operator sees it at once) a definition naming two of this node's keys — one
 * node would then speak for two owners, and one crash would silence both — and a definition twice.
 */
export async function loadHostedAccounts(
  ownerKeys: readonly OwnerKeyFlag[],
  definitionFiles: readonly string[],
): Promise<HostedAccount[]> {
  const signers: OwnerSigner[] = [];
  for (const flag of ownerKeys) {
    if (flag.passphraseFile === undefined)
      throw invalid(`--owner-key ${flag.keystore}: give the passphrase file as KEYSTORE:PASSPHRASE_FILE`);
    const keystore = await readKeystore(flag.keystore, { passphraseFile: flag.passphraseFile });
    signers.push(ownerSigner(keystore.secretKey));
  }
  const hosted: HostedAccount[] = [];
  for (const file of definitionFiles) {
    const text = await readFile(file, "utf8").catch((e: Error) => {
      throw invalid(`--shared ${file}: ${e.message}`);
    });
    if (text.length > MAX_DEFINITION_FILE_BYTES) throw invalid(`--shared ${file}: too large`);
    const definition = parseDefinitionJson(text, `--shared ${file}`);
    const mine = signers.filter((s) => definition.owners.some((o) => bytesEqual(o, s.publicKey)));
    if (mine.length === 0) continue;
    const address = sharedAddress(definition);
    if (mine.length > 1)
      throw invalid(
        `--shared ${file}: ${address} names ${mine.length} of this node's owner keys; one node hosts one owner per account`,
      );
    if (hosted.some((h) => h.address === address)) throw invalid(`--shared ${file}: ${address} given twice`);
    const signer = mine[0]!;
    const id = sharedAccountId(definition);
    const self = definition.owners.findIndex((o) => bytesEqual(o, signer.publicKey));
    hosted.push({ definition, id, idHex: toHex(id), address, self, signer });
  }
  // Every hosted account's host record goes to each peer in one committees-channel message.
  if (hosted.length > MAX_HOST_RECORDS_PER_MESSAGE)
    throw invalid(
      `this node hosts ${hosted.length} shared accounts; at most ${MAX_HOST_RECORDS_PER_MESSAGE}`,
    );
  return hosted;
}
