/**
 * Bracha's quorums for N members of which at most f = ⌊(N−1)/3⌋ are Byzantine.
 * - echo: ⌈(N+f+1)/2⌉ — two echo quorums share a correct member, and a correct member echoes one digest
 *   per instance, so at most one digest per instance can gather an echo quorum (consistency).
 * - readyAmplify: f+1 — at least one of them is correct, so joining them cannot create a new digest
 *   (totality: readiness spreads to every correct member).
 * - deliver: 2f+1 — at least f+1 correct members are ready, enough to make every correct member ready.
 */
export interface BrachaQuorums {
  readonly n: number;
  readonly f: number;
  readonly echo: number;
  readonly readyAmplify: number;
  readonly deliver: number;
}

export function brachaQuorums(n: number): BrachaQuorums {
  const f = Math.floor((n - 1) / 3);
  return { n, f, echo: Math.ceil((n + f + 1) / 2), readyAmplify: f + 1, deliver: 2 * f + 1 };
}
