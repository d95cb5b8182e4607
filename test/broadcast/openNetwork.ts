/**
 * The harness network as an open devnet runs it: `n` contagion nodes with the 1,000-node parameters, each
 * over its own `ViewOracle`, for the simulations of samples over a changing view.
 */
import { defaultContagionParams } from "../../src/analysis/defaultParams.ts";
import { ContagionBroadcast } from "../../src/broadcast/contagion/contagion.ts";
import type { ContagionOptions } from "../../src/broadcast/contagion/contagionOptions.ts";
import { instanceKey } from "../../src/broadcast/instance/instanceId.ts";
import { CONTAGION_MESSAGE_KINDS, type Digest } from "../../src/broadcast/types.ts";
import type { PeerId } from "../../src/core/peerId.ts";
import { ViewOracle } from "../../src/membership/viewOracle.ts";
import { inspectTestPayload, SIM_PULL_RETRY_MS, SimNetwork, seededRandom } from "./harness.ts";

export const OPEN_DEVNET_PARAMS = defaultContagionParams(1_000);

export function openContagionNetwork(options: {
  readonly n: number;
  readonly seed: number;
  /** A node's view now (read at every draw). */
  readonly viewOf: (id: PeerId) => readonly PeerId[];
  readonly extra?: Partial<ContagionOptions>;
}): SimNetwork {
  return new SimNetwork({
    n: options.n,
    seed: options.seed,
    messageKinds: CONTAGION_MESSAGE_KINDS,
    payloadKind: "gossip",
    protocol: (node, context) =>
      new ContagionBroadcast({
        self: node.id,
        oracle: new ViewOracle({
          view: () => options.viewOf(node.id),
          isMember: () => true,
          random: seededRandom(Math.floor(context.random() * 2 ** 32)),
        }),
        params: OPEN_DEVNET_PARAMS,
        inspect: inspectTestPayload,
        random: context.random,
        pullRetryMs: SIM_PULL_RETRY_MS,
        isSettled: (instance) => node.store.has(instanceKey(instance)),
        ...options.extra,
      }),
  });
}

/** Digest → how many correct nodes delivered it (any instance). */
export function deliveredDigests(net: SimNetwork): Map<Digest, number> {
  const counts = new Map<Digest, number>();
  for (const node of net.correct) {
    for (const digest of new Set([...node.deliveries.values()].flat())) {
      counts.set(digest, (counts.get(digest) ?? 0) + 1);
    }
  }
  return counts;
}
