import type { PeerId } from "../../core/peerId.ts";
import type { RandomSource } from "../../core/random.ts";
import { coversMembership, FullMembershipOracle } from "../../sampling/fullMembership.ts";
import type { SamplingOracle } from "../../sampling/samplingOracle.ts";
import {
  configError,
  nonNegativeInteger,
  positiveInteger,
  positiveNumber,
} from "../instance/configChecks.ts";
import {
  INSTANCE_DEFAULTS,
  type InstanceOptions,
  resolveInstanceOptions,
} from "../instance/instanceOptions.ts";
import type { InstanceRef } from "../types.ts";
import type { ContagionParams } from "./contagionParams.ts";

export interface ContagionOptions extends InstanceOptions {
  /** This node's peer id. */
  readonly self: PeerId;
  /** Ω: draws the samples and says who is a member (static membership today, a Brahms sampler later). */
  readonly oracle: SamplingOracle;
  /** G, E, Ê, R, R̂, D, D̂: the genesis's `broadcast.params`, or `defaultContagionParams(N)`. */
  readonly params: ContagionParams;
  /** Poisson draw of the gossip sample size, pull targets, scheduled refresh picks. The oracle has its own. */
  readonly random: RandomSource;
  /** Live instances one sampled peer may open by voting before any payload exists; default: a 1/(N−1) share. */
  readonly maxOpenedPerPeer?: number;
  /** How long a sampled peer may stay down before it is replaced by a fresh draw (never: full membership). */
  readonly peerDownGraceMs?: number;
  /** Down peers are replaced in the samples only while they weigh at most this share of each (0–1). */
  readonly maxDownShareReplaced?: number;
  /**
   * Redraw 1/16 of each sample's draws and one gossip link every this many ms; 0 = never (always 0 with full
   * membership).
   */
  readonly refreshIntervalMs?: number;
  /** An open view's node decides only once its view stopped filling for this long; 0 = at once. */
  readonly viewSettleMs?: number;
  /** Digests of one instance a sampled peer's READYs may count for. */
  readonly maxReadyDigestsPerPeer?: number;
  /** Instances replayed to one new subscriber per layer (its current ECHO/READY/payload state). */
  readonly maxReplayedInstances?: number;
  /** Replays (one per subscribe message) one peer can trigger: a burst, refilled at this rate. */
  readonly replayBurst?: number;
  readonly replaysPerPeerPerSecond?: number;
  /** A member sending what this node does not sample it for is told once per layer, then once per this. */
  readonly staleNoticeIntervalMs?: number;
}

export const CONTAGION_DEFAULTS = {
  ...INSTANCE_DEFAULTS,
  /**
   * Longer than a node restart or a reconnect (a few seconds), so a flapping link does not churn the
   * samples: every replacement of a correct peer is a chance for an adversary that can cut links to win a
   * slot, since Byzantine peers never go down on purpose.
   */
  peerDownGraceMs: 30_000,
  /**
   * A node that lost more than an eighth of a sample at once may be on one side of a partition: replacing
   * those draws would move its samples onto its own side, until a minority met its thresholds alone. Its
   * gossip links are still replaced. Below it, down peers are crashes the samples can shed.
   */
  maxDownShareReplaced: 1 / 8,
  /**
   * Off: with static membership the samples are uniform and secret from the start, and a refresh only costs
   * (subscriptions, replays, in-flight votes of the replaced peer). The Brahms sampler will turn it on, once
   * views evolve and old samples may have been learned by the adversary.
   */
  refreshIntervalMs: 0,
  /**
   * Off here: a static member list is complete from the start. A node over an open network's view sets it
   * (the node: two sampler rounds), since a view that is still filling samples part of the network.
   */
  viewSettleMs: 0,
  /**
   * A correct peer is ready for a second digest of an instance only if an equivocating introducer got one to
   * spread by contagion, which needs ≥ R̂ ready weight beside m*; three leaves room for that and bounds a
   * Byzantine peer to three digests' worth of memory per instance.
   */
  maxReadyDigestsPerPeer: 3,
  /** Live instances are seconds of traffic; a subscriber needs the ones still in flight. */
  maxReplayedInstances: 1_024,
  /** A restart re-subscribes to all three layers: two restarts' worth, then one replay per 10 s. */
  replayBurst: 6,
  replaysPerPeerPerSecond: 0.1,
  /** One notice per layer does it for a correct sender; again after 10 min only if the notice was lost. */
  staleNoticeIntervalMs: 600_000,
} as const;

/** A grace period no peer outlives: full-membership samples are never replaced. */
const NEVER_REPLACED = Number.MAX_SAFE_INTEGER;

export type ResolvedContagionOptions = Required<Omit<ContagionOptions, "isSettled">> & {
  readonly isSettled: (instance: InstanceRef) => boolean;
};

export function resolveContagionOptions(options: ContagionOptions): ResolvedContagionOptions {
  if (typeof options.self !== "string" || options.self.length === 0) throw configError("self: a peer id");
  if (!options.oracle.isMember(options.self)) throw configError("self: must be a member");
  const params = validateParams(options.params);
  const pick = <K extends keyof typeof CONTAGION_DEFAULTS>(key: K): number =>
    options[key] ?? CONTAGION_DEFAULTS[key];
  // Full-membership params (E = R = D = every other member): each member sampled once, never replaced —
  // there is nobody else to draw, and a second copy of a member would weigh its vote twice.
  const full = coversMembership(params, options.oracle.size);
  const resolved: ResolvedContagionOptions = {
    self: options.self,
    oracle: full ? new FullMembershipOracle(options.oracle) : options.oracle,
    params,
    inspect: options.inspect,
    random: options.random,
    // Only the oracle's peers (self excluded) open instances by voting; a share stays defined when alone.
    ...resolveInstanceOptions(options, Math.max(1, options.oracle.size), positiveNumber),
    peerDownGraceMs: full ? NEVER_REPLACED : nonNegativeInteger("peerDownGraceMs", pick("peerDownGraceMs")),
    maxDownShareReplaced: shareOf("maxDownShareReplaced", pick("maxDownShareReplaced")),
    refreshIntervalMs: full ? 0 : nonNegativeInteger("refreshIntervalMs", pick("refreshIntervalMs")),
    viewSettleMs: nonNegativeInteger("viewSettleMs", pick("viewSettleMs")),
    maxReadyDigestsPerPeer: positiveInteger("maxReadyDigestsPerPeer", pick("maxReadyDigestsPerPeer")),
    maxReplayedInstances: nonNegativeInteger("maxReplayedInstances", pick("maxReplayedInstances")),
    replayBurst: positiveInteger("replayBurst", pick("replayBurst")),
    replaysPerPeerPerSecond: positiveNumber("replaysPerPeerPerSecond", pick("replaysPerPeerPerSecond")),
    staleNoticeIntervalMs: positiveInteger("staleNoticeIntervalMs", pick("staleNoticeIntervalMs")),
  };
  return resolved;
}

function shareOf(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0 || value > 1) throw configError(`${name}: a share from 0 to 1`);
  return value;
}

/** The genesis parser checks the same rules; options may also come from tests and the simulator. */
function validateParams(params: ContagionParams): ContagionParams {
  const { G, E, Ehat, R, Rhat, D, Dhat } = params;
  for (const [name, value] of Object.entries({ G, E, Ehat, R, Rhat, D, Dhat })) {
    positiveInteger(`params.${name}`, value);
  }
  if (Ehat > E || Rhat > R || Dhat > D) throw configError("params: a threshold above its sample size");
  return { G, E, Ehat, R, Rhat, D, Dhat };
}
