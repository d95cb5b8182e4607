/**
 * The simulator's timeline: a bucket queue. Events are bucketed by windows of simulated time (1 ms by
 * default); buckets are taken in time order (a small binary heap of bucket keys) and, within a bucket, in
 * insertion order — or, in a `grouped` queue, by each event's group and then by time. Pushing and popping
 * are O(1) amortised — a binary heap over millions of in-flight messages was a tenth of the simulation's
 * time. A run stays a pure function of its seed.
 *
 * Grouping is how the simulator keeps a node's state in the CPU cache: it takes a window's deliveries
 * receiver by receiver, each receiver's in time order. That is exact, not an approximation, whenever the
 * window is no longer than the shortest message delay: nothing handled inside a window can cause another
 * event inside it, so the receivers' slices of a window are independent (the lookahead argument of
 * conservative parallel discrete-event simulation). An event pushed into the window being drained (a
 * timer shorter than the window) is taken at its end.
 *
 * An event is an item plus two integers (`group`, `tag`) kept in parallel arrays: a message sent to 300
 * subscribers is one object and 300 slots, not 300 event objects for the garbage collector to copy.
 */
export class EventQueue<T> {
  private readonly grouped: boolean;
  private readonly windowMs: number;
  private readonly buckets = new Map<number, Bucket<T>>();
  private readonly keys: number[] = [];
  private current: Bucket<T> | undefined;
  private count = 0;
  private poppedGroup = -1;
  private poppedTag = -1;

  /**
   * `grouped`: take each window's events by group (−1 first), each group's in time order (then insertion
   * order). `windowMs`: the bucket width, at least 1 ms.
   */
  constructor(options: { readonly grouped?: boolean; readonly windowMs?: number } = {}) {
    this.grouped = options.grouped ?? false;
    this.windowMs = options.windowMs ?? 1;
    if (!(this.windowMs >= 1 && this.windowMs <= MAX_WINDOW_MS))
      throw new RangeError(`windowMs must be in [1, ${MAX_WINDOW_MS}]`);
  }

  get size(): number {
    return this.count;
  }

  /** `group`: an integer ≥ −1 (the simulator: the receiver); `tag`: any integer, handed back by `pop`. */
  push(time: number, item: T, group = -1, tag = -1): void {
    let key = Math.floor(time / this.windowMs);
    // Never schedule into a bucket already being drained behind the cursor's time: it would be lost.
    if (this.current !== undefined && key < this.current.key) key = this.current.key;
    let bucket = key === this.current?.key ? this.current : this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { key, times: [], items: [], groups: [], tags: [], next: 0 };
      this.buckets.set(key, bucket);
      heapPush(this.keys, key);
    }
    bucket.times.push(Math.max(time, key * this.windowMs));
    bucket.items.push(item);
    bucket.groups.push(group);
    bucket.tags.push(tag);
    this.count++;
  }

  /** Time of the earliest event; undefined when empty. */
  peekTime(): number | undefined {
    const bucket = this.front();
    return bucket === undefined ? undefined : bucket.times[bucket.next];
  }

  /** The earliest event's item; its group and tag are then `lastGroup` and `lastTag`. */
  pop(): T | undefined {
    const bucket = this.front();
    if (bucket === undefined) return undefined;
    const at = bucket.next;
    const item = bucket.items[at]!;
    bucket.items[at] = undefined as T; // let the GC have it
    this.poppedGroup = bucket.groups[at]!;
    this.poppedTag = bucket.tags[at]!;
    bucket.next++;
    this.count--;
    return item;
  }

  get lastGroup(): number {
    return this.poppedGroup;
  }

  get lastTag(): number {
    return this.poppedTag;
  }

  /** The bucket holding the earliest event, opening the next one when the current is drained. */
  private front(): Bucket<T> | undefined {
    while (this.current === undefined || this.current.next >= this.current.items.length) {
      if (this.current !== undefined) this.buckets.delete(this.current.key);
      const key = heapPop(this.keys);
      if (key === undefined) {
        this.current = undefined;
        return undefined;
      }
      this.current = this.buckets.get(key)!;
      if (this.grouped) groupBucket(this.current);
    }
    return this.current;
  }
}

interface Bucket<T> {
  readonly key: number;
  times: number[];
  items: T[];
  groups: number[];
  tags: number[];
  next: number;
}

function heapPush(heap: number[], value: number): void {
  let i = heap.length;
  heap.push(value);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]! <= value) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = value;
}

function heapPop(heap: number[]): number | undefined {
  if (heap.length === 0) return undefined;
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length > 0) {
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]! < heap[left]! ? right : left;
      if (heap[child]! >= last) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
  return top;
}

/** Windows wider than a second would make no sense for any latency model. */
const MAX_WINDOW_MS = 1000;

/**
 * Reorders a bucket's events by (group, time, insertion): a counting sort by group — groups are small
 * integers, receiver indices — into fresh arrays, then an insertion sort by time within each group, which
 * holds a few dozen events. Linear in the bucket plus the largest group, and the events are then read in
 * sequence. (An event pushed into the window being drained, a timer shorter than the window, is appended.)
 */
function groupBucket<T>(bucket: Bucket<T>): void {
  const { groups, times, items, tags } = bucket;
  const n = groups.length;
  if (n < 2) return;
  let maxGroup = -1;
  for (let i = 0; i < n; i++) if (groups[i]! > maxGroup) maxGroup = groups[i]!;
  // starts[g + 1]: where group g begins; after the scatter, where it ends.
  const starts = new Int32Array(maxGroup + 3);
  for (let i = 0; i < n; i++) starts[groups[i]! + 2]!++;
  for (let g = 1; g < starts.length; g++) starts[g]! += starts[g - 1]!;
  const sortedTimes = new Array<number>(n);
  const sortedItems = new Array<T>(n);
  const sortedGroups = new Array<number>(n);
  const sortedTags = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const at = starts[groups[i]! + 1]!++;
    sortedTimes[at] = times[i]!;
    sortedItems[at] = items[i]!;
    sortedGroups[at] = groups[i]!;
    sortedTags[at] = tags[i]!;
  }
  let begin = 0;
  for (let g = 0; g < starts.length - 1; g++) {
    const end = starts[g]!;
    if (end - begin > INSERTION_SORT_MAX) sortRunByTime(begin, end, sortedTimes, sortedItems, sortedTags);
    else insertionSortRunByTime(begin, end, sortedTimes, sortedItems, sortedTags);
    begin = end;
  }
  bucket.times = sortedTimes;
  bucket.items = sortedItems;
  bucket.groups = sortedGroups;
  bucket.tags = sortedTags;
}

/** Runs up to this long (a receiver's votes in one window) are sorted in place; longer ones, by index. */
const INSERTION_SORT_MAX = 32;

function insertionSortRunByTime<T>(begin: number, end: number, times: number[], items: T[], tags: number[]) {
  for (let i = begin + 1; i < end; i++) {
    const time = times[i]!;
    if (times[i - 1]! <= time) continue;
    const item = items[i]!;
    const tag = tags[i]!;
    let j = i - 1;
    while (j >= begin && times[j]! > time) {
      times[j + 1] = times[j]!;
      items[j + 1] = items[j]!;
      tags[j + 1] = tags[j]!;
      j--;
    }
    times[j + 1] = time;
    items[j + 1] = item;
    tags[j + 1] = tag;
  }
}

/**
 * A long run (a busy receiver's window, or every subscription a node receives at start), stably by time:
 * one numeric typed-array sort of (time in ns from the run's earliest, position) keys, O(k log k).
 * Nanoseconds are far below any latency model's resolution; closer times keep their insertion order.
 */
function sortRunByTime<T>(begin: number, end: number, times: number[], items: T[], tags: number[]) {
  const length = end - begin;
  if (length >= RUN_POSITIONS) throw new RangeError(`a receiver with ${length} events in one window`);
  let earliest = Number.POSITIVE_INFINITY;
  for (let i = begin; i < end; i++) if (times[i]! < earliest) earliest = times[i]!;
  const keys = new Float64Array(length);
  for (let k = 0; k < length; k++) {
    keys[k] = Math.floor((times[begin + k]! - earliest) * NS_PER_MS) * RUN_POSITIONS + k;
  }
  keys.sort();
  const runTimes = new Array<number>(length);
  const runItems = new Array<T>(length);
  const runTags = new Array<number>(length);
  for (let k = 0; k < length; k++) {
    const from = begin + (keys[k]! % RUN_POSITIONS);
    runTimes[k] = times[from]!;
    runItems[k] = items[from]!;
    runTags[k] = tags[from]!;
  }
  for (let k = 0; k < length; k++) {
    times[begin + k] = runTimes[k]!;
    items[begin + k] = runItems[k]!;
    tags[begin + k] = runTags[k]!;
  }
}

/** Keys stay exact doubles while (window in ns) × positions < 2^53: 1,000 ms × 10^6 × 2^23 < 2^53. */
const NS_PER_MS = 1_000_000;
const RUN_POSITIONS = 2 ** 23;
