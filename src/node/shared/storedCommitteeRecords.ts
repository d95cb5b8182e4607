import type { CommitteeAction, CommitteeRecord } from "../../kshared/committeeTypes.ts";
import { type NumberedRecord, RetainedRecords, type RetentionRules } from "../../kshared/recordRetention.ts";
import { committeeRecords } from "../../storage/committeeRecords.ts";
import type { BatchOp } from "../../storage/database.ts";

/**
 * One hosted account's committee records as LevelDB holds them: the batch ops that file a step's `persist`
 * records, and the ops that delete the records those made useless. The driver puts both in the
 * step's one batch, so a crash keeps the new records and the deletions together or neither.
 */
export class StoredCommitteeRecords {
  private readonly accountHex: string;
  private readonly retained: RetainedRecords;

  /** `entries` and `next` as `committeeRecords.load` returns them. */
  constructor(accountHex: string, entries: Iterable<NumberedRecord> = [], next = 0) {
    this.accountHex = accountHex;
    this.retained = new RetainedRecords(entries, next);
  }

  /** Puts for the `persist` actions, in order. */
  put(actions: readonly CommitteeAction[]): BatchOp[] {
    const ops: BatchOp[] = [];
    for (const action of actions) {
      if (action.type !== "persist") continue;
      const counter = this.retained.add(action.record);
      ops.push(committeeRecords.put(this.accountHex, counter, action.record));
    }
    return ops;
  }

  /** Deletes for what restore no longer needs; they go after the puts of the same batch. */
  compact(rules: RetentionRules): BatchOp[] {
    return this.retained.compact(rules).map((counter) => committeeRecords.del(this.accountHex, counter));
  }

  /** What the store holds, in the order `restore` expects. */
  records(): CommitteeRecord[] {
    return this.retained.records();
  }

  get size(): number {
    return this.retained.size;
  }
}
