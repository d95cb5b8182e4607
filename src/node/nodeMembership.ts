import type { PeerId } from "../core/peerId.ts";
import type { RandomSource } from "../core/random.ts";
import type { Genesis } from "../genesis/genesis.ts";
import type { OpenMembership } from "../membership/openMembership.ts";
import type { SamplingOracle } from "../sampling/samplingOracle.ts";
import { StaticMembership } from "../sampling/staticMembership.ts";

/**
 * Who takes part, as the node's decisions see it: a genesis member list, or an open network's record book
 * and sampler. The broadcast draws from `oracle`; channels, catch-up and health ask `isMember`.
 */
export interface NodeMembership {
  readonly kind: "static" | "open";
  /** The genesis member list, this node included; empty on an open network. */
  readonly members: readonly PeerId[];
  readonly oracle: SamplingOracle;
  isMember(peer: PeerId): boolean;
  /** A non-member that was a member moments ago (open networks: its record just lapsed). */
  wasMember(peer: PeerId, nowMs: number): boolean;
}

export function staticNodeMembership(genesis: Genesis, self: PeerId, random: RandomSource): NodeMembership {
  const members = genesis.members.map((m) => m.peerId);
  const listed = new Set(members);
  return {
    kind: "static",
    members,
    oracle: new StaticMembership({ self, members, random }),
    isMember: (peer) => listed.has(peer),
    wasMember: () => false,
  };
}

export function openNodeMembership(open: OpenMembership): NodeMembership {
  return {
    kind: "open",
    members: [],
    oracle: open.oracle,
    isMember: (peer) => open.isMember(peer),
    wasMember: (peer, nowMs) => open.wasMember(peer, nowMs),
  };
}
