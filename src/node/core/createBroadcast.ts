import { BrachaBroadcast } from "../../broadcast/bracha/bracha.ts";
import { BYZANTINE_STRATEGIES, ByzantineBroadcast, isByzantineStrategy } from "../../broadcast/byzantine.ts";
import { ContagionBroadcast } from "../../broadcast/contagion/contagion.ts";
import type { BroadcastProtocol, InspectPayload, InstanceRef } from "../../broadcast/types.ts";
import { ErrorCode, TallyError } from "../../core/errors.ts";
import type { PeerId } from "../../core/peerId.ts";
import type { RandomSource } from "../../core/random.ts";
import type { BroadcastConfig } from "../../genesis/genesis.ts";
import { StaticMembership } from "../../sampling/staticMembership.ts";

export interface BroadcastSetup {
  readonly self: PeerId;
  readonly members: readonly PeerId[];
  readonly config: BroadcastConfig;
  readonly inspect: InspectPayload;
  readonly random: RandomSource;
  /** The ledger already holds the instance's slot: it stays closed whatever peers send. */
  readonly isSettled: (instance: InstanceRef) => boolean;
  /** Testing only: wrap the mode in a deliberately misbehaving one. */
  readonly byzantine?: string | undefined;
}

/** The genesis's broadcast mode over static membership, optionally made byzantine for devnet tests. */
export function createBroadcast(setup: BroadcastSetup): BroadcastProtocol {
  const { self, members, config, inspect, random, isSettled } = setup;
  const protocol: BroadcastProtocol =
    config.mode === "contagion"
      ? new ContagionBroadcast({
          self,
          oracle: new StaticMembership({ self, members, random }),
          params: config.params,
          inspect,
          random,
          isSettled,
        })
      : new BrachaBroadcast({ self, members, inspect, random, isSettled });
  const strategy = setup.byzantine;
  if (strategy === undefined) return protocol;
  if (!isByzantineStrategy(strategy)) {
    throw new TallyError(
      ErrorCode.InvalidField,
      `unknown byzantine strategy "${strategy}" (${BYZANTINE_STRATEGIES.join(", ")})`,
    );
  }
  return new ByzantineBroadcast(protocol, { strategy, self, members, inspect, random });
}
