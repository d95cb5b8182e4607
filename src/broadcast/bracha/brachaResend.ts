import type { PeerId } from "../../core/peerId.ts";
import type { BroadcastMessage } from "../types.ts";
import type { BrachaInstance, OwnCommitments } from "./brachaInstance.ts";

/**
 * Re-sends an undelivered instance's commitments (`Retransmissions` decides when; the transport may have lost
 * them); returns the messages queued, or undefined once the instance has no commitment left.
 *
 * - The payload this node introduced: to members that neither echoed nor readied.
 * - Its ECHO: to members whose READY it has not seen (a ready member needs no more echoes); without one, a
 *   `request` for its READY digest to them instead.
 * - Its READY: to every other member. A member's own READY does not say it holds this one, and only delivery
 *   ends the need; a member that delivered answers a late ECHO with its READY (`LateAnswers`) instead.
 *
 * `inst` is undefined after a restart or a stall eviction: then nobody is known to have progressed.
 */
export function resendCommitments(
  own: OwnCommitments | undefined,
  inst: BrachaInstance | undefined,
  others: readonly PeerId[],
  send: (to: readonly PeerId[], message: BroadcastMessage) => void,
): number | undefined {
  if (own === undefined) return undefined;
  let sent = 0;
  const queue = (to: readonly PeerId[], message: BroadcastMessage) => {
    send(to, message);
    sent += to.length;
  };
  const notReady = inst === undefined ? others : others.filter((peer) => !inst.readies.has(peer));
  const payload = own.echo === undefined ? undefined : inst?.payloads.get(own.echo);
  if (payload !== undefined && inst?.introducedBy === "self") {
    queue(
      notReady.filter((peer) => !inst.echoes.has(peer)),
      { kind: "send", payload },
    );
  }
  if (own.echo !== undefined) queue(notReady, { kind: "echo", instance: own.ref, digest: own.echo });
  else if (own.ready !== undefined) {
    // Ready by amplification, without the payload: nothing to echo, so the nudge a settled member answers
    // (with its READY, and the payload) is a pull request.
    queue(notReady, { kind: "request", instance: own.ref, digest: own.ready });
  }
  if (own.ready !== undefined) queue(others, { kind: "ready", instance: own.ref, digest: own.ready });
  return sent;
}
