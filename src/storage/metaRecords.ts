import { ErrorCode, TallyError } from "../core/errors.ts";
import { Bucket, key } from "./buckets.ts";
import { jsonValue, type NodeDatabase, parseJsonValue } from "./database.ts";

/**
 * The on-disk layout's version, recorded since the unreferenced-payment journal (format 1; data dirs written
 * before carry none and read as format 0). Format 2: index entries written per account at checkpoints, as
 * chunks, and journal entries with positions (stepJournal.ts). Format 3: changed account records and the
 * history counter written at checkpoints too, so the journal is replayed onto the accounts; accepted transfers
 * in step records (submittedLog.ts). A version that finds a higher number refuses the data dir rather than
 * misread it: an older reader would, for instance, ignore the journal and lose payments or a balance change,
 * miss the accepted transfers, or fail on a chunk it reads as JSON. Lower formats are read as they are (or
 * migrated at start, like accepted transfers' keys).
 */
export const STORAGE_FORMAT = 3;

/** Facts about the data dir itself. */
export const metaRecords = {
  /** Refuses a data dir of a newer layout; records this version's layout on any other. */
  async claimStorageFormat(db: NodeDatabase, dataDir: string): Promise<void> {
    const stored = await db.get(key(Bucket.meta, "storageFormat"));
    const format = stored === undefined ? 0 : parseJsonValue<number>(stored);
    if (format > STORAGE_FORMAT) {
      throw new TallyError(
        ErrorCode.StorageFormatUnsupported,
        `data dir ${dataDir} has storage format ${format}; this version reads formats up to ${STORAGE_FORMAT}: upgrade tally`,
      );
    }
    if (format < STORAGE_FORMAT) await db.put(key(Bucket.meta, "storageFormat"), jsonValue(STORAGE_FORMAT));
  },
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
