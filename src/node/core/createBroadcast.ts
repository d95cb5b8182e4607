import { BrachaBroadcast } from "../../broadcast/bracha/bracha.ts";
import { BYZANTINE_STRATEGIES, ByzantineBroadcast, isByzantineStrategy } from "../../broadcast/byzantine.ts";
import { ContagionBroadcast } from "../../broadcast/contagion/contagion.ts";
import type { BroadcastProtocol, InspectPayload, InstanceRef } from "../../broadcast/types.ts";
import { ErrorCode, TallyError } from "../../core/errors.ts";
import type { PeerId } from "../../core/peerId.ts";
import type { RandomSource } from "../../core/random.ts";
import type { BroadcastConfig } from "../../genesis/genesis.ts";
import type { SamplingOracle } from "../../sampling/samplingOracle.ts";

export interface BroadcastSetup {
  readonly self: PeerId;
  /** The static member list (Bracha, and the testing-only byzantine wrapper); empty on an open network. */
  readonly members: readonly PeerId[];
  /** Where the contagion broadcast draws its samples: the member list, or an open network's sampler. */
  readonly oracle: SamplingOracle;
  readonly config: BroadcastConfig;
  readonly inspect: InspectPayload;
  readonly random: RandomSource;
  /** The ledger already holds the instance's slot: it stays closed whatever peers send. */
  readonly isSettled: (instance: InstanceRef) => boolean;
  /**
   * Contagion: a share of each sample's draws redrawn per interval (0: never). An open network sets it so
   * that members who joined after the samples were drawn enter them; a static member list needs none.
   */
  readonly refreshIntervalMs?: number;
  /** Contagion over an open view: no decision until the view stopped filling for this long (0: at once). */
  readonly viewSettleMs?: number;
  /**
   * Contagion: live instances one peer may open here. By default a share of the oracle's population at
   * start, which on an open network is empty then: the caller sizes it from the view instead.
   */
  readonly maxOpenedPerPeer?: number;
  /** Testing only: wrap the mode in a deliberately misbehaving one. */
  readonly byzantine?: string | undefined;
  /** How long an idle undelivered instance is kept (`INSTANCE_DEFAULTS.stallTimeoutMs` unless a test says). */
  readonly stallTimeoutMs?: number | undefined;
}

/** The genesis's broadcast mode over the node's membership, optionally made byzantine for devnet tests. */
export function createBroadcast(setup: BroadcastSetup): BroadcastProtocol {
  const { self, members, oracle, config, inspect, random, isSettled } = setup;
  const stall = setup.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: setup.stallTimeoutMs };
  const protocol: BroadcastProtocol =
    config.mode === "contagion"
      ? new ContagionBroadcast({
          self,
          oracle,
          params: config.params,
          ...(setup.refreshIntervalMs !== undefined ? { refreshIntervalMs: setup.refreshIntervalMs } : {}),
          ...(setup.viewSettleMs !== undefined ? { viewSettleMs: setup.viewSettleMs } : {}),
          ...(setup.maxOpenedPerPeer !== undefined ? { maxOpenedPerPeer: setup.maxOpenedPerPeer } : {}),
          inspect,
          random,
          isSettled,
          ...stall,
        })
      : new BrachaBroadcast({ self, members, inspect, random, isSettled, ...stall });
  const strategy = setup.byzantine;
  if (strategy === undefined) return protocol;
  if (members.length === 0) {
    throw new TallyError(ErrorCode.InvalidConfig, "byzantine test modes need a static member list");
  }
  if (!isByzantineStrategy(strategy)) {
    throw new TallyError(
      ErrorCode.InvalidField,
      `unknown byzantine strategy "${strategy}" (${BYZANTINE_STRATEGIES.join(", ")})`,
    );
  }
  return new ByzantineBroadcast(protocol, { strategy, self, members, inspect, random });
}
