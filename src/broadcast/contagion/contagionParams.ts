/** Parameters of the probabilistic broadcast (thesis Ch. 4): sample sizes and thresholds. */
export interface ContagionParams {
  readonly G: number;
  readonly E: number;
  readonly Ehat: number;
  readonly R: number;
  readonly Rhat: number;
  readonly D: number;
  readonly Dhat: number;
}
