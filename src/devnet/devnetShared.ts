import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { decodeAddress } from "../core/address.ts";
import { toHex } from "../core/bytes.ts";
import { parseOwners, sharedAddress } from "../kshared/definition.ts";

/** `devnet.json`'s `shared` entry: a K-owner account and which node hosts each owner. */
export interface DevnetShared {
  address: string;
  definition: string;
  owners: { keystore: string; passphraseFile: string; node: string }[];
}

/**
 * Writes the definition of a shared account owned by `owners` (devnet wallets' keystores) to
 * DIR/shared.json, and returns its address and the definition path.
 */
export async function writeDevnetDefinition(
  dir: string,
  owners: readonly { address: string }[],
): Promise<{ address: string; definition: string }> {
  const keys = owners.map((o) => toHex(decodeAddress(o.address).key));
  const definition = { owners: parseOwners(keys.join(",")).map(toHex), label: "devnet" };
  const path = join(dir, "shared.json");
  await writeFile(path, `${JSON.stringify(definition, null, 2)}\n`);
  return {
    address: sharedAddress({ owners: parseOwners(keys.join(",")), label: "devnet" }),
    definition: path,
  };
}
