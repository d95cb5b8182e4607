import type { EventEmitter } from "node:events";
import type { Registry } from "prom-client";
import type { EncodedTransfer } from "../core/transfer.ts";
import type { TransferJson } from "../core/transferJson.ts";
import type { EquivocationJson } from "../kshared/evidenceJson.ts";
import type { RejectionReason } from "../ledger/store.ts";
import type { ProposalView } from "../node/shared/proposalBook.ts";

/** A proposal as `GET /v1/shared/:address/proposals` lists it. */
export type { ProposalView };

/** `pending`: accepted by this node and being broadcast; the rest are the ledger's statuses. */
export type TransferStatus = "pending" | "delivered" | "applied" | "rejected";

export interface TransferView {
  readonly id: string;
  readonly status: TransferStatus;
  readonly reason?: RejectionReason | undefined;
  readonly transfer: TransferJson;
}

export interface AccountTransferView extends TransferView {
  readonly direction: "in" | "out";
}

export interface AccountTransfersPage {
  readonly transfers: AccountTransferView[];
  readonly next?: number | undefined;
}

export interface NodeInfo {
  readonly peerId: string;
  readonly version: string;
  readonly network: string;
  readonly genesis: string;
  readonly broadcast: {
    readonly mode: "bracha" | "contagion";
    readonly params: Readonly<Record<string, number>>;
  };
  readonly peers: { readonly connected: number; readonly members: number };
  /** The protocols spoken over peer connections (protocol channels), with their versions. */
  readonly protocols: readonly { readonly id: string; readonly version: number }[];
  /** Set only on devnet nodes told to misbehave (testing). */
  readonly byzantine?: string;
  /** Catch-up (docs/catch-up.md): whether this node holds what its peers resolved. */
  readonly sync?: {
    readonly state: "synced" | "syncing";
    readonly behind: number;
    readonly fetched: number;
  };
}

/**
 * `ready` (200); otherwise 503: `starting`/`stopping`, `isolated` (too few members connected for the
 * broadcast's thresholds), `shedding` (dropping members' messages beyond what a few faulty members explain),
 * `behind` (catching up: more than FAR_BEHIND_TRANSFERS resolved transfers behind its peers).
 */
export interface NodeHealth {
  readonly status: "ready" | "starting" | "isolated" | "shedding" | "behind";
  readonly reason?: string;
}

export interface TransferEvent {
  readonly id: string;
  readonly source: string;
  readonly seq: number;
  readonly status: TransferStatus;
  readonly reason?: RejectionReason | undefined;
}

/** `GET /v1/node/peers`. */
export interface NodePeers {
  readonly membership: "static" | "open";
  readonly members: readonly { peerId: string; addrs: string[]; since: string }[];
  readonly connected: readonly string[];
  readonly samples: {
    readonly gossip: readonly string[];
    readonly echo: readonly string[];
    readonly ready: readonly string[];
    readonly delivery: readonly string[];
  };
}

/** What the REST API needs from a node; the node implements it, the API never reaches past it. */
export interface NodeApi {
  /** Prechecks and starts broadcasting; throws TallyError for transfers the ledger would refuse. */
  submit(encoded: EncodedTransfer): Promise<{ id: string; status: TransferStatus }>;
  transfer(id: string): Promise<TransferView | undefined>;
  /** `definition`: a shared account's, once a certified transfer of it resolved here. */
  account(address: string): Promise<{
    address: string;
    balance: bigint;
    nextSeq: number;
    pendingDeps: string[];
    definition?: { owners: string[]; label: string };
  }>;
  /**
   * Newest first, at most `limit`, strictly older than history position `before` when given; `next` is the
   * position to pass as `before` for the following page, absent on the last one.
   */
  accountTransfers(address: string, limit: number, before?: number): Promise<AccountTransfersPage>;
  info(): NodeInfo;
  peers(): NodePeers;
  /** `ready`, or why not: the API answers 503 with the reason. */
  health(): NodeHealth;
  /** Emits "transfer" with a TransferEvent on every status change. */
  readonly events: EventEmitter;
  readonly metrics: Registry;
  /** The committees of shared accounts this node hosts an owner of; absent when it hosts none. */
  readonly shared?: SharedAccountsApi | undefined;
}

/** `POST /v1/shared/:address/proposals`: a payment and its owner's signed intent (docs/kshared.md). */
export interface SignedProposal {
  readonly to: string;
  readonly amount: bigint;
  readonly memo?: string | undefined;
  readonly issuedAtMs: number;
  /** 128 lowercase hex: ed25519 over src/kshared/proposalIntent.ts's signing bytes. */
  readonly signature: string;
}

/** `/v1/shared/…` and the definition in `GET /v1/accounts/:address`. */
export interface SharedAccountsApi {
  /** The proposal id, or undefined if no owner of `address` is hosted here. */
  propose(address: string, request: SignedProposal): Promise<string | undefined>;
  proposals(address: string): ProposalView[] | undefined;
  /** The equivocation proofs this node's committee holds against co-owners; undefined if not hosted. */
  evidence(address: string): SharedEvidence | undefined;
  definitionOf(address: string): { owners: string[]; label: string } | undefined;
}

/** `GET /v1/shared/:address/evidence`. */
export interface SharedEvidence {
  /** Equivocations counted since the node started (the proofs kept stop at their bound; this does not). */
  readonly equivocations: number;
  /** The first proofs, oldest first (≤ 256 per account). */
  readonly proofs: readonly EquivocationJson[];
}
