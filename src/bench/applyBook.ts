/**
 * What the bench knows about each transfer of its workload: when it was first POSTed, which nodes have
 * reported it applied, and when the last of them did. Indexed by the workload's transfer index; fixed-size
 * typed arrays, so tracking 100,000s of transfers costs a few MB and no per-event allocation.
 */
export class ApplyBook {
  readonly nodes: number;
  private readonly submittedAt: Float64Array;
  /** When the last node reported it applied; NaN until every node has. */
  private readonly appliedEverywhereAt: Float64Array;
  /** When the first node reported it applied; NaN until one has. */
  private readonly appliedFirstAt: Float64Array;
  private readonly appliedOn: Uint8Array;
  /** One bit per (node, transfer): a node's repeated report must not count twice. */
  private readonly seen: Uint8Array[];
  private readonly rejected: Uint8Array;
  private appliedEverywhereCount = 0;
  private rejectedCount = 0;

  constructor(transfers: number, nodes: number) {
    this.nodes = nodes;
    this.submittedAt = new Float64Array(transfers).fill(Number.NaN);
    this.appliedEverywhereAt = new Float64Array(transfers).fill(Number.NaN);
    this.appliedFirstAt = new Float64Array(transfers).fill(Number.NaN);
    this.appliedOn = new Uint8Array(transfers);
    this.seen = Array.from({ length: nodes }, () => new Uint8Array(Math.ceil(transfers / 8)));
    this.rejected = new Uint8Array(transfers);
  }

  /** The first POST counts: a transfer retried after a "busy" answer keeps its first submission time. */
  submitted(index: number, nowMs: number): void {
    if (Number.isNaN(this.submittedAt[index]!)) this.submittedAt[index] = nowMs;
  }

  /** A node refused it at submission (not "busy"): it will never apply, and no longer holds a slot. */
  refused(index: number): void {
    this.rejected[index] = 1;
  }

  /** Returns true when this report settles the transfer: the last node applied it, or a first rejection. */
  resolved(node: number, index: number, status: "applied" | "rejected", nowMs: number): boolean {
    const bits = this.seen[node]!;
    const mask = 1 << (index & 7);
    if ((bits[index >> 3]! & mask) !== 0) return false;
    bits[index >> 3]! |= mask;
    if (status === "rejected") {
      if (this.rejected[index] === 1) return false;
      this.rejected[index] = 1;
      this.rejectedCount++;
      return true;
    }
    if (this.appliedOn[index] === 0) this.appliedFirstAt[index] = nowMs;
    if (++this.appliedOn[index]! < this.nodes) return false;
    this.appliedEverywhereAt[index] = nowMs;
    this.appliedEverywhereCount++;
    return this.rejected[index] === 0;
  }

  get appliedEverywhere(): number {
    return this.appliedEverywhereCount;
  }

  get rejections(): number {
    return this.rejectedCount;
  }

  /** Every node has applied it, or some node rejected it. */
  isSettled(index: number): boolean {
    return !Number.isNaN(this.appliedEverywhereAt[index]!) || this.rejected[index] === 1;
  }

  /** The measured window's figures (see `windowFigures`). */
  window(startMs: number, endMs: number): WindowFigures {
    return windowFigures(
      this.submittedAt,
      this.appliedEverywhereAt,
      this.rejected,
      startMs,
      endMs,
      this.appliedFirstAt,
    );
  }
}

export interface WindowFigures {
  /** Transfers first POSTed inside the window. */
  readonly submitted: number;
  /** Transfers whose last node applied them inside the window, whenever they were submitted. */
  readonly applied: number;
  /** Of the transfers submitted inside the window, those neither applied on every node nor refused (yet). */
  readonly unapplied: number;
  /** Submit → applied on every node, in ms, of the transfers submitted inside the window; sorted. */
  readonly latenciesMs: Float64Array;
  /**
   * Submit → applied on the first node, in ms, of the same transfers; sorted. Against `latenciesMs` it
   * tells the broadcast's own delay from the wait for the slowest node. Empty when not given the times.
   */
  readonly firstNodeLatenciesMs: Float64Array;
}

/**
 * Throughput counts applications inside [start, end) whatever their submission time; latency is taken over
 * submissions inside [start, end) whatever their application time (the run waits for them to drain), so a
 * slow tail is not cut off at the window's end.
 */
export function windowFigures(
  submittedAt: Float64Array,
  appliedAt: Float64Array,
  refused: Uint8Array,
  startMs: number,
  endMs: number,
  firstAppliedAt?: Float64Array,
): WindowFigures {
  let applied = 0;
  let submitted = 0;
  let unapplied = 0;
  const latencies: number[] = [];
  const firstNodeLatencies: number[] = [];
  for (let i = 0; i < submittedAt.length; i++) {
    const a = appliedAt[i]!;
    if (a >= startMs && a < endMs) applied++;
    const s = submittedAt[i]!;
    if (!(s >= startMs && s < endMs)) continue;
    submitted++;
    if (Number.isNaN(a)) {
      if (refused[i] === 0) unapplied++;
    } else {
      latencies.push(a - s);
      if (firstAppliedAt !== undefined) firstNodeLatencies.push(firstAppliedAt[i]! - s);
    }
  }
  const latenciesMs = Float64Array.from(latencies).sort();
  const firstNodeLatenciesMs = Float64Array.from(firstNodeLatencies).sort();
  return { submitted, applied, unapplied, latenciesMs, firstNodeLatenciesMs };
}

/** Nearest-rank percentile (p in (0, 100]) of sorted values; NaN when there are none. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}
