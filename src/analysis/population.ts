import { ErrorCode, TallyError } from "../core/errors.ts";

/** The network a bound is computed for: N nodes of which a fraction f is Byzantine (paper §4.2). */
export interface NetworkModel {
  readonly nodes: number;
  /** f, the Byzantine fraction, in [0, 1/3). */
  readonly byzantine: number;
}

/** The counts every bound is written in. */
export interface Population {
  /** N. */
  readonly nodes: number;
  /** B = ⌊f·N⌋ Byzantine nodes. */
  readonly byzantineNodes: number;
  /** C = N − B correct nodes: the union bounds run over them. */
  readonly correctNodes: number;
  /**
   * β = B/(N−1), the chance that one sample entry is Byzantine when entries are uniform over the N−1 other
   * nodes (the project's oracle, src/sampling/samplingOracle.ts); ≥ B/N, so also safe if Ω may return self.
   */
  readonly byzantineShare: number;
}

/** Below 4 nodes even Bracha tolerates no fault; the calculator shares that floor. */
export const MIN_NODES = 4;
/** The bounds need samples of every node's size class; beyond this the gossip sum alone gets slow. */
export const MAX_NODES = 100_000_000;
/** f < 1/3, as for Bracha: beyond it no threshold separates a correct quorum from a Byzantine one. */
export const MAX_BYZANTINE = 1 / 3;

function invalid(message: string): TallyError {
  return new TallyError(ErrorCode.InvalidField, message);
}

export function population(model: NetworkModel): Population {
  const { nodes, byzantine } = model;
  if (!Number.isSafeInteger(nodes) || nodes < MIN_NODES || nodes > MAX_NODES) {
    throw invalid(`nodes must be an integer in [${MIN_NODES}, ${MAX_NODES}], got ${nodes}`);
  }
  if (!(byzantine >= 0 && byzantine < MAX_BYZANTINE)) {
    throw invalid(`byzantine must be a fraction in [0, 1/3), got ${byzantine}`);
  }
  // The 1e-9 absorbs decimal input such as 0.1 × 1000 = 100.00000000000001 or 0.3 × 10 = 2.9999999999999996.
  const byzantineNodes = Math.floor(byzantine * nodes + 1e-9);
  return {
    nodes,
    byzantineNodes,
    correctNodes: nodes - byzantineNodes,
    byzantineShare: byzantineNodes / (nodes - 1),
  };
}
