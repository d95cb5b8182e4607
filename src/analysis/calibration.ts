/**
 * Calibration of the bounds against the simulator (issue 5, docs/analysis.md §6): parameters with deliberately
 * small samples, so that the bounds are ≈ 1e-3 … 1e-1 and violations are frequent enough to count, run over
 * many independent simulations under each adversary; each property's observed violation rate must not exceed
 * its `boundsFor` bound beyond sampling noise.
 *
 * The family of parameters keeps the shape the calculator gives for ε = 1e-9 and scales its size: every
 * threshold stays the same fraction of its sample (Ê/E, R̂/R, D̂/D), R and D keep their ratio to E, and G stays
 * (the gossip graph is not what is being calibrated; at N = 100 its bound is ~1e-10 anyway).
 */

import type { ContagionParams } from "../broadcast/contagion/contagionParams.ts";
import type { LatencyModelName } from "../sim/latency.ts";
import { ADVERSARIES, type Adversary } from "../sim/simulation.ts";
import { boundsFor, type FailureBounds } from "./bounds.ts";
import { chooseParams } from "./chooseParams.ts";
import type { SimJob, SimOutcome } from "./monteCarlo.ts";
import { anyExceeds, checkOutcomes, PROPERTIES, type PropertyChecks, runSeed } from "./verify.ts";

/** The shape the family is scaled from: the calculator's choice at this ε. */
export const CALIBRATION_BASE_EPSILON = 1e-9;

/** `base` resized to an echo sample of E entries, thresholds at the same fractions (each at least 1). */
export function scaledParams(base: ContagionParams, E: number): ContagionParams {
  const scale = E / base.E;
  const size = (n: number) => Math.max(1, Math.round(n * scale));
  const threshold = (t: number, from: number, to: number) =>
    Math.min(to, Math.max(1, Math.round((t * to) / from)));
  const R = size(base.R);
  const D = size(base.D);
  return {
    G: base.G,
    E,
    Ehat: threshold(base.Ehat, base.E, E),
    R,
    Rhat: threshold(base.Rhat, base.R, R),
    D,
    Dhat: threshold(base.Dhat, base.D, D),
  };
}

export interface CalibrationSetting {
  readonly nodes: number;
  readonly byzantine: number;
  readonly params: ContagionParams;
  readonly bounds: FailureBounds;
}

/** One family per Byzantine fraction: the ε = 1e-9 shape at `nodes`, scaled to each echo sample size. */
export function calibrationSettings(
  nodes: number,
  families: readonly { readonly byzantine: number; readonly echoSizes: readonly number[] }[],
): CalibrationSetting[] {
  return families.flatMap(({ byzantine, echoSizes }) => {
    const { G, E, Ehat, R, Rhat, D, Dhat } = chooseParams({
      nodes,
      byzantine,
      epsilon: CALIBRATION_BASE_EPSILON,
    });
    return echoSizes.map((size) => {
      const params = scaledParams({ G, E, Ehat, R, Rhat, D, Dhat }, size);
      const b = boundsFor(params, nodes, byzantine);
      return {
        nodes,
        byzantine,
        params,
        bounds: { validity: b.validity, consistency: b.consistency, totality: b.totality },
      };
    });
  });
}

export interface CalibrationPlan {
  /** Independent simulations per (setting, adversary): each draws its own samples. */
  readonly runs: number;
  /** Broadcasts per simulation. 1 makes every broadcast an independent trial (exact confidence intervals). */
  readonly broadcastsPerRun: number;
  readonly adversaries?: readonly Adversary[];
  readonly seed?: number;
  readonly latency?: LatencyModelName;
  readonly meanLatencyMs?: number;
}

export function calibrationJobs(settings: readonly CalibrationSetting[], plan: CalibrationPlan): SimJob[] {
  const meanLatencyMs = plan.meanLatencyMs ?? 50;
  const adversaries = plan.adversaries ?? ADVERSARIES;
  return settings.flatMap((setting, s) =>
    adversaries.flatMap((adversary, a) =>
      Array.from({ length: plan.runs }, (_, i) => ({
        nodes: setting.nodes,
        byzantine: setting.byzantine,
        adversary,
        protocol: { contagion: setting.params },
        broadcasts: plan.broadcastsPerRun,
        seed: runSeed(plan.seed ?? 1, s * adversaries.length + a, i),
        latency: plan.latency ?? "uniform",
        meanLatencyMs,
        intervalMs: 10 * meanLatencyMs,
      })),
    ),
  );
}

export interface CalibrationRow {
  readonly nodes: number;
  readonly byzantine: number;
  readonly params: ContagionParams;
  readonly bounds: FailureBounds;
  /** Every adversary together: the rate the plots show. */
  readonly pooled: PropertyChecks;
  readonly byAdversary: Readonly<Partial<Record<Adversary, PropertyChecks>>>;
  readonly broadcasts: number;
  /** Some property, pooled or under one adversary, has even its lower confidence end above the bound. */
  readonly flagged: boolean;
}

const sameParams = (a: ContagionParams, b: ContagionParams) =>
  a.G === b.G &&
  a.E === b.E &&
  a.Ehat === b.Ehat &&
  a.R === b.R &&
  a.Rhat === b.Rhat &&
  a.D === b.D &&
  a.Dhat === b.Dhat;

export function summariseCalibration(
  settings: readonly CalibrationSetting[],
  outcomes: readonly SimOutcome[],
): CalibrationRow[] {
  return settings.map((setting) => {
    const mine = outcomes.filter(
      (o) =>
        o.job.nodes === setting.nodes &&
        o.job.byzantine === setting.byzantine &&
        o.job.protocol !== "bracha" &&
        sameParams(o.job.protocol.contagion, setting.params),
    );
    const byAdversary: Partial<Record<Adversary, PropertyChecks>> = {};
    for (const adversary of ADVERSARIES) {
      const runs = mine.filter((o) => o.job.adversary === adversary);
      if (runs.length > 0) byAdversary[adversary] = checkOutcomes(runs, setting.bounds);
    }
    const pooled = checkOutcomes(mine, setting.bounds);
    return {
      nodes: setting.nodes,
      byzantine: setting.byzantine,
      params: setting.params,
      bounds: setting.bounds,
      pooled,
      byAdversary,
      broadcasts: mine.reduce((total, o) => total + o.broadcasts, 0),
      flagged: anyExceeds(pooled) || Object.values(byAdversary).some((checks) => anyExceeds(checks)),
    };
  });
}

/** Rows × properties where the observed rate exceeds the bound (even if within noise), for the summary. */
export function observedAboveBound(rows: readonly CalibrationRow[]): number {
  return rows.reduce(
    (n, row) =>
      n +
      PROPERTIES.filter((p) => {
        const c = row.pooled[p];
        return c.rate !== null && c.rate > c.bound;
      }).length,
    0,
  );
}
