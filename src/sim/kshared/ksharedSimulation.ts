import { ErrorCode, TallyError } from "../../core/errors.ts";
import {
  compareCorrect,
  type KsharedSimReport,
  type ScenarioReport,
  scenarioReport,
} from "./ksharedReport.ts";
import { type KsharedSimSpec, ksharedSpecProblem } from "./ksharedSimSpec.ts";
import { KsharedWorld } from "./ksharedWorld.ts";

/** One run: with the bad accounts (faulty) or without them (baseline). */
export function runKsharedScenario(spec: KsharedSimSpec, withBad: boolean): ScenarioReport {
  const problem = ksharedSpecProblem(spec);
  if (problem !== undefined) throw new TallyError(ErrorCode.InvalidConfig, `kshared sim: ${problem}`);
  const started = performance.now();
  const run = new KsharedWorld(spec, withBad).run();
  return scenarioReport(run, spec.seconds, (performance.now() - started) / 1000);
}

/**
 * The baseline (bad accounts absent) and the faulty run (present), same seed, and the correct accounts'
 * ratios between them. `baseline` can be passed in to reuse one across several faults.
 */
export function runKsharedComparison(spec: KsharedSimSpec, baseline?: ScenarioReport): KsharedSimReport {
  const base = baseline ?? runKsharedScenario(spec, false);
  const faulty = runKsharedScenario(spec, true);
  return { mode: "kshared", spec, baseline: base, faulty, ratio: compareCorrect(base, faulty) };
}
