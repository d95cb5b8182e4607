/**
 * Regenerates docs/plots/membership-byzantine-share.svg and docs/plots/membership-results.json: the
 * Byzantine share of correct nodes' Basalt views, round by round, under `push` and `sybil`, at N = 1,000 and
 * N = 10,000, with record flooding (the node's design and parameters, src/membership/openParams.ts). The exchange-only N = 10,000 push run
 * (v = 100, k = 1) is drawn dashed as the reference for what happens without flooding; it is taken from the
 * previous results file when present (it costs ~100 s), else run.
 * Run: node src/sim/sampler/membershipPlots.ts [rounds] [reference rounds] [report.json …]
 * Each run is also `tally sim --sampler basalt --attack A --nodes N --rounds R --json` (same defaults, seed 1);
 * reports of such runs given as arguments are used instead of running them again (a 10,000-node run takes
 * many minutes).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { OPEN_RESETS_PER_ROUND, OPEN_VIEW_SIZE } from "../../membership/openParams.ts";
import { renderSvg } from "../plot.ts";
import { runSamplerSimulation, type SamplerRunReport } from "./samplerRun.ts";

const RESULTS = "docs/plots/membership-results.json";
const rounds = Number(process.argv[2] ?? 30);
const referenceRounds = Number(process.argv[3] ?? 25);
const given = process.argv.slice(4).map((file) => JSON.parse(readFileSync(file, "utf8")) as SamplerRunReport);

const log = (r: SamplerRunReport) =>
  process.stderr.write(
    `N=${r.nodes} ${r.attack} ${r.dissemination}: final mean ${r.final?.viewByzantineMean.toFixed(3)} p99 ${r.final?.viewByzantineP99.toFixed(3)} samples ${r.final?.sampleByzantine.toFixed(3)} (${r.wallSeconds.toFixed(0)} s)\n`,
  );

const reports: SamplerRunReport[] = [];
for (const nodes of [1000, 10_000]) {
  for (const attack of ["push", "sybil"] as const) {
    const report =
      given.find(
        (r) =>
          r.nodes === nodes &&
          r.attack === attack &&
          r.dissemination === "flood" &&
          r.rounds === rounds &&
          r.viewSize === OPEN_VIEW_SIZE &&
          r.resetsPerRound === OPEN_RESETS_PER_ROUND &&
          r.seed === 1,
      ) ??
      runSamplerSimulation({
        nodes,
        byzantine: 0.1,
        attack,
        rounds,
        viewSize: OPEN_VIEW_SIZE,
        resetsPerRound: OPEN_RESETS_PER_ROUND,
        seed: 1,
        broadcasts: 0,
        dissemination: "flood",
      });
    log(report);
    reports.push(report);
  }
}

const isReference = (r: Partial<SamplerRunReport>) =>
  r.nodes === 10_000 && r.attack === "push" && (r.dissemination ?? "exchange") === "exchange";
const stored = existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, "utf8")) as SamplerRunReport[]) : [];
const kept = stored.find((r) => isReference(r) && r.rounds === referenceRounds && r.viewSize === 100);
const reference =
  kept === undefined
    ? runSamplerSimulation({
        nodes: 10_000,
        byzantine: 0.1,
        attack: "push",
        rounds: referenceRounds,
        viewSize: 100,
        resetsPerRound: 1,
        seed: 1,
        broadcasts: 0,
        dissemination: "exchange",
      })
    : { ...kept, dissemination: "exchange" as const };
log(reference);
reports.push(reference);

mkdirSync("docs/plots", { recursive: true });
writeFileSync(RESULTS, `${JSON.stringify(reports, null, 1)}\n`);
const referenceSeries = "N=10000 push, exchange only (v = 100, k = 1), mean";
const points = reports.flatMap((r) =>
  r.dissemination === "exchange"
    ? r.history.map((s) => ({ x: s.round, y: s.viewByzantineMean, series: referenceSeries }))
    : r.history.flatMap((s) => [
        { x: s.round, y: s.viewByzantineMean, series: `N=${r.nodes} ${r.attack}, mean` },
        { x: s.round, y: s.viewByzantineP99, series: `N=${r.nodes} ${r.attack}, p99` },
      ]),
);
writeFileSync(
  "docs/plots/membership-byzantine-share.svg",
  await renderSvg({
    title: `Basalt fed by record flooding (v = ${OPEN_VIEW_SIZE}, k = ${OPEN_RESETS_PER_ROUND}), f = 0.1: Byzantine share of correct nodes' views`,
    xTitle: "round",
    yTitle: "Byzantine share of the view",
    points,
    dashedSeries: [referenceSeries],
  }),
);
