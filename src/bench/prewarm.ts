import { type BenchTarget, getAccount } from "./benchTarget.ts";
import type { BenchSigner } from "./benchWorkload.ts";
import { type DevnetBenchOptions, type PrewarmFigures, runDevnetBench } from "./devnetBench.ts";

/**
 * Before a measured run: saturating load for `seconds`, so that what the run measures is a node in its steady
 * state rather than one still warming up.
 *
 * Why: a node that has just started spends its first minute or so compiling. V8 keeps optimising functions as
 * they become hot, on its helper threads, and the node's caches (recent statuses, ids, addresses) fill
 * up. On a 4-node devnet at 1,000 transfers/s, a fresh devnet's V8 helper threads cost 45–50 µs per transfer
 * per node in its first 20 s, against 17–25 once warm, and the median latency doubled
 * (docs/performance-log.md, "Session 31"). Saturation warms fastest: how hot code gets and how full the
 * caches are follow the transfers applied, not the time.
 *
 * It is a whole run of its own (the same workload, saturation, no warm-up), whose figures are dropped but for
 * its rate. It ends only when every transfer a node took has settled, and the run that follows signs from each
 * account's next seq as the first node reports it.
 */
export async function prewarm(
  target: BenchTarget,
  seconds: number,
  load: DevnetBenchOptions,
): Promise<{ readonly target: BenchTarget; readonly figures: PrewarmFigures }> {
  if (seconds <= 0) return { target, figures: { sec: 0, applied: 0, appliedPerSec: 0 } };
  load.progress?.write(`prewarm: ${seconds} s of saturating load before the run\n`);
  const run = await runDevnetBench(target, {
    ...load,
    rate: undefined,
    warmupSec: 0,
    durationSec: seconds,
    onWindow: undefined,
    settleAll: true,
  });
  const signers = await nextSeqSigners(target);
  return {
    target: { ...target, signers },
    figures: { sec: seconds, applied: run.applied, appliedPerSec: run.appliedPerSec },
  };
}

/** How many account lookups are in flight at once. */
const LOOKUPS_AT_ONCE = 16;

/** The target's signers, each from its account's next seq as the first node reports it. */
async function nextSeqSigners(target: BenchTarget): Promise<BenchSigner[]> {
  const api = target.nodes[0]!.api;
  const signers = [...target.signers];
  for (let at = 0; at < signers.length; at += LOOKUPS_AT_ONCE) {
    await Promise.all(
      signers.slice(at, at + LOOKUPS_AT_ONCE).map(async (signer, k) => {
        signers[at + k] = { ...signer, firstSeq: (await getAccount(api, signer.address)).nextSeq };
      }),
    );
  }
  return signers;
}
