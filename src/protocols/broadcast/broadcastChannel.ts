import { decodeBroadcastMessage, encodeBroadcastMessage } from "../../broadcast/messageCodec.ts";
import type { BroadcastMessage } from "../../broadcast/types.ts";
import { MEMBER_BROADCAST_BUDGET, type ProtocolSpec, STRANGER_BUDGET } from "../../channels/protocolSpec.ts";

/**
 * The secure broadcast's channel: one-way messages (gossip, echo, ready, payload pulls, subscriptions), members
 * only — a stranger's vote is never counted, so its traffic is refused before it costs anything but a header
 * check. The stranger budget is unused (access refuses first) but must be valid.
 */
export const BROADCAST_CHANNEL: ProtocolSpec<BroadcastMessage> = {
  id: "broadcast",
  code: 1,
  version: 1,
  access: "members",
  budget: { member: MEMBER_BROADCAST_BUDGET, stranger: STRANGER_BUDGET },
  message: { encode: encodeBroadcastMessage, decode: decodeBroadcastMessage },
};
