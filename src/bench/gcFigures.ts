import { GC_KINDS, type GcKind, type GcPauses } from "./nodeProbe.ts";
import { round2 } from "./procStats.ts";

/** One kind of garbage collection over the window: how often it paused the main thread, and for how long. */
export interface GcKindFigures {
  /** Pauses per second of the window. */
  readonly perSec: number;
  /** Mean wall time of one pause, ms (0 when there was none). */
  readonly meanMs: number;
}

/** The main thread's GC pauses over the window by V8's kind of collection (see `GC_KINDS`). */
export type GcFigures = Readonly<Record<GcKind, GcKindFigures>>;

/** A node's pauses between two snapshots `seconds` apart. */
export function gcFiguresBetween(before: GcPauses, after: GcPauses, seconds: number): GcFigures {
  return byKind((kind) => {
    const count = after[kind].count - before[kind].count;
    const pausedSeconds = after[kind].seconds - before[kind].seconds;
    return {
      perSec: round2(count / seconds),
      meanMs: count > 0 ? round2((pausedSeconds * 1000) / count) : 0,
    };
  });
}

/**
 * Over several nodes: the mean rate per node, and the mean pause over all of their pauses (a node that paused
 * twice as often weighs twice as much in it).
 */
export function meanGcFigures(nodes: readonly GcFigures[]): GcFigures {
  return byKind((kind) => {
    const rate = nodes.reduce((sum, node) => sum + node[kind].perSec, 0);
    const pausedMs = nodes.reduce((sum, node) => sum + node[kind].perSec * node[kind].meanMs, 0);
    return { perSec: round2(rate / nodes.length), meanMs: rate > 0 ? round2(pausedMs / rate) : 0 };
  });
}

function byKind(figures: (kind: GcKind) => GcKindFigures): GcFigures {
  return Object.fromEntries(GC_KINDS.map((kind) => [kind, figures(kind)])) as GcFigures;
}
