import type { PeerId } from "../../core/peerId.ts";
import {
  hostRecordSigningBytes,
  type OwnerHostRecord,
} from "../../protocols/committees/committeeChannelMessages.ts";
import type { HostedAccount } from "./sharedHosting.ts";

/** Host records are re-sent every 10 s and live 60 s; a record further in the future is refused. */
export const HOST_RECORD_REFRESH_MS = 10_000;
export const HOST_RECORD_TTL_MS = 60_000;

/**
 * This node's host records (one per hosted account, signed by that account's owner key), signed once per
 * refresh period rather than once per peer or announcement: every peer gets the same ones, with at least
 * TTL − refresh (50 s) left.
 */
export class OwnHostRecords {
  private readonly hosted: readonly HostedAccount[];
  private readonly host: PeerId;
  private signed: { readonly atMs: number; readonly records: OwnerHostRecord[] } | undefined;

  constructor(hosted: readonly HostedAccount[], host: PeerId) {
    this.hosted = hosted;
    this.host = host;
  }

  at(nowMs: number): OwnerHostRecord[] {
    const cached = this.signed;
    if (cached !== undefined && nowMs >= cached.atMs && nowMs - cached.atMs < HOST_RECORD_REFRESH_MS)
      return cached.records;
    const records = this.hosted.map((account) => {
      const unsigned = {
        account: account.id,
        owner: account.signer.publicKey,
        host: this.host,
        expiresAtMs: nowMs + HOST_RECORD_TTL_MS,
      };
      return { ...unsigned, signature: account.signer.sign(hostRecordSigningBytes(unsigned)) };
    });
    this.signed = { atMs: nowMs, records };
    return records;
  }
}
