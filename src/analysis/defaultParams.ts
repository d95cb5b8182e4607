import type { ContagionParams } from "../broadcast/contagion/contagionParams.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { chooseParams } from "./chooseParams.ts";
import { MIN_NODES } from "./population.ts";

/** Every failure bound (validity, consistency, totality) of the defaults, per broadcast. */
export const DEFAULT_EPSILON = 1e-9;

/**
 * Default contagion parameters (thesis Ch. 4: G, E, Ê, R, R̂, D, D̂) for a network of `n` members, meant for
 * devnets (N = 4 … 64) but defined for any N. They are what the parameter calculator (`tally params`,
 * src/analysis/chooseParams.ts) computes from its tail bounds (docs/analysis.md) for this design point:
 *
 * - up to ⌊(N−1)/5⌋ Byzantine members, i.e. at most 20 % of the peers any node samples from. Contagion needs
 *   N ≥ 3B + 3 to separate "a few correct nodes ready" from "all ready"; this choice meets it from N = 6 on,
 *   and below that (N ≤ 5) tolerates no faulty member at all — a crashed one stalls broadcasts until it is
 *   replaced (`peerDownGraceMs`). Bracha tolerates ⌊(N−1)/3⌋ there and is the better choice;
 * - ε = 1e-9 for each property, per broadcast.
 *
 * Why the samples dwarf a devnet (E ≈ 60 draws over the 3 peers of a 4-node network, ≈ 800 over the 63 of a
 * 64-node one): below a few hundred members, the O(log N) sample a given ε needs is already larger than N, so
 * the samples simply cover the membership several times over. That costs nothing on the wire — a node
 * subscribes once per distinct peer, and a peer's multiplicity only weighs its vote locally — and makes every
 * peer's weight close to 1/(N−1): the samples behave like the whole membership and the thresholds like
 * Bracha's quorums written as fractions. Contagion then sends about what Bracha does, plus the gossip; its
 * saving appears once N clearly exceeds the sample sizes (docs/broadcast.md has the measurements).
 *
 * Below the calculator's 4-node floor (N = 1 … 3, where no fault is tolerated either) the 4-node values apply.
 */
export function defaultContagionParams(n: number): ContagionParams {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new TallyError(
      ErrorCode.InvalidConfig,
      "contagion defaults: the member count must be a positive integer",
    );
  }
  const nodes = Math.max(n, MIN_NODES);
  const { G, E, Ehat, R, Rhat, D, Dhat } = chooseParams({
    nodes,
    byzantine: designByzantine(nodes) / nodes,
    epsilon: DEFAULT_EPSILON,
  });
  return { G, E, Ehat, R, Rhat, D, Dhat };
}

/** The Byzantine members the defaults are sized for: ⌊(N−1)/5⌋. */
export function designByzantine(n: number): number {
  return Math.floor((n - 1) / 5);
}
