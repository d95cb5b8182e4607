import type { BroadcastAction, Digest, InspectPayload } from "../types.ts";
import type { DeliveredLog } from "./deliveredLog.ts";
import { instanceKey } from "./instanceId.ts";
import type { LiveInstance, LiveInstances } from "./liveInstances.ts";
import { inspectSafely } from "./payloadInspection.ts";

/**
 * How a mode introduces a payload submitted to this node, once it holds it in `inst`. `echoed` is the digest
 * this node already echoed in the instance (then this one: a resubmission), or undefined.
 */
export type Introduce<T extends LiveInstance> = (
  inst: T,
  digest: Digest,
  payload: Uint8Array,
  echoed: Digest | undefined,
  nowMs: number,
  out: BroadcastAction[],
) => void;

export interface SubmissionsOptions<T extends LiveInstance> {
  readonly inspect: InspectPayload;
  readonly delivered: DeliveredLog;
  /** This node's own commitments, by instance key: only the echoed digest matters here. */
  readonly committed: ReadonlyMap<string, { readonly echo?: Digest }>;
  readonly live: LiveInstances<T>;
  readonly introduce: Introduce<T>;
}

/**
 * A wallet's `submit`, the same in both modes but for how the payload is introduced. It ends with the
 * outcome `invalid`, `delivered`, `conflict` (this node echoed another payload: a double spend) or `full`
 * before anything is introduced; otherwise the mode introduces it and the answer is `accepted`, or
 * `duplicate` for a payload this node already echoed.
 */
export class Submissions<T extends LiveInstance> {
  private readonly inspect: InspectPayload;
  private readonly delivered: DeliveredLog;
  private readonly committed: SubmissionsOptions<T>["committed"];
  private readonly live: LiveInstances<T>;
  private readonly introduce: Introduce<T>;

  constructor(options: SubmissionsOptions<T>) {
    this.inspect = options.inspect;
    this.delivered = options.delivered;
    this.committed = options.committed;
    this.live = options.live;
    this.introduce = options.introduce;
  }

  /** Pushes the `submitResult`; returns the instance the payload went into, for the mode to move forward. */
  submit(payload: Uint8Array, nowMs: number, out: BroadcastAction[]): T | undefined {
    const info = inspectSafely(this.inspect, payload);
    if (info === null) {
      out.push({ type: "submitResult", outcome: "invalid" });
      return undefined;
    }
    const { instance, digest } = info;
    const key = instanceKey(instance);
    if (this.delivered.isSettled(key, instance)) {
      out.push({ type: "submitResult", outcome: "delivered", instance, digest });
      return undefined;
    }
    const echoed = this.committed.get(key)?.echo;
    if (echoed !== undefined && echoed !== digest) {
      out.push({ type: "submitResult", outcome: "conflict", instance, digest });
      return undefined;
    }
    const existing = this.live.get(key);
    const inst = existing ?? this.live.open(key, instance, undefined, nowMs);
    // The account's quota applies to a wallet's submissions too: the API is no way around it.
    if (inst === undefined || !this.live.chargeIntroduction(inst, "self")) {
      if (existing === undefined && inst !== undefined) this.live.drop(inst);
      out.push({ type: "submitResult", outcome: "full", instance, digest });
      return undefined;
    }
    this.introduce(inst, digest, payload, echoed, nowMs, out);
    out.push({
      type: "submitResult",
      outcome: echoed === undefined ? "accepted" : "duplicate",
      instance,
      digest,
    });
    return inst;
  }
}
