import { readdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseCpuProfile } from "../analysis/flameGraph.ts";
import { flameGraphReport, selfTimeTable } from "../analysis/flameGraphReport.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";

const PROJECT_ROOT = resolve(import.meta.dirname, "../..");
/** Self-time frames the bench reports (the SVG holds them all). */
const TOP_FRAMES = 15;

/** `tally bench --profile DIR`: where the nodes' profiles went and what they show. */
export interface NodeProfiles {
  readonly dir: string;
  /** The nodes' profiles summed into one flame graph. */
  readonly flameGraph: string;
  readonly profiles: number;
  readonly busySamples: number;
  /** The frames most often on top of the stack, over all the nodes' busy samples. */
  readonly top: readonly { readonly frame: string; readonly share: number }[];
}

/**
 * After the devnet stopped (a node writes its profile on exit): every node's profile under `dir`, cut to the
 * bench's measured window (no start-up, warmup or drain), summed into `dir/flamegraph.svg`, and the self-time
 * table into `dir/self-time.md`.
 */
export async function writeNodeProfiles(
  dir: string,
  title: string,
  window: { readonly fromMicros: number; readonly toMicros: number } | undefined,
): Promise<NodeProfiles> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    for (const name of await readdir(join(dir, entry.name)))
      if (name.endsWith(".cpuprofile")) files.push(join(dir, entry.name, name));
  }
  if (files.length === 0)
    throw new TallyError(ErrorCode.BenchFailed, `--profile ${dir}: no node wrote a CPU profile`);
  const profiles = await Promise.all(
    files.map(async (file) => parseCpuProfile(await readFile(file, "utf8"))),
  );
  const report = flameGraphReport(profiles, { title, top: TOP_FRAMES, projectRoot: PROJECT_ROOT, window });
  const flameGraph = join(dir, "flamegraph.svg");
  await writeFile(flameGraph, report.svg);
  await writeFile(join(dir, "self-time.md"), `${selfTimeTable(report.top).join("\n")}\n`);
  return {
    dir,
    flameGraph,
    profiles: report.profiles,
    busySamples: report.busySamples,
    top: report.top.map(({ label, share }) => ({ frame: label, share: Math.round(share * 10_000) / 10_000 })),
  };
}
