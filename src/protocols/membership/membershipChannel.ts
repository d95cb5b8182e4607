import type { ProtocolSpec } from "../../channels/protocolSpec.ts";
import { type RecordList, recordListCodec } from "./membershipMessages.ts";

export const MEMBERSHIP_PROTOCOL_VERSION = 1;

/**
 * The membership channel: one request/response per sampler round (push our records, pull the peer's). Open to
 * anyone — a joining node has no record anywhere yet, and pushing its own is how it gets one. An exchange is
 * at most 64 records of ≤ 2 KiB; a correct node asks each peer about once per round (seconds), so the
 * stranger budget (1 request/s, 2 queued) is slack, and a member's (5/s) covers a node that picked us for
 * several slots. One outstanding request per peer each way; 5 s to answer.
 */
export const MEMBERSHIP_CHANNEL: ProtocolSpec<never, RecordList, RecordList> = {
  id: "membership",
  code: 3,
  version: MEMBERSHIP_PROTOCOL_VERSION,
  access: "anyone",
  budget: {
    member: { maxQueuedMessages: 8, maxQueuedBytes: 1024 * 1024, maxMessagesPerSecond: 5 },
    stranger: { maxQueuedMessages: 2, maxQueuedBytes: 280 * 1024, maxMessagesPerSecond: 1 },
  },
  request: {
    request: recordListCodec,
    response: recordListCodec,
    timeoutMs: 5_000,
    maxOutstandingPerPeer: 1,
  },
};
