/**
 * The simulation's clock: timed callbacks in a binary heap, taken in (time, insertion) order, so a run is a
 * pure function of its seed. Time is a float in simulated milliseconds.
 */
export class Timeline {
  private readonly heap: Scheduled[] = [];
  private order = 0;
  private now = 0;

  get nowMs(): number {
    return this.now;
  }

  get pending(): number {
    return this.heap.length;
  }

  /** Runs `run` at `atMs` (never earlier than now). */
  at(atMs: number, run: () => void): void {
    const heap = this.heap;
    const item = { at: Math.max(atMs, this.now), order: this.order++, run };
    let i = heap.length;
    heap.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(item, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = item;
  }

  /** Runs every event due at or before `untilMs`; the clock then reads `untilMs`. */
  runUntil(untilMs: number): void {
    for (;;) {
      const next = this.heap[0];
      if (next === undefined || next.at > untilMs) break;
      this.pop();
      this.now = next.at;
      next.run();
    }
    this.now = Math.max(this.now, untilMs);
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && earlier(heap[right]!, heap[left]!) ? right : left;
      if (!earlier(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}

interface Scheduled {
  readonly at: number;
  readonly order: number;
  readonly run: () => void;
}

function earlier(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}
