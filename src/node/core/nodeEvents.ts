import type { BroadcastWireMessage } from "../../broadcast/messageCodec.ts";
import type { BroadcastMessage } from "../../broadcast/types.ts";
import type { PeerId } from "../../core/peerId.ts";
import type { EncodedTransfer } from "../../core/transfer.ts";
import type { TransferStatusChange } from "../../ledger/ledger.ts";
import type { RejectionReason } from "../../ledger/store.ts";
import type { StatusRequest, StatusResponse } from "../../protocols/status/statusMessages.ts";
import type { WatermarkSnapshot } from "../../protocols/status/watermarkSummary.ts";
import type { SyncRequest, SyncResponse } from "../../protocols/sync/syncMessages.ts";
import type { BatchOp } from "../../storage/database.ts";

/** What the node core is told. `nowMs` comes from the shell's clock (or a test's). */
export type NodeEvent =
  /** A client submitted a transfer over the API; answered by a `submitted` action with the same ticket. */
  | {
      readonly type: "submit";
      readonly encoded: EncodedTransfer;
      readonly ticket: number;
      readonly nowMs: number;
    }
  /** At start: a transfer this node had accepted before a restart and not seen delivered. */
  | { readonly type: "reintroduce"; readonly encoded: EncodedTransfer; readonly nowMs: number }
  /** A broadcast message a peer sent, already admitted and decoded by the channel layer. */
  | {
      readonly type: "peerMessage";
      readonly from: PeerId;
      readonly message: BroadcastWireMessage;
      readonly nowMs: number;
    }
  /** A peer asks for this node's status (the status protocol); answered by a `respond` action. */
  | {
      readonly type: "statusRequest";
      readonly from: PeerId;
      readonly requestId: number;
      readonly request: StatusRequest;
      readonly nowMs: number;
    }
  /** A compatible peer's status answer: its watermark summary, for catch-up. */
  | {
      readonly type: "peerStatus";
      readonly from: PeerId;
      readonly snapshot: WatermarkSnapshot;
      readonly nowMs: number;
    }
  /** The answer to catch-up's request `ask` (a `syncAsk` action). */
  | {
      readonly type: "syncAnswer";
      readonly ask: number;
      readonly from: PeerId;
      readonly response: SyncResponse;
      readonly nowMs: number;
    }
  /** Catch-up's request `ask` timed out, was refused or could not be sent. */
  | { readonly type: "syncFailed"; readonly ask: number; readonly from: PeerId; readonly nowMs: number }
  | { readonly type: "start" | "tick"; readonly nowMs: number }
  | { readonly type: "peerUp" | "peerDown"; readonly peer: PeerId; readonly nowMs: number }
  /** The answer to a `readBody` action: the stored transfer, if the store had it. */
  | {
      readonly type: "storedBody";
      readonly to: PeerId;
      readonly digest: string;
      readonly encoded: EncodedTransfer | undefined;
    };

/** The answer to one submission. */
export type SubmitResult =
  | {
      readonly ok: true;
      readonly id: string;
      readonly status: "pending" | "delivered" | "applied" | "rejected";
    }
  | { readonly ok: false; readonly error: RejectionReason };

/**
 * What the shell must do. Contract: every `write` of a processing step is made durable (one fsynced batch)
 * before any `send`, `announce` or `submitted` of that step is carried out, so nothing a peer or a client was
 * told can be lost by a crash. `readBody` is an asynchronous lookup whose answer comes back as `storedBody`.
 */
/** A submission of this node's API that no correct node will echo, so it is never delivered. */
export interface SubmissionRefusal {
  readonly id: string;
  readonly source: string;
  readonly seq: number;
  readonly reason: RejectionReason;
}

export type NodeAction =
  | { readonly type: "write"; readonly ops: readonly BatchOp[] }
  | { readonly type: "send"; readonly to: readonly PeerId[]; readonly message: BroadcastMessage }
  | { readonly type: "readBody"; readonly to: PeerId; readonly digest: string }
  /** The answer to a peer's request, sent back over its protocol channel. */
  | {
      readonly type: "respondStatus";
      readonly to: PeerId;
      readonly requestId: number;
      readonly response: StatusResponse;
    }
  | { readonly type: "announce"; readonly change: TransferStatusChange }
  /** Catch-up: ask a peer for its status again. */
  | { readonly type: "askStatus"; readonly to: PeerId }
  /** Catch-up: a sync request; its answer comes back as `syncAnswer` (or `syncFailed`) with the same `ask`. */
  | { readonly type: "syncAsk"; readonly ask: number; readonly to: PeerId; readonly request: SyncRequest }
  /**
   * A peer misbehaved, for its score: its answers contradicted what a quorum of its peers reported (catch-up;
   * no `event`), or it sent a payload whose signature fails (`forgedPayload`).
   */
  | {
      readonly type: "penalize";
      readonly peer: PeerId;
      readonly why: string;
      readonly event?: "forgedPayload";
    }
  | { readonly type: "submitted"; readonly ticket: number; readonly result: SubmitResult }
  /** A submission of this node's API that can never be delivered: rejected for its client (no ledger verdict). */
  | { readonly type: "refused"; readonly refusal: SubmissionRefusal };
