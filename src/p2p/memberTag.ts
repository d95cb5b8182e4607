import type { Logger } from "pino";
import type { PeerId } from "../core/peerId.ts";
import type { TallyLibp2p } from "./createLibp2p.ts";
import { parsePeerId } from "./transportOptions.ts";

/**
 * Peer-store tag of members, so that libp2p's pruning above `maxConnections` closes their connections last
 * (it drops the peers with the lowest sum of tag values first). Not libp2p's KEEP_ALIVE: that starts libp2p's
 * own reconnect loop, which would dial beside our queues (see createLibp2p.ts). 100 is the highest value
 * libp2p allows.
 */
export const MEMBER_TAG = "tally-member";
const MEMBER_TAG_VALUE = 100;

/** Set or clear the member tag; the peer store is asynchronous, a failure only costs pruning priority. */
export function tagMember(node: TallyLibp2p, peerId: PeerId, member: boolean, log: Logger): void {
  const tags = { [MEMBER_TAG]: member ? { value: MEMBER_TAG_VALUE } : undefined };
  node.peerStore.merge(parsePeerId(peerId), { tags }).catch((err: Error) => {
    log.debug({ peer: peerId, err: err.message }, "could not update member tag");
  });
}
