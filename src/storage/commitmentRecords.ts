import type { Commitment } from "../broadcast/types.ts";
import { Bucket, key, range } from "./buckets.ts";
import { type BatchOp, type NodeDatabase, parseJsonValue } from "./database.ts";

/**
 * The broadcast's commitments (this node's own ECHO and READY per instance) in LevelDB. Written in the same
 * fsynced batch as the rest of a processing step, before the vote they guard leaves the node; removed once the
 * ledger holds the instance's slot, which keeps the instance closed by itself.
 */
export const commitmentRecords = {
  put(c: Commitment): BatchOp {
    return {
      type: "put",
      key: key(Bucket.broadcastCommitment, c.instance.source, c.instance.seq, c.kind),
      // jsonValue(c.digest) spelled out: digests are hex, nothing to escape, and this runs twice per transfer.
      value: `"${c.digest}"`,
    };
  },

  clear(source: string, seq: number): BatchOp[] {
    const instance = `${Bucket.broadcastCommitment}/${source}/${seq}/`;
    return [
      { type: "del", key: `${instance}echo` },
      { type: "del", key: `${instance}ready` },
    ];
  },

  async load(db: NodeDatabase): Promise<Commitment[]> {
    const out: Commitment[] = [];
    for await (const [k, v] of db.iterator(range(Bucket.broadcastCommitment))) {
      const [, source, seq, kind] = k.split("/") as [string, string, string, "echo" | "ready"];
      out.push({ instance: { source, seq: Number(seq) }, kind, digest: parseJsonValue<string>(v) });
    }
    return out;
  },
};
