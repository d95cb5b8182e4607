/**
 * Regenerates docs/plots/membership-byzantine-share.svg and docs/plots/membership-results.json: the
 * Byzantine share of correct nodes' Basalt views, round by round, under `push` and `sybil`, at two sizes.
 * Run: node src/sim/sampler/membershipPlots.ts [rounds at N=1,000] [rounds at N=10,000]
 * Each run is also `tally sim --sampler basalt --attack A --nodes N --rounds R --json` (same defaults, seed 1).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { renderSvg } from "../plot.ts";
import { runSamplerSimulation, type SamplerRunReport } from "./samplerRun.ts";

const smallRounds = Number(process.argv[2] ?? 60);
const largeRounds = Number(process.argv[3] ?? 25);
const reports: SamplerRunReport[] = [];
for (const [nodes, rounds] of [
  [1000, smallRounds],
  [10_000, largeRounds],
] as const) {
  for (const attack of ["push", "sybil"] as const) {
    const report = runSamplerSimulation({
      nodes,
      byzantine: 0.1,
      attack,
      rounds,
      viewSize: 100,
      resetsPerRound: 1,
      seed: 1,
      broadcasts: 0,
    });
    process.stderr.write(
      `N=${nodes} ${attack}: final mean ${report.final?.viewByzantineMean.toFixed(3)} p99 ${report.final?.viewByzantineP99.toFixed(3)} (${report.wallSeconds.toFixed(0)} s)\n`,
    );
    reports.push(report);
  }
}
mkdirSync("docs/plots", { recursive: true });
writeFileSync(
  "docs/plots/membership-results.json",
  `${JSON.stringify(
    reports.map(({ history, ...rest }) => ({ ...rest, history })),
    null,
    1,
  )}\n`,
);
const points = reports.flatMap((r) =>
  r.history.flatMap((s) => [
    { x: s.round, y: s.viewByzantineMean, series: `N=${r.nodes} ${r.attack}, mean` },
    { x: s.round, y: s.viewByzantineP99, series: `N=${r.nodes} ${r.attack}, p99` },
  ]),
);
writeFileSync(
  "docs/plots/membership-byzantine-share.svg",
  await renderSvg({
    title: "Basalt (v = 100, k = 1), f = 0.1: Byzantine share of correct nodes' views",
    xTitle: "round",
    yTitle: "Byzantine share of the view",
    points,
  }),
);
