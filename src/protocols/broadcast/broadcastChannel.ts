import {
  type BroadcastWireMessage,
  broadcastMessageUnits,
  decodeBroadcastMessage,
  encodeBroadcastMessage,
} from "../../broadcast/messageCodec.ts";
import { MEMBER_BROADCAST_BUDGET, type ProtocolSpec, STRANGER_BUDGET } from "../../channels/protocolSpec.ts";

/**
 * The secure broadcast's channel: one-way messages (gossip, echo, ready, payload pulls, subscriptions, vote
 * batches), members only — a stranger's vote is never counted, so its traffic is refused before it costs
 * anything but a header check. The stranger budget is unused (access refuses first) but must be valid.
 * Version 2 added vote batches, version 3 payload batches: an older node would refuse them as malformed and
 * score the sender, so a node refuses a peer speaking another version (the channel layer's version check).
 */
export const BROADCAST_CHANNEL: ProtocolSpec<BroadcastWireMessage> = {
  id: "broadcast",
  code: 1,
  version: 3,
  access: "members",
  budget: { member: MEMBER_BROADCAST_BUDGET, stranger: STRANGER_BUDGET },
  message: { encode: encodeBroadcastMessage, decode: decodeBroadcastMessage, units: broadcastMessageUnits },
};
