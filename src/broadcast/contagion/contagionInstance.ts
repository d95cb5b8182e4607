import { InlineMap, InlineSet } from "../../core/inlineMap.ts";
import type { PeerId } from "../../core/peerId.ts";
import type { LiveInstance } from "../instance/liveInstances.ts";
import type { Digest, InstanceRef } from "../types.ts";
import { EchoTally } from "./contagionEcho.ts";
import { ReadyTally } from "./contagionReady.ts";

/** The live state of one undelivered instance; its opener is a sampled peer. */
export interface ContagionInstance extends LiveInstance {
  /** The first valid payload this node accepted (Algorithm 6's `delivered`): relayed once, and echoed. */
  first: Digest | undefined;
  /** The first payload, and those of digests this node is ready for or decided: a handful at most. */
  readonly payloads: InlineMap<Digest, Uint8Array>;
  readonly echoes: EchoTally;
  readonly readies: ReadyTally;
  /** The first digest whose READYs reached D̂ in the delivery sample: the one this node delivers. */
  decided: Digest | undefined;
  /**
   * Whether `progress` has looked at the instance since it opened: a vote below every threshold cannot move
   * an examined instance, but a new one may hold commitments restored from before a restart (a pull to start).
   */
  examined: boolean;
}

/** What this node promised in an undelivered instance. */
export interface OwnCommitments {
  readonly ref: InstanceRef;
  /** At most one digest per instance, ever: the safety promise of Echo (Algorithm 8). */
  echo?: Digest;
  /** Any number of digests: readiness may spread for more than one (Algorithm 9); kept for liveness. */
  readonly ready: InlineSet<Digest>;
}

export function newOwnCommitments(ref: InstanceRef): OwnCommitments {
  return { ref, ready: new InlineSet() };
}

export function newInstance(
  key: string,
  ref: InstanceRef,
  openedBy: PeerId | undefined,
  lastActivityMs: number,
): ContagionInstance {
  return {
    key,
    ref,
    openedBy,
    introducedBy: undefined,
    lastActivityMs,
    first: undefined,
    payloads: new InlineMap(),
    echoes: new EchoTally(),
    readies: new ReadyTally(),
    decided: undefined,
    examined: false,
    pull: undefined,
  };
}
