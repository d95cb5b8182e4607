import type { ProtocolSpec } from "../../channels/protocolSpec.ts";
import {
  type StatusRequest,
  type StatusResponse,
  statusRequestCodec,
  statusResponseCodec,
} from "./statusMessages.ts";
import { STATUS_PROTOCOL_VERSION } from "./statusProtocol.ts";

/**
 * The status channel: request/response, open to anyone (a joining node asks before it is a member). An answer
 * costs O(1) (the summary is kept incrementally) and is at most ~3 KiB, so the bounds are about fairness, not
 * cost: 4 requests outstanding per peer, a small queue per peer, 5 s to answer.
 */
export const STATUS_CHANNEL: ProtocolSpec<never, StatusRequest, StatusResponse> = {
  id: "status",
  code: 2,
  version: STATUS_PROTOCOL_VERSION,
  access: "anyone",
  budget: {
    member: { maxQueuedMessages: 64, maxQueuedBytes: 256 * 1024, maxMessagesPerSecond: 50 },
    stranger: { maxQueuedMessages: 8, maxQueuedBytes: 32 * 1024, maxMessagesPerSecond: 5 },
  },
  request: {
    request: statusRequestCodec,
    response: statusResponseCodec,
    timeoutMs: 5_000,
    maxOutstandingPerPeer: 4,
  },
};
