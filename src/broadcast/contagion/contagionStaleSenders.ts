import type { PeerId } from "../../core/peerId.ts";
import { PeerBudget } from "../instance/peerBudget.ts";
import type { BroadcastAction, SubscriptionLayer } from "../types.ts";
import { type ContagionCounters, countedSend } from "./contagionCounters.ts";

export interface StaleSendersOptions {
  /** Each member is told about each layer once, then at most once per this many ms. */
  readonly staleNoticeIntervalMs: number;
}

/**
 * Tells a member that sends this node a layer's messages it does not want (a vote from a peer outside the
 * vote's sample, a relay from a peer that is no gossip neighbour) to stop: `unsubscribe` for that layer.
 *
 * Such a sender usually holds a subscription this node no longer has. A restarted node draws new samples and
 * forgets whom it had subscribed to, so its old sampled peers kept sending it every broadcast's votes and
 * relays, each dropped on arrival, for as long as both ran; each restart in a large network added to that.
 * The first unwanted message now ends it.
 *
 * Safe whatever the sender meant: an unsubscribe only takes this node out of the sender's subscriber set for
 * that layer (for gossip, out of its reciprocal links, never its own draws), and this node sends one only
 * for a layer in which its own samples give the sender no weight, so it withdraws nothing it relies on. A
 * message that was not a subscription's (a peer that fell behind nudging the peers it samples, a Byzantine
 * member's flood) makes the notice a no-op at the sender. A later draw of the same peer subscribes again,
 * after the notice.
 *
 * One notice per member and layer does the job for a correct sender; the interval only covers a notice lost
 * with a dropped connection. So a member that keeps sending anyway costs this node at most three notices per
 * interval, and its messages are dropped as before.
 */
export class StaleSenders {
  private readonly budgets: Readonly<Record<SubscriptionLayer, PeerBudget>>;
  private readonly count: ContagionCounters;

  constructor(options: StaleSendersOptions, count: ContagionCounters) {
    const budget = () => new PeerBudget({ perSecond: 1_000 / options.staleNoticeIntervalMs, burst: 1 });
    this.budgets = { gossip: budget(), echo: budget(), ready: budget() };
    this.count = count;
  }

  /** `from` must be a member (checked by the caller): only members get a budget, so each map is bounded. */
  tell(from: PeerId, layer: SubscriptionLayer, nowMs: number, out: BroadcastAction[]): void {
    if (!this.budgets[layer].take(from, nowMs)) return;
    this.count.staleSendersTold++;
    countedSend(this.count, out, [from], { kind: "unsubscribe", layer });
  }
}
