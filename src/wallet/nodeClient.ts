import type { NodeInfo, ProposalView, TransferStatus, TransferView } from "../api/nodeApi.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import type { TransferJson } from "../core/transferJson.ts";

export interface AccountJson {
  address: string;
  balance: string;
  nextSeq: number;
  pendingDeps: string[];
  /** A shared account's definition, when the node knows it (it hosts an owner, or resolved a transfer of it). */
  definition?: { owners: string[]; label: string };
}

export interface AccountTransfersJson {
  address: string;
  transfers: (TransferView & { direction: "in" | "out" })[];
  /** The cursor of the next (older) page; absent on the last page. */
  next?: string;
}

/** An error the node answered with: its `{code, message}` body and HTTP status. */
export class NodeRequestError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "NodeRequestError";
    this.status = status;
    this.code = code;
  }
}

/**
 * What the wallet asks of a node. Every answer is the node's word only: the wallet checks what it signs on
 * (network, deps, balance) against what it can verify itself (prepareTransfer.ts, verifyDeps.ts).
 */
export interface WalletNode {
  readonly baseUrl: string;
  info(): Promise<Pick<NodeInfo, "network">>;
  account(address: string): Promise<AccountJson>;
  transfer(id: string): Promise<TransferView>;
  submit(transfer: TransferJson): Promise<{ id: string; status: TransferStatus }>;
}

/** The wallet's typed client of the node's REST API (routes in src/api/server.ts). */
export class NodeClient implements WalletNode {
  readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(baseUrl: string, options: { timeoutMs?: number } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  info(): Promise<NodeInfo> {
    return this.request("GET", "/v1/node");
  }
  account(address: string): Promise<AccountJson> {
    return this.request("GET", `/v1/accounts/${encodeURIComponent(address)}`);
  }
  /** One page, newest first; pass a page's `next` as `before` for the following one. */
  accountTransfers(address: string, limit = 100, before?: string): Promise<AccountTransfersJson> {
    const cursor = before === undefined ? "" : `&before=${encodeURIComponent(before)}`;
    return this.request(
      "GET",
      `/v1/accounts/${encodeURIComponent(address)}/transfers?limit=${limit}${cursor}`,
    );
  }

  /** Every page of an account's history, newest first: at most `maxPages` requests of `pageSize`. */
  async allAccountTransfers(
    address: string,
    pageSize = 1000,
    maxPages = 10_000,
  ): Promise<AccountTransfersJson["transfers"]> {
    const out: AccountTransfersJson["transfers"] = [];
    let before: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const { transfers, next } = await this.accountTransfers(address, pageSize, before);
      out.push(...transfers);
      if (next === undefined) return out;
      before = next;
    }
    throw new TallyError(ErrorCode.LimitExceeded, `history of ${address} is over ${maxPages} pages`, {
      pageSize,
    });
  }
  /** `GET /v1/shared/:address/proposals`: the hosted owner's proposals, newest first. */
  sharedProposals(address: string): Promise<{ proposals: ProposalView[] }> {
    return this.request("GET", `/v1/shared/${encodeURIComponent(address)}/proposals`);
  }
  /** `GET /v1/shared/:address/evidence`, unchecked: the node's word until `checkEquivocation` says otherwise. */
  sharedEvidence(address: string): Promise<{ equivocations?: unknown; proofs?: unknown }> {
    return this.request("GET", `/v1/shared/${encodeURIComponent(address)}/evidence`);
  }
  transfer(id: string): Promise<TransferView> {
    return this.request("GET", `/v1/transfers/${encodeURIComponent(id)}`);
  }
  submit(transfer: TransferJson): Promise<{ id: string; status: TransferStatus }> {
    return this.request("POST", "/v1/transfers", transfer);
  }

  /** Polls until the transfer is applied or rejected; resolves with the final view. */
  async waitForResolution(id: string, timeoutMs: number, pollMs = 20): Promise<TransferView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const view = await this.transfer(id);
        if (view.status === "applied" || view.status === "rejected") return view;
      } catch (e) {
        if (!(e instanceof NodeRequestError && e.status === 404)) throw e;
      }
      if (Date.now() >= deadline) {
        throw new NodeRequestError(408, "TIMEOUT", `transfer ${id} not applied within ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new NodeRequestError(0, "UNREACHABLE", `cannot reach node at ${this.baseUrl}: ${cause}`);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      throw new NodeRequestError(
        response.status,
        "BAD_RESPONSE",
        `node answered ${response.status} with non-JSON`,
      );
    }
    if (!response.ok) {
      const { code, message } = (json ?? {}) as { code?: string; message?: string };
      throw new NodeRequestError(response.status, code ?? "HTTP_ERROR", message ?? `HTTP ${response.status}`);
    }
    return json as T;
  }
}
