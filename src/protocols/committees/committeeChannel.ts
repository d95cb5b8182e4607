import type { ProtocolSpec } from "../../channels/protocolSpec.ts";
import { type CommitteeChannelMessage, committeeChannelCodec } from "./committeeChannelMessages.ts";

/** 2: a request's digest binds its requester (src/kshared/requestDigest.ts); version 1 owners never agree with it. */
export const COMMITTEES_PROTOCOL_VERSION = 2;

/**
 * The committees channel: owner-host records and k-shared committee messages, one-way. Open to anyone:
 * an owner's node need not be a broadcast member. A stranger gets a small budget (20 messages/s, 64
 * queued, 256 KiB); a member more (2,000/s, 4,096 queued, 4 MiB): a committee step sends a few messages
 * per owner, and a hosting node re-sends its host records every 10 s.
 */
export const COMMITTEES_CHANNEL: ProtocolSpec<CommitteeChannelMessage, never, never> = {
  id: "committees",
  code: 5,
  version: COMMITTEES_PROTOCOL_VERSION,
  access: "anyone",
  budget: {
    member: { maxQueuedMessages: 4_096, maxQueuedBytes: 4 * 1024 * 1024, maxMessagesPerSecond: 2_000 },
    stranger: { maxQueuedMessages: 64, maxQueuedBytes: 256 * 1024, maxMessagesPerSecond: 20 },
  },
  message: committeeChannelCodec,
};
