/**
 * Instructions per transfer per node in the node cores, counted by valgrind's callgrind: a figure that moves
 * by 0.1–1 % between identical runs (2 % seen once), where CPU time on this shared two-core machine moves by
 * ±10 %. It runs
 * the cluster bench (`bench/cluster.bench.ts`) replayably (`--seed`: seeded keys and draws, a virtual clock)
 * under V8's `--predictable` (no concurrent compilation or GC threads, so tier-up and collections follow the
 * allocation and call counts, not the clock), and counts only inside the bench's measured window.
 *
 * What it is for: telling whether a change to the cores does less work, down to a fraction of a percent, with
 * `--against DIR` (another checkout, e.g. a `git worktree` of the base) measured in the same run, both at once.
 * What it does not show: time. An instruction that misses the cache costs more than one that hits, so a
 * change in memory behaviour (fewer objects, smaller maps, less garbage) can save more time than its
 * instruction count says, or less; the devnet bench (`tally bench`) and the cluster bench's µs say that.
 * Under valgrind a run is ≈ 50× slower inside the window; the default 2,000 transfers take about a minute.
 * V8 optimises functions on the main thread under `--predictable`, so compilation is counted too: ≈ 6 % of
 * the window at 2,000 transfers (8 % at 1,000); a change that alters what gets optimised moves the count
 * by that route as well.
 *
 * Run: node bench/instructions.bench.ts [--transfers 2000] [--accounts 200] [--nodes 4] [--seed 7]
 *      [--runs 3] [--bracha] [--against DIR] [--json]
 */

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";

const execFileAsync = promisify(execFile);

const { values: args } = parseArgs({
  options: {
    transfers: { type: "string", default: "2000" },
    accounts: { type: "string", default: "200" },
    nodes: { type: "string", default: "4" },
    seed: { type: "string", default: "7" },
    runs: { type: "string", default: "3" },
    bracha: { type: "boolean", default: false },
    against: { type: "string" },
    json: { type: "boolean", default: false },
  },
});

const HERE = resolve(fileURLToPath(new URL("..", import.meta.url)));

interface RunResult {
  readonly instructions: number;
  readonly transfers: number;
  readonly perTransferPerNode: number;
}

/** One cluster-bench run of `checkout` under callgrind, counting inside its measured window. */
async function countRun(checkout: string, outDir: string, tag: string): Promise<RunResult> {
  if (!existsSync(join(checkout, "bench/cluster.bench.ts")))
    throw new Error(`${checkout}: no bench/cluster.bench.ts there (not a checkout of this project)`);
  const bench = [
    join(checkout, "bench/cluster.bench.ts"),
    ...["--transfers", args.transfers, "--accounts", args.accounts, "--nodes", args.nodes],
    ...["--seed", args.seed, "--callgrind-window", "--json"],
    ...(args.bracha ? ["--bracha"] : []),
  ];
  const valgrind = [
    "--tool=callgrind",
    "--instr-atstart=no",
    // V8 writes and patches its generated code: without this, callgrind would run stale translations.
    "--smc-check=all-non-file",
    `--callgrind-out-file=${join(outDir, `${tag}.out`)}`,
    process.execPath,
    // Replayable V8: no background compilation or collection threads, a garbage-collection schedule that
    // follows allocation rather than idle time and heap-growth timing, and fixed hash and random seeds.
    "--predictable",
    "--predictable-gc-schedule",
    "--hash-seed=1",
    "--random-seed=1",
    ...bench,
  ];
  let stdout: string;
  let stderr: string;
  try {
    ({ stdout, stderr } = await execFileAsync("valgrind", valgrind, { cwd: checkout, maxBuffer: 64 << 20 }));
  } catch (e) {
    const failed = e as NodeJS.ErrnoException & { stderr?: string };
    if (failed.code === "ENOENT") throw new Error("needs valgrind on the PATH (apt-get install valgrind)");
    const text = failed.stderr ?? failed.message;
    const unknown = /Unknown option '--(seed|callgrind-window)'/.exec(text);
    throw new Error(
      unknown !== null
        ? `${checkout}: its cluster bench has no --${unknown[1]} (older than this tool)`
        : `${checkout}: the run failed: ${text.split("\n").slice(-8).join("\n")}`,
    );
  }
  const refs = /I\s+refs:\s+([\d,]+)/.exec(stderr);
  if (refs === null) throw new Error(`${checkout}: callgrind printed no instruction count`);
  const report = JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as { transfers: number };
  const instructions = Number(refs[1]!.replaceAll(",", ""));
  const nodes = Number(args.nodes);
  return {
    instructions,
    transfers: report.transfers,
    perTransferPerNode: instructions / report.transfers / nodes,
  };
}

async function main(): Promise<void> {
  const checkouts = [HERE, ...(args.against === undefined ? [] : [resolve(args.against)])];
  const outDir = await mkdtemp(join(tmpdir(), "tally-instructions-"));
  try {
    const results = checkouts.map((): RunResult[] => []);
    // Each round runs every checkout at once, one per core. What varies between identical runs only adds
    // instructions (a LevelDB compaction or a collection that lands inside the window in one run and not in
    // another: 0.1–1 %, 2 % seen once), so a checkout's figure is its fewest.
    for (let round = 0; round < Number(args.runs); round++) {
      const counted = await Promise.all(checkouts.map((c, i) => countRun(c, outDir, `${i}-${round}`)));
      for (const [i, r] of counted.entries()) results[i]!.push(r);
    }
    const summary = checkouts.map((checkout, i) => {
      const perRun = results[i]!.map((r) => Math.round(r.perTransferPerNode));
      return { checkout, transfers: results[i]![0]!.transfers, perRun, fewest: Math.min(...perRun) };
    });
    const ratio =
      summary.length === 2
        ? Math.round((summary[0]!.fewest / summary[1]!.fewest) * 10_000) / 10_000
        : undefined;
    if (args.json) {
      console.log(
        JSON.stringify({ nodes: Number(args.nodes), seed: Number(args.seed), checkouts: summary, ratio }),
      );
      return;
    }
    for (const s of summary)
      console.log(
        `${s.checkout}: ${s.fewest.toLocaleString("en-US")} instructions per transfer per node ` +
          `(runs: ${s.perRun.map((x) => x.toLocaleString("en-US")).join(", ")}; ${s.transfers} transfers measured)`,
      );
    if (ratio !== undefined) console.log(`this checkout / --against: ${ratio}`);
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

await main().catch((e: Error) => {
  console.error(e.message);
  process.exitCode = 1;
});
