import type { PeerId } from "../../core/peerId.ts";
import type { LiveInstances } from "../instance/liveInstances.ts";
import type { OwnCommitmentIndex } from "../instance/ownCommitments.ts";
import type { BroadcastAction, BroadcastMessage } from "../types.ts";
import { type ContagionCounters, countedSend } from "./contagionCounters.ts";
import type { ContagionInstance, OwnCommitments } from "./contagionInstance.ts";
import type { SampledLayers } from "./contagionLayers.ts";
import type { Subscriptions } from "./contagionSubscriptions.ts";

export interface ContagionResendContext {
  readonly layers: SampledLayers;
  readonly subscriptions: Subscriptions;
  readonly live: LiveInstances<ContagionInstance>;
  readonly committed: OwnCommitmentIndex<OwnCommitments>;
  readonly count: ContagionCounters;
}

/**
 * Re-sends an undelivered instance's commitments (`Retransmissions` decides when); returns the messages
 * queued, or undefined once the instance has no commitment left. "Shown progress" is a READY this node
 * counted, so it is known only for peers in its own ready and delivery samples.
 *
 * - The payload, if a wallet submitted it here: to gossip neighbours not known to be ready.
 * - Its ECHO: to echo subscribers not known to be ready, and to its own sampled peers not known to be ready.
 *   Those it does not serve drop it — unless they settled the instance long ago: then they answer with their
 *   READY (`LateAnswers`), which is how a node that fell behind hears again from peers that stopped sending.
 * - Its READYs: to every ready subscriber; none of them says whether it holds this node's READY.
 */
export function resendCommitments(
  context: ContagionResendContext,
  key: string,
  out: BroadcastAction[],
): number | undefined {
  const { layers, subscriptions, live, committed, count } = context;
  const own = committed.get(key);
  if (own === undefined) return undefined;
  if (!layers.started) return 0;
  const inst = live.get(key);
  const notReady = (peers: Iterable<PeerId>) =>
    inst === undefined ? [...peers] : [...peers].filter((peer) => !inst.readies.has(peer));
  let sent = 0;
  const queue = (to: readonly PeerId[], message: BroadcastMessage) => {
    countedSend(count, out, to, message);
    sent += to.length;
  };
  if (inst?.introducedBy === "self" && inst.first !== undefined) {
    const payload = inst.payloads.get(inst.first);
    if (payload !== undefined) queue(notReady(layers.gossip.neighbours()), { kind: "gossip", payload });
  }
  if (own.echo !== undefined) {
    const sampled = [...layers.samples.echoPeers(), ...layers.samples.readyPeers()];
    const to = notReady(new Set([...subscriptions.echo.list(), ...sampled]));
    queue(to, { kind: "echo", instance: own.ref, digest: own.echo });
  }
  const readySubscribers = subscriptions.ready.list();
  for (const digest of own.ready) queue(readySubscribers, { kind: "ready", instance: own.ref, digest });
  if (sent > 0) count.retransmissions++;
  return sent;
}
