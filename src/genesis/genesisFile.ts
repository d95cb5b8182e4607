import { readFile } from "node:fs/promises";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { type Genesis, parseGenesis } from "./genesis.ts";

/** Reads and validates a genesis file; every failure is an INVALID_GENESIS naming the file. */
export async function readGenesisFile(path: string): Promise<Genesis> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new TallyError(
      ErrorCode.InvalidGenesis,
      `cannot read genesis ${path}: ${(e as NodeJS.ErrnoException).code}`,
    );
  }
  try {
    return parseGenesis(JSON.parse(text));
  } catch (e) {
    if (e instanceof TallyError) throw e;
    throw new TallyError(ErrorCode.InvalidGenesis, `genesis ${path} is not JSON`);
  }
}

/** The other members' dial addresses, each ending in `/p2p/<peerId>`. */
export function memberDialAddresses(genesis: Genesis, self: string): string[] {
  return genesis.members
    .filter((m) => m.peerId !== self)
    .flatMap((m) => m.multiaddrs.map((a) => (a.includes("/p2p/") ? a : `${a}/p2p/${m.peerId}`)));
}
