import type { Commitment, InstanceRef } from "../types.ts";
import { configError } from "./configChecks.ts";
import type { DeliveredLog } from "./deliveredLog.ts";
import { copyRef, instanceKey, isWellFormedDigest, isWellFormedInstance } from "./instanceId.ts";

/**
 * What this node promised in undelivered instances (its own ECHO/READY digests), by instance key; mirrors the
 * driver's durable commitment log. It outlives the live table: an instance evicted as stalled keeps its
 * entry, so no eviction can make this node contradict itself. An entry is dropped on delivery, after which the
 * delivered record and `isSettled` keep the instance closed.
 */
export class OwnCommitmentIndex<T extends { readonly ref: InstanceRef }> extends Map<string, T> {
  private readonly create: (ref: InstanceRef) => T;

  /** `create` makes the empty entry of an instance; each mode records its own kind of promises. */
  constructor(create: (ref: InstanceRef) => T) {
    super();
    this.create = create;
  }

  /** The entry of an instance, created on its first commitment. */
  of(key: string, instance: InstanceRef): T {
    let own = this.get(key);
    if (own === undefined) {
      own = this.create(copyRef(instance));
      this.set(key, own);
    }
    return own;
  }
}

/**
 * The persisted commitments `restore` must reload, in log order, with their instance keys: those of instances
 * not settled since. A malformed one means the log is corrupt; running on would risk equivocating.
 */
export function* unsettledCommitments(
  commitments: Iterable<Commitment>,
  delivered: DeliveredLog,
): Generator<{ readonly key: string; readonly commitment: Commitment }> {
  for (const commitment of commitments) {
    const { instance, kind, digest } = commitment;
    if (
      !isWellFormedInstance(instance) ||
      !isWellFormedDigest(digest) ||
      (kind !== "echo" && kind !== "ready")
    ) {
      throw configError("restore: malformed commitment", { commitment });
    }
    const key = instanceKey(instance);
    if (!delivered.isSettled(key, instance)) yield { key, commitment };
  }
}
