import {
  type CpuProfile,
  foldCpuProfile,
  foldedTotal,
  mergeFolded,
  renderFlameGraphSvg,
  type SelfFrame,
  summariseProfile,
  topSelfFrames,
} from "./flameGraph.ts";

export interface FlameGraphReportOptions {
  readonly title: string;
  /** Default: the busy samples, how many profiles and their wall-clock time. */
  readonly subtitle?: string | undefined;
  /** How many self-time frames the table lists. */
  readonly top: number;
  /** Leave out `(idle)` samples (default), so shares are of busy time. */
  readonly dropIdle?: boolean;
  /** The project's root: its files are labelled relative to it. */
  readonly projectRoot?: string;
  /** Only samples taken in this window (µs, the profiles' clock: the machine's monotonic one). */
  readonly window?: { readonly fromMicros: number; readonly toMicros: number } | undefined;
}

export interface FlameGraphReport {
  readonly svg: string;
  readonly profiles: number;
  /** Samples on the flame graph (idle left out unless asked). */
  readonly busySamples: number;
  readonly allSamples: number;
  readonly idleSamples: number;
  /** Mean time between samples over the profiles, ms. */
  readonly sampleIntervalMs: number;
  /** The longest profile's wall-clock time, ms. */
  readonly longestMs: number;
  readonly top: readonly SelfFrame[];
}

/** Several profiles (a devnet's processes) summed into one flame graph and a self-time table. */
export function flameGraphReport(
  profiles: readonly CpuProfile[],
  options: FlameGraphReportOptions,
): FlameGraphReport {
  const window = options.window;
  if (window !== undefined)
    profiles = profiles.map((p) => withinWindow(p, window.fromMicros, window.toMicros));
  const dropIdle = options.dropIdle ?? true;
  const fold = { dropIdle, ...(options.projectRoot ? { projectRoot: options.projectRoot } : {}) };
  const folded = mergeFolded(...profiles.map((profile) => foldCpuProfile(profile, fold)));
  const summaries = profiles.map(summariseProfile);
  const busySamples = foldedTotal(folded);
  const longestMs = Math.max(0, ...summaries.map((s) => s.durationMs));
  const count = profiles.length === 1 ? "1 profile" : `${profiles.length} profiles`;
  const subtitle =
    options.subtitle ?? `${busySamples} busy samples from ${count}, ${seconds(longestMs)} of wall-clock time`;
  return {
    svg: renderFlameGraphSvg(folded, { title: options.title, subtitle }),
    profiles: profiles.length,
    busySamples,
    allSamples: summaries.reduce((sum, s) => sum + s.samples, 0),
    idleSamples: summaries.reduce((sum, s) => sum + s.idleSamples, 0),
    sampleIntervalMs:
      summaries.length === 0
        ? 0
        : summaries.reduce((sum, s) => sum + s.sampleIntervalMs, 0) / summaries.length,
    longestMs,
    top: topSelfFrames(folded, options.top),
  };
}

/**
 * The profile cut to the samples taken between `fromMicros` and `toMicros`: each sample's time is the start
 * plus the deltas so far; hit counts are recounted from the samples kept. A profile without sample times is
 * returned as it is.
 */
export function withinWindow(profile: CpuProfile, fromMicros: number, toMicros: number): CpuProfile {
  const { samples, timeDeltas } = profile;
  if (samples === undefined || timeDeltas === undefined || samples.length !== timeDeltas.length)
    return profile;
  const kept: number[] = [];
  const deltas: number[] = [];
  const hits = new Map<number, number>();
  let at = profile.startTime;
  let last = fromMicros;
  for (let i = 0; i < samples.length; i++) {
    at += timeDeltas[i]!;
    if (at < fromMicros || at > toMicros) continue;
    kept.push(samples[i]!);
    deltas.push(at - last);
    last = at;
    hits.set(samples[i]!, (hits.get(samples[i]!) ?? 0) + 1);
  }
  return {
    ...profile,
    startTime: Math.max(profile.startTime, fromMicros),
    endTime: Math.min(profile.endTime, toMicros),
    samples: kept,
    timeDeltas: deltas,
    nodes: profile.nodes.map((node) => ({ ...node, hitCount: hits.get(node.id) ?? 0 })),
  };
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** A label as a markdown table cell: in a code span, its pipes escaped (GFM splits cells first). */
export const markdownCell = (label: string): string =>
  `\`${label.replaceAll("|", "\\|").replaceAll("`", "'")}\``;

/** The self-time table in markdown, as docs/benchmarks.md quotes it. */
export function selfTimeTable(top: readonly SelfFrame[]): string[] {
  return [
    "| share | frame |",
    "| ---: | --- |",
    ...top.map(({ label, share }) => `| ${(share * 100).toFixed(1)} % | ${markdownCell(label)} |`),
  ];
}
