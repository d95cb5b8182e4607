import type { PeerId } from "../../core/peerId.ts";
import type { PeerKeeper } from "../peerKeeper.ts";

/** One co-owner's current host, as the committee driver's table holds it. */
export interface CoOwnerHost {
  readonly account: string;
  readonly owner: number;
  readonly peer: PeerId;
}

export interface CoOwnerLinksOptions {
  readonly self: PeerId;
  readonly keeper: PeerKeeper;
  /** A peer's dial addresses, from its node record (none: not dialled until its record arrives). */
  readonly addressesOf: (peer: PeerId) => readonly string[];
}

/**
 * Keeps this node connected to the hosts of its hosted accounts' co-owners, whether or not the sampler's view
 * holds them: committee messages go straight to a host, and a host learnt from the hosts topic is usually not
 * in the view of a large network. One keeper reason per (account, owner), released when that owner's host
 * changes or its record expires; so at most hosted accounts × (k − 1) peers are kept (≤ 32 × 31).
 */
export class CoOwnerLinks {
  private readonly options: CoOwnerLinksOptions;
  /** Reason → the peer kept for it. */
  private readonly linked = new Map<string, PeerId>();
  private dialled = 0;

  constructor(options: CoOwnerLinksOptions) {
    this.options = options;
  }

  /** Connections this node opened for co-owners' hosts so far (for `/metrics`). */
  get links(): number {
    return this.dialled;
  }

  /** Brings the kept peers in line with `hosts` (every co-owner host currently known and unexpired). */
  sync(hosts: readonly CoOwnerHost[]): void {
    const { keeper, self, addressesOf } = this.options;
    const wanted = new Map<string, PeerId>();
    for (const { account, owner, peer } of hosts) {
      if (peer !== self) wanted.set(`co-owner:${account}:${owner}`, peer);
    }
    for (const [reason, peer] of this.linked) {
      if (wanted.get(reason) === peer) continue;
      keeper.release(peer, reason);
      this.linked.delete(reason);
    }
    for (const [reason, peer] of wanted) {
      if (this.linked.has(reason)) continue;
      const addr = addressesOf(peer)[0];
      if (addr === undefined) continue;
      if (!keeper.isKept(peer)) this.dialled++;
      keeper.keep(peer, addr, reason);
      this.linked.set(reason, peer);
    }
  }
}
