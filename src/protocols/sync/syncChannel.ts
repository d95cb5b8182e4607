import type { ProtocolSpec } from "../../channels/protocolSpec.ts";
import { type SyncRequest, type SyncResponse, syncRequestCodec, syncResponseCodec } from "./syncMessages.ts";

export const SYNC_PROTOCOL_VERSION = 1;

/**
 * The sync channel (catch-up): request/response between members only. Every node of a permissioned network
 * is a genesis member, so a rebuilding node is one too; an answer costs disk reads and up to 512 KiB, which
 * strangers have no business making a member spend, and only members' digests count as votes anyway.
 * Bounds: 8 requests outstanding per peer each way (a catching-up node pipelines a few ranges per peer),
 * 64 queued / 32 per second per peer (a requester is bounded by its outstanding slots, so this is slack for
 * refills), 10 s to answer (a disk read of 16 bodies).
 */
export const SYNC_CHANNEL: ProtocolSpec<never, SyncRequest, SyncResponse> = {
  id: "sync",
  code: 4,
  version: SYNC_PROTOCOL_VERSION,
  access: "members",
  budget: {
    member: { maxQueuedMessages: 64, maxQueuedBytes: 4 * 1024 * 1024, maxMessagesPerSecond: 200 },
    stranger: { maxQueuedMessages: 1, maxQueuedBytes: 1024, maxMessagesPerSecond: 1 },
  },
  request: {
    request: syncRequestCodec,
    response: syncResponseCodec,
    timeoutMs: 10_000,
    maxOutstandingPerPeer: 8,
  },
};
