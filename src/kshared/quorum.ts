/**
 * Quorums of a k-owner committee with at most f = ⌊(k−1)/3⌋ Byzantine owners.
 *
 * q = ⌈(k+f+1)/2⌉ makes any two quorums share at least f+1 owners (2q − k ≥ f+1), hence at least one
 * correct owner; 2f+1 alone would not do for k ≠ 3f+1 (k = 6, f = 1: two sets of 3 may share nobody).
 * And q ≤ k − f, so the correct owners alone always form a quorum (liveness).
 */
export interface CommitteeQuorum {
  readonly k: number;
  readonly f: number;
  readonly q: number;
}

/** The most owners one account may have: signer sets are a 32-bit bitmap in certificates. */
export const MAX_OWNERS = 32;

export function committeeQuorum(k: number): CommitteeQuorum {
  if (!Number.isInteger(k) || k < 1 || k > MAX_OWNERS) throw new RangeError(`k must be 1..${MAX_OWNERS}`);
  const f = Math.floor((k - 1) / 3);
  return { k, f, q: Math.ceil((k + f + 1) / 2) };
}
