import { BrachaBroadcast } from "../broadcast/bracha/bracha.ts";
import { ContagionBroadcast } from "../broadcast/contagion/contagion.ts";
import type { ContagionParams } from "../broadcast/contagion/contagionParams.ts";
import type { PeerId } from "../core/peerId.ts";
import type { RandomSource } from "../core/random.ts";
import { MemberDirectory } from "../sampling/memberDirectory.ts";
import type { SamplingOracle } from "../sampling/samplingOracle.ts";
import type { ProtocolFactory } from "./simulation.ts";

/** Pull retries a little above one round trip of the default 50 ms latency model. */
const SIM_PULL_RETRY_MS = 250;
/**
 * The simulated network loses nothing, so retransmission could only re-send the votes of instances an
 * equivocating source left undecided — traffic the simulator's figures are not about. An hour of simulated time
 * is past the end of every run it is used for (the recorded ones end within 10 s).
 */
const SIM_RETRANSMIT_INITIAL_MS = 3_600_000;

export function brachaFactory(): ProtocolFactory {
  return {
    name: "bracha",
    create: (context) =>
      new BrachaBroadcast({
        ...context,
        pullRetryMs: SIM_PULL_RETRY_MS,
        retransmitInitialMs: SIM_RETRANSMIT_INITIAL_MS,
      }),
  };
}

/**
 * Contagion nodes. Each draws its samples from `oracleFor(self, random)` when given (the sampler simulation:
 * a ViewOracle over the node's Basalt view), else from the member directory.
 */
export function contagionFactory(
  params: ContagionParams,
  oracleFor?: (self: PeerId, random: RandomSource) => SamplingOracle,
): ProtocolFactory {
  // One directory for all simulated nodes: each node's oracle is a view of it, not a copy.
  let directory: MemberDirectory | undefined;
  return {
    name: "contagion",
    create: (context) => {
      if (directory === undefined || directory.members !== context.members) {
        directory = new MemberDirectory(context.members);
      }
      return new ContagionBroadcast({
        self: context.self,
        oracle:
          oracleFor?.(context.self, context.random) ?? directory.oracleFor(context.self, context.random),
        params,
        inspect: context.inspect,
        random: context.random,
        isSettled: context.isSettled,
        pullRetryMs: SIM_PULL_RETRY_MS,
        retransmitInitialMs: SIM_RETRANSMIT_INITIAL_MS,
      });
    },
    startEvents: (nowMs) => [{ type: "start", nowMs }],
  };
}
