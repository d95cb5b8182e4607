import type { InlineMap } from "../../core/inlineMap.ts";
import type { LiveInstance } from "../instance/liveInstances.ts";
import type { VoteTally } from "../instance/voteTally.ts";
import type { Digest, InstanceRef } from "../types.ts";

/** The live state of one undelivered instance. */
export interface BrachaInstance extends LiveInstance {
  readonly echoes: VoteTally;
  readonly readies: VoteTally;
  /** The payload this node echoed and the one with ready support, if different: at most two. */
  readonly payloads: InlineMap<Digest, Uint8Array>;
}

/** What this node promised in an undelivered instance: one ECHO and one READY digest at most. */
export interface OwnCommitments {
  readonly ref: InstanceRef;
  echo?: Digest;
  ready?: Digest;
}
