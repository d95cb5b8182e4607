import { brachaQuorums } from "../broadcast/bracha/quorums.ts";
import type { ContagionParams } from "../broadcast/contagion/contagionParams.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import type { PeerId } from "../core/peerId.ts";
import type { SamplingOracle } from "./samplingOracle.ts";

/**
 * Full-membership quorums for a small network: when samples drawn with replacement would cover the
 * membership anyway, the contagion broadcast samples every other member exactly once instead, and its
 * thresholds become Bracha's. It then tolerates f = ⌊(N−1)/3⌋ faulty members deterministically, where the
 * sampled design tolerates ⌊(N−1)/5⌋ up to ε. docs/broadcast.md ("Small networks") argues the switch.
 *
 * A param set is a full-membership set when its echo, ready and delivery samples E = R = D all equal the
 * number of other members: drawn with replacement, such a sample would miss a third of them, so no sampled
 * design uses it, and the rule needs no new genesis field (older genesis files keep their meaning).
 */

/**
 * Bracha's quorums for N members, written for the contagion broadcast, which counts only the *other*
 * members' votes (Ω never returns self):
 * - Ê = ⌈(N+f+1)/2⌉ − 1: a node only echo-delivers the digest it echoed itself, so its own ECHO always joins
 *   the quorum — Bracha's echo quorum, self included;
 * - R̂ = f+1: f+1 other members include a correct one, as in Bracha;
 * - D̂ = 2f (1 when f = 0): Bracha's 2f+1 with the node's own READY. A node that delivers without being ready
 *   still has ≥ f correct READYs (so the digest is the one correct nodes echo-delivered) and becomes ready on
 *   delivery, which makes f+1 correct READYs — enough for every correct member to become ready (totality).
 */
export function fullMembershipQuorums(nodes: number): Pick<ContagionParams, "Ehat" | "Rhat" | "Dhat"> {
  const { f, echo, readyAmplify } = brachaQuorums(nodes);
  return { Ehat: echo - 1, Rhat: readyAmplify, Dhat: Math.max(1, 2 * f) };
}

/** The full-membership set for `nodes` members (≥ 2) with gossip expectation `G`. */
export function fullMembershipParams(nodes: number, G: number): ContagionParams {
  if (!Number.isSafeInteger(nodes) || nodes < 2) {
    throw new TallyError(ErrorCode.InvalidConfig, "full membership: at least two members");
  }
  const others = nodes - 1;
  const { Ehat, Rhat, Dhat } = fullMembershipQuorums(nodes);
  return { G, E: others, Ehat, R: others, Rhat, D: others, Dhat };
}

/**
 * Whether `params` ask for full membership over an oracle of `others` peers (E = R = D = others). A set that
 * does must carry exactly Bracha's thresholds: anything weaker would break quorum intersection, anything
 * stronger would stall with fewer than f faulty members; either is refused with the expected values.
 */
export function coversMembership(params: ContagionParams, others: number): boolean {
  const { E, R, D } = params;
  if (others < 1 || E !== others || R !== others || D !== others) return false;
  const expected = fullMembershipQuorums(others + 1);
  if (params.Ehat !== expected.Ehat || params.Rhat !== expected.Rhat || params.Dhat !== expected.Dhat) {
    throw new TallyError(
      ErrorCode.InvalidConfig,
      `broadcast: params: E = R = D = ${others} (every other member) asks for full-membership quorums, ` +
        `whose thresholds for ${others + 1} members are Ehat = ${expected.Ehat}, Rhat = ${expected.Rhat}, ` +
        `Dhat = ${expected.Dhat}`,
      { expected, got: { Ehat: params.Ehat, Rhat: params.Rhat, Dhat: params.Dhat } },
    );
  }
  return true;
}

/**
 * Ω in full-membership mode: a sample (`sample`, used for E, R and D) is the whole membership but self, each
 * member exactly once (no draw with replacement), whatever the requested count — a partial one would break
 * the quorum arithmetic above. Gossip draws (`distinct`) stay uniform: the gossip layer is no quorum, it
 * only has to connect the correct members, and its G is sized for that with f = ⌊(N−1)/3⌋.
 * Samples over it are never replaced (there is nobody else to draw): the broadcast options turn
 * replacement off.
 */
export class FullMembershipOracle implements SamplingOracle {
  readonly size: number;
  private readonly inner: SamplingOracle;

  constructor(inner: SamplingOracle) {
    this.inner = inner;
    this.size = inner.size;
  }

  sample(_count: number): PeerId[] {
    return this.inner.distinct(this.size);
  }

  distinct(count: number): PeerId[] {
    return this.inner.distinct(count);
  }

  isMember(peer: PeerId): boolean {
    return this.inner.isMember(peer);
  }
}
