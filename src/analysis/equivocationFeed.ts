/**
 * Lets the simulator's equivocating source (src/sim/simulation.ts, adversary "equivocate") reach contagion
 * nodes, from outside the simulator: a wrapper around the protocol factory, nothing else changes.
 *
 * Why it is needed: the simulator hands m and m′ to correct nodes as Bracha SENDs, which a contagion node
 * drops as the other mode's introduction (docs/broadcast.md, "Wire"), so without this no correct node ever
 * holds a payload of an equivocated instance and the attack never starts. And the paper's optimal adversary
 * against consistency (thesis §4.4.3) also schedules the network: it holds back every gossip relay between
 * correct nodes, or m would reach everyone by gossip within a few hops and there would be nothing to split —
 * test/broadcast/contagion.simulation.test.ts's "optimal" scenario does the same.
 *
 * So, for contagion only: a SEND a correct node receives (only the adversary sends one) becomes the gossip
 * message it stands for, and from then on the correct nodes' gossip relays of that instance are held back
 * for the rest of the run (delaying them past the end of the run is a legal asynchronous schedule). Every
 * correct node is still fed m or m′ by the adversary and pulls any other payload it needs, so only the
 * gossip layer is affected, and only for the equivocated instances.
 *
 * Drop this once the simulator feeds contagion nodes gossip and holds relays back itself.
 */

import { instanceKey } from "../broadcast/instanceId.ts";
import type { BroadcastAction, BroadcastEvent, BroadcastProtocol } from "../broadcast/types.ts";
import type { NodeContext, ProtocolFactory } from "../sim/simulation.ts";

export function withEquivocationFeed(factory: ProtocolFactory): ProtocolFactory {
  if (factory.name !== "contagion") return factory;
  // Instances some correct node was fed by the adversary: shared by the whole simulated network.
  const attacked = new Set<string>();
  const create = (context: NodeContext): BroadcastProtocol => {
    const inner = factory.create(context);
    const heldBack = (action: BroadcastAction): boolean => {
      if (action.type !== "send" || action.message.kind !== "gossip") return false;
      const info = context.inspect(action.message.payload);
      return info !== null && attacked.has(instanceKey(info.instance));
    };
    const handle = (event: BroadcastEvent): BroadcastAction[] => {
      let translated = event;
      if (event.type === "message" && event.message.kind === "send") {
        const info = context.inspect(event.message.payload);
        if (info !== null) attacked.add(instanceKey(info.instance));
        translated = { ...event, message: { kind: "gossip", payload: event.message.payload } };
      }
      const actions = inner.handle(translated);
      return attacked.size === 0 ? actions : actions.filter((action) => !heldBack(action));
    };
    return {
      mode: inner.mode,
      handle,
      restore: (commitments) => inner.restore(commitments),
      deliveredDigest: (instance) => inner.deliveredDigest(instance),
      counters: () => inner.counters(),
      stats: () => inner.stats(),
    };
  };
  return factory.startEvents === undefined
    ? { name: factory.name, create }
    : { name: factory.name, create, startEvents: (nowMs) => factory.startEvents!(nowMs) };
}
