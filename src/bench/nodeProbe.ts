import { ErrorCode, TallyError } from "../core/errors.ts";
import { processCpuMicros } from "./procStats.ts";
import { type PromSamples, parsePromText, sample } from "./promText.ts";
import { type ThreadCpu, threadCpuMicros } from "./threadCpu.ts";

/** One node's cumulative counters at an instant: the bench takes one at each end of the window. */
export interface NodeSnapshot {
  readonly cpuMicros: number;
  /** The same CPU by the role of the threads that used it (threadCpu.ts). */
  readonly threads: ThreadCpu;
  /**
   * Time the main thread stood still for garbage collection (prom-client's default `nodejs_gc_duration_seconds`,
   * all kinds), in µs, if the node exposes it. Wall-clock pauses: on a busy machine they include time the
   * thread waited for a core.
   */
  readonly gcPauseMicros: number | undefined;
  /** The same pauses by V8's kind of collection: how many, and their summed wall time in s, if exposed. */
  readonly gcPauses: GcPauses | undefined;
  /** Transport counters (`tally_p2p{counter=…}`): p2p messages and bytes this node sent since it started. */
  readonly messagesOut: number;
  readonly bytesOut: number;
  /** Frames (each one write of batched messages to a peer's stream) this node sent since it started. */
  readonly framesOut: number;
  /** LevelDB writes (puts and deletes) this node committed since it started. */
  readonly storageWrites: number;
  /** Fsynced batches, one per processing step that wrote anything, since it started. */
  readonly storageBatches: number;
  /** Transfer signatures the node checked since it started (`tally_signature_checks`), if exposed. */
  readonly signatureChecks: number | undefined;
  /** Time the node's event loop spent running callbacks (`tally_process_event_loop_busy_seconds_total`), in µs. */
  readonly loopBusyMicros: number | undefined;
  /** V8 heap in use (prom-client's default `nodejs_heap_size_used_bytes`), if the node exposes it. */
  readonly heapUsedBytes: number | undefined;
  /** Processing steps completed and their summed wall time by phase, in s (`tally_step_seconds_total`), if exposed. */
  readonly steps: StepSeconds | undefined;
}

/** The phases of a node's processing step, as `tally_step_seconds_total{phase}` labels them. */
export const STEP_PHASES = ["wait", "handle", "write", "send"] as const;
export type StepPhase = (typeof STEP_PHASES)[number];

/** Cumulative: steps, and seconds spent in each phase of a step (the node's `StepTiming`). */
export interface StepSeconds {
  readonly count: number;
  readonly seconds: Readonly<Record<StepPhase, number>>;
}

/**
 * V8's kinds of garbage collection, as prom-client labels `nodejs_gc_duration_seconds`: `minor` the young
 * generation's scavenges, `major` full mark-compacts, `incremental` the steps of incremental marking, `weakcb`
 * weak-reference callbacks.
 */
export const GC_KINDS = ["minor", "major", "incremental", "weakcb"] as const;
export type GcKind = (typeof GC_KINDS)[number];

/** Cumulative, per kind: pauses and their summed wall time (s). */
export type GcPauses = Readonly<Record<GcKind, { readonly count: number; readonly seconds: number }>>;

/** The node registers prom-client's default metrics under this prefix; a bare name is accepted too. */
const HEAP_USED_NAMES = ["tally_process_nodejs_heap_size_used_bytes", "nodejs_heap_size_used_bytes"];
const GC_NAMES = ["tally_process_nodejs_gc_duration_seconds", "nodejs_gc_duration_seconds"];
const LOOP_BUSY_NAME = "tally_process_event_loop_busy_seconds_total";

/** Undefined against a node too old to export the step metrics. */
function stepSeconds(samples: PromSamples): StepSeconds | undefined {
  const count = samples.get("tally_steps_total");
  if (count === undefined) return undefined;
  const seconds: Partial<Record<StepPhase, number>> = {};
  for (const phase of STEP_PHASES) {
    const value = samples.get(`tally_step_seconds_total{phase="${phase}"}`);
    if (value === undefined) return undefined;
    seconds[phase] = value;
  }
  return { count, seconds: seconds as Record<StepPhase, number> };
}

function scaled(value: number | undefined, factor: number): number | undefined {
  return value === undefined ? undefined : value * factor;
}

/**
 * The pauses by kind under the first name the node exposes; a kind V8 has not run yet has no sample and counts
 * 0. Undefined when the node reports none of them.
 */
export function gcPausesOf(samples: PromSamples): GcPauses | undefined {
  for (const name of GC_NAMES) {
    const pauses: Partial<Record<GcKind, { count: number; seconds: number }>> = {};
    let seen = false;
    for (const kind of GC_KINDS) {
      const seconds = samples.get(`${name}_sum{kind="${kind}"}`);
      const count = samples.get(`${name}_count{kind="${kind}"}`);
      if (seconds !== undefined || count !== undefined) seen = true;
      pauses[kind] = { count: count ?? 0, seconds: seconds ?? 0 };
    }
    if (seen) return pauses as GcPauses;
  }
  return undefined;
}

/** Summed pauses of every kind, in µs. */
function totalMicros(pauses: GcPauses | undefined): number | undefined {
  return pauses === undefined
    ? undefined
    : GC_KINDS.reduce((sum, kind) => sum + pauses[kind].seconds, 0) * 1e6;
}

/** Reads a node's CPU from /proc and its transport counters and JS heap from `GET /metrics`. */
export class NodeProbe {
  private readonly api: string;
  private readonly pid: number;

  constructor(api: string, pid: number) {
    this.api = api;
    this.pid = pid;
  }

  async snapshot(): Promise<NodeSnapshot> {
    const cpuMicros = processCpuMicros(this.pid);
    const threads = threadCpuMicros(this.pid);
    if (cpuMicros === undefined || threads === undefined)
      throw new TallyError(
        ErrorCode.BenchFailed,
        `node pid ${this.pid} is not running (or not on this host)`,
      );
    const res = await fetch(`${this.api}/metrics`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new TallyError(ErrorCode.BenchFailed, `${this.api}/metrics answered ${res.status}`);
    const samples = parsePromText(await res.text());
    const gcPauses = gcPausesOf(samples);
    return {
      cpuMicros,
      threads,
      gcPauseMicros: totalMicros(gcPauses),
      gcPauses,
      messagesOut: sample(samples, "tally_p2p", "counter", "messagesOut"),
      bytesOut: sample(samples, "tally_p2p", "counter", "bytesOut"),
      framesOut: sample(samples, "tally_p2p", "counter", "framesOut"),
      storageWrites: sample(samples, "tally_storage_writes_total"),
      storageBatches: sample(samples, "tally_storage_batches_total"),
      signatureChecks: samples.get("tally_signature_checks"),
      loopBusyMicros: scaled(samples.get(LOOP_BUSY_NAME), 1e6),
      heapUsedBytes: HEAP_USED_NAMES.map((name) => samples.get(name)).find((v) => v !== undefined),
      steps: stepSeconds(samples),
    };
  }
}
