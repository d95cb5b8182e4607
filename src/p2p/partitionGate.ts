import { ErrorCode, TallyError } from "../core/errors.ts";
import type { PeerId } from "../core/peerId.ts";

/** At most this many peers blocked at once: the set is replaced whole, so it never grows past one request. */
export const MAX_BLOCKED_PEERS = 1_000;

/**
 * Testing only (`tally node start --testing-faults`): the peers this node pretends it cannot reach, so a test
 * can cut the network in two without root or network namespaces. The connection gater refuses dials to them
 * and their inbound connections; the transport closes what is open when they are blocked. Empty by default,
 * and nothing but the testing route ever fills it.
 */
export class PartitionGate {
  private blocked: ReadonlySet<PeerId> = new Set();

  /** Replaces the blocked set; returns who is newly blocked (to disconnect) and who is healed (to redial). */
  set(peers: readonly PeerId[]): { readonly added: PeerId[]; readonly healed: PeerId[] } {
    if (peers.length > MAX_BLOCKED_PEERS) {
      throw new TallyError(ErrorCode.TestingInvalidPartition, `at most ${MAX_BLOCKED_PEERS} blocked peers`);
    }
    const next = new Set(peers);
    const added = peers.filter((p) => !this.blocked.has(p));
    const healed = [...this.blocked].filter((p) => !next.has(p));
    this.blocked = next;
    return { added, healed };
  }

  isBlocked(peer: PeerId): boolean {
    return this.blocked.size > 0 && this.blocked.has(peer);
  }

  list(): PeerId[] {
    return [...this.blocked];
  }
}
