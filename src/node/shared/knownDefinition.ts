import { AddressVersion, decodeAddress } from "../../core/address.ts";
import { toHex } from "../../core/bytes.ts";
import type { EncodedTransfer } from "../../core/transfer.ts";
import { sharedAddress } from "../../kshared/definition.ts";

/** What a known definition is read from: the ledger store's resolved transfers (durable). */
export interface ResolvedTransfers {
  firstResolvedIds(source: string, count: number): Promise<string[]>;
  body(id: string): Promise<EncodedTransfer | undefined>;
}

export interface DefinitionView {
  readonly owners: string[];
  readonly label: string;
}

/** Resolved transfers looked at per read: the first certified one names the definition. */
const TRANSFERS_LOOKED_AT = 4;

/**
 * A shared account's definition as this node learnt it: every certified transfer carries it, and the
 * ledger already keeps resolved bodies durably (with their seq index), so nothing new is stored — it
 * survives a restart with the ledger. The definition must hash to the address: a transfer whose
 * authorization named another account proves nothing about this one.
 */
export async function knownDefinition(
  store: ResolvedTransfers,
  address: string,
): Promise<DefinitionView | undefined> {
  if (decodeAddress(address).version !== AddressVersion.SharedAccount) return undefined;
  for (const id of await store.firstResolvedIds(address, TRANSFERS_LOOKED_AT)) {
    const definition = (await store.body(id))?.transfer.sharedAuthorization?.definition;
    if (definition !== undefined && sharedAddress(definition) === address)
      return { owners: definition.owners.map(toHex), label: definition.label };
  }
  return undefined;
}
