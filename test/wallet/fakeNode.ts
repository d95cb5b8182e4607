import type { TransferStatus, TransferView } from "../../src/api/nodeApi.ts";
import type { EncodedTransfer } from "../../src/core/transfer.ts";
import { type TransferJson, transferToJson } from "../../src/core/transferJson.ts";
import type { AccountJson, WalletNode } from "../../src/wallet/nodeClient.ts";
import { NodeRequestError } from "../../src/wallet/nodeClient.ts";

/** A node the test scripts: it answers whatever it is told, truthfully or not. */
export class FakeNode implements WalletNode {
  readonly baseUrl = "http://fake-node";
  network: string;
  readonly accounts = new Map<string, AccountJson>();
  readonly transfers = new Map<string, TransferView>();
  readonly submitted: TransferJson[] = [];
  /** What `submit` does; by default accepts with 202. */
  onSubmit: (t: TransferJson) => { id: string; status: TransferStatus } | Promise<never> = () => ({
    id: "accepted",
    status: "pending" as const,
  });

  constructor(network: string) {
    this.network = network;
  }

  /** Records an applied incoming transfer and lists it as the recipient's pending dep. */
  addApplied(encoded: EncodedTransfer, status: TransferStatus = "applied"): void {
    this.transfers.set(encoded.id, { id: encoded.id, status, transfer: transferToJson(encoded.transfer) });
  }

  setAccount(address: string, balance: bigint, nextSeq: number, pendingDeps: string[]): void {
    this.accounts.set(address, { address, balance: balance.toString(), nextSeq, pendingDeps });
  }

  async info() {
    return { network: this.network };
  }
  async account(address: string) {
    return this.accounts.get(address) ?? { address, balance: "0", nextSeq: 1, pendingDeps: [] };
  }
  async transfer(id: string) {
    const view = this.transfers.get(id);
    if (view === undefined) throw new NodeRequestError(404, "NOT_FOUND", `transfer ${id} not found`);
    return view;
  }
  async submit(t: TransferJson) {
    this.submitted.push(t);
    return this.onSubmit(t);
  }
}

export function refuse(status: number, code: string): () => Promise<never> {
  return () => Promise.reject(new NodeRequestError(status, code, `refused with ${code}`));
}
