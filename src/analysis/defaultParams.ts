import type { ContagionParams } from "../broadcast/contagion/contagionParams.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { fullMembershipParams } from "../sampling/fullMembership.ts";
import { logGossipDisconnected } from "./bounds.ts";
import { chooseParams } from "./chooseParams.ts";
import { MIN_NODES, population } from "./population.ts";

/** Every failure bound (validity, consistency, totality) of the defaults, per broadcast. */
export const DEFAULT_EPSILON = 1e-9;

/**
 * Up to this many members the defaults are full-membership quorums (src/sampling/fullMembership.ts). It is
 * where sampling starts to save messages: below it the sampled design's echo sample (E ≈ 800 draws) and
 * ready samples (R + D ≈ 1,800) leave, on average, less than one of the N−1 other members undrawn, so they
 * cost what full membership costs while tolerating fewer faults (⌊(N−1)/5⌋, up to ε, against ⌊(N−1)/3⌋
 * exactly). From 173 members on, they miss at least one (two at N = 200, 86 + 9 at N = 500).
 */
export const FULL_MEMBERSHIP_MAX_NODES = 172;

/**
 * Default contagion parameters (thesis Ch. 4: G, E, Ê, R, R̂, D, D̂) for a network of `n` members:
 *
 * - up to `FULL_MEMBERSHIP_MAX_NODES` (every devnet): full-membership quorums — E = R = D = N−1, each other
 *   member once, Bracha's thresholds — tolerating ⌊(N−1)/3⌋ faulty members, with G sized so the correct
 *   members' gossip graph is connected but with probability ≤ ε (`fullMembershipGossip`);
 * - beyond: what the parameter calculator (`tally params`, src/analysis/chooseParams.ts) computes from its
 *   tail bounds (docs/analysis.md) for up to ⌊(N−1)/5⌋ Byzantine members (20 % of the peers any node samples
 *   from) and ε = 1e-9 for each property, per broadcast.
 *
 * A lone member (N = 1) gets the two-member set: it samples nobody, and its own echo decides.
 */
export function defaultContagionParams(n: number): ContagionParams {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new TallyError(
      ErrorCode.InvalidConfig,
      "contagion defaults: the member count must be a positive integer",
    );
  }
  if (n <= FULL_MEMBERSHIP_MAX_NODES) {
    const nodes = Math.max(n, 2);
    return fullMembershipParams(nodes, fullMembershipGossip(nodes));
  }
  const { G, E, Ehat, R, Rhat, D, Dhat } = chooseParams({
    nodes: n,
    byzantine: designByzantine(n) / n,
    epsilon: DEFAULT_EPSILON,
  });
  return { G, E, Ehat, R, Rhat, D, Dhat };
}

/**
 * The smallest G for which the correct members' gossip graph is disconnected with probability ≤ ε when
 * ⌊(N−1)/3⌋ members are faulty (the bound of src/analysis/bounds.ts; below its 4-node floor, the 4-node G).
 * Gossip is the one layer full membership still samples: it is no quorum, and every correct member only
 * needs the payload from some correct neighbour.
 */
export function fullMembershipGossip(n: number): number {
  const nodes = Math.max(n, MIN_NODES);
  const pop = population({ nodes, byzantine: toleratedFaults(nodes) / nodes });
  let G = 1;
  while (logGossipDisconnected(G, pop) > Math.log(DEFAULT_EPSILON)) G++;
  return G;
}

/** The Byzantine members the sampled defaults are sized for: ⌊(N−1)/5⌋. */
export function designByzantine(n: number): number {
  return Math.floor((n - 1) / 5);
}

/** The faulty members the defaults tolerate: ⌊(N−1)/3⌋ with full membership, ⌊(N−1)/5⌋ beyond. */
export function toleratedFaults(n: number): number {
  return n <= FULL_MEMBERSHIP_MAX_NODES ? Math.floor((n - 1) / 3) : designByzantine(n);
}
