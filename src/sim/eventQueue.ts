/**
 * The simulator's timeline: a bucket queue. Events are grouped by whole simulated milliseconds; buckets
 * are taken in time order (a small binary heap of bucket keys) and, within a bucket, events in insertion
 * order. Pushing and popping are O(1) amortised — a binary heap over millions of in-flight messages was a
 * tenth of the simulation's time. Times within one millisecond are not reordered, a resolution far below
 * any latency model's. A run stays a pure function of its seed.
 */
export class EventQueue<T> {
  private readonly buckets = new Map<number, Bucket<T>>();
  private readonly keys: number[] = [];
  private current: Bucket<T> | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(time: number, item: T): void {
    let key = Math.floor(time);
    // Never schedule into a bucket already being drained behind the cursor's time: it would be lost.
    if (this.current !== undefined && key < this.current.key) key = this.current.key;
    let bucket = key === this.current?.key ? this.current : this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { key, times: [], items: [], next: 0 };
      this.buckets.set(key, bucket);
      heapPush(this.keys, key);
    }
    bucket.times.push(Math.max(time, key));
    bucket.items.push(item);
    this.count++;
  }

  /** Time of the earliest event; undefined when empty. */
  peekTime(): number | undefined {
    const bucket = this.front();
    return bucket === undefined ? undefined : bucket.times[bucket.next];
  }

  pop(): T | undefined {
    const bucket = this.front();
    if (bucket === undefined) return undefined;
    const item = bucket.items[bucket.next]!;
    bucket.items[bucket.next] = undefined as T; // let the GC have it
    bucket.next++;
    this.count--;
    return item;
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
    }
    return this.current;
  }
}

interface Bucket<T> {
  readonly key: number;
  readonly times: number[];
  readonly items: T[];
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
