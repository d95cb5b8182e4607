import type { PeerId } from "../core/peerId.ts";

/**
 * The sampling oracle Ω of thesis §4.2 (assumption 7): uniform draws of peer identities from the
 * population, using this node's private randomness (the adversary never sees it; assumption 6).
 *
 * The population is every *other* member: a node never draws itself. A self-draw would be a loopback
 * whose answer is known in advance, so it measures nothing about the rest of the system; excluding it
 * widens the margin between the validity and consistency thresholds at small N — (N−3B)/(2(N−1)) of the
 * sample instead of (N−3B)/(2N) for B Byzantine members — and changes nothing asymptotically.
 *
 * Static membership implements it today (`staticMembership.ts`); the permissionless network will put a
 * Brahms-style sampler behind the same interface, so the broadcast never depends on how peers are known.
 * A small network's full-membership params switch it to `FullMembershipOracle` (`fullMembership.ts`).
 */
export interface SamplingOracle {
  /** How many peers can be drawn (self excluded). Zero for a single-member network. */
  readonly size: number;
  /** `count` independent uniform draws, with replacement (Algorithm 7: Ω(1), `count` times). */
  sample(count: number): PeerId[];
  /** `min(count, size)` distinct peers, uniform without replacement (Algorithm 6: the gossip sample). */
  distinct(count: number): PeerId[];
  /**
   * Whether `peer` may take part at all: messages from anyone else are dropped before they cost state.
   * Static membership: listed in the genesis. A sampler: holds a valid node record.
   */
  isMember(peer: PeerId): boolean;
  /**
   * The population may grow (an open network's view). Then an empty oracle means "nobody known yet" — an
   * isolated node, which must wait — never "the only member of the network", which decides alone.
   */
  readonly mayGrow?: boolean;
}
