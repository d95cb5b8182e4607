/**
 * The simulator's timeline: a bucket queue. Events are grouped by whole simulated milliseconds; buckets
 * are taken in time order (a small binary heap of bucket keys) and, within a bucket, in insertion order —
 * or, in a `grouped` queue, by each event's group (stably) when the bucket comes up. Pushing and popping
 * are O(1) amortised — a binary heap over millions of in-flight messages was a tenth of the simulation's
 * time. Order within one millisecond is a resolution far below any latency model's; the simulator groups
 * a millisecond's deliveries by receiver, so one node's state is touched while it is still in the CPU
 * cache (1.65× the message rate at 3,000 nodes). A run stays a pure function of its seed.
 *
 * An event is an item plus two integers (`group`, `tag`) kept in parallel arrays: a message sent to 300
 * subscribers is one object and 300 slots, not 300 event objects for the garbage collector to copy.
 */
export class EventQueue<T> {
  private readonly grouped: boolean;
  private readonly buckets = new Map<number, Bucket<T>>();
  private readonly keys: number[] = [];
  private current: Bucket<T> | undefined;
  private count = 0;
  private poppedGroup = -1;
  private poppedTag = -1;

  /** `grouped`: take each millisecond's events by group (−1 first), insertion order within a group. */
  constructor(options: { readonly grouped?: boolean } = {}) {
    this.grouped = options.grouped ?? false;
  }

  get size(): number {
    return this.count;
  }

  /** `group`: an integer ≥ −1 (the simulator: the receiver); `tag`: any integer, handed back by `pop`. */
  push(time: number, item: T, group = -1, tag = -1): void {
    let key = Math.floor(time);
    // Never schedule into a bucket already being drained behind the cursor's time: it would be lost.
    if (this.current !== undefined && key < this.current.key) key = this.current.key;
    let bucket = key === this.current?.key ? this.current : this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { key, times: [], items: [], groups: [], tags: [], next: 0 };
      this.buckets.set(key, bucket);
      heapPush(this.keys, key);
    }
    bucket.times.push(Math.max(time, key));
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

/** Positions within a bucket fit in the low bits of a sort key; larger buckets are left in insertion order. */
const POSITION_BITS = 2 ** 22;

/**
 * Stable reorder of a bucket by group: one numeric typed-array sort of (group, position) keys, far cheaper
 * than a comparator sort of the events.
 */
function groupBucket<T>(bucket: Bucket<T>): void {
  const n = bucket.items.length;
  if (n < 2 || n >= POSITION_BITS) return;
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = (bucket.groups[i]! + 1) * POSITION_BITS + i;
  keys.sort();
  const order = Array.from(keys, (key) => key % POSITION_BITS);
  bucket.times = order.map((i) => bucket.times[i]!);
  bucket.items = order.map((i) => bucket.items[i]!);
  bucket.groups = order.map((i) => bucket.groups[i]!);
  bucket.tags = order.map((i) => bucket.tags[i]!);
}
