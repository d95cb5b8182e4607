import { ErrorCode, TallyError } from "../core/errors.ts";
import { Bucket, key } from "./buckets.ts";
import { jsonValue, type NodeDatabase, parseJsonValue } from "./database.ts";

/** Facts about the data dir itself. */
export const metaRecords = {
  /**
   * A data dir belongs to one genesis; starting it with another would silently mix two ledgers. The first
   * start records the genesis hash, every later start must match it.
   */
  async claimForGenesis(db: NodeDatabase, genesisId: string, dataDir: string): Promise<void> {
    const stored = await db.get(key(Bucket.meta, "genesis"));
    if (stored === undefined) {
      await db.put(key(Bucket.meta, "genesis"), jsonValue(genesisId));
      return;
    }
    const storedId = parseJsonValue<string>(stored);
    if (storedId !== genesisId) {
      throw new TallyError(
        ErrorCode.InvalidGenesis,
        `data dir ${dataDir} was created for genesis ${storedId.slice(0, 12)}…, not ${genesisId.slice(0, 12)}…`,
      );
    }
  },
};
