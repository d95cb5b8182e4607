/**
 * Bounded FIFO caches, per insertion with eviction plus one lookup once the cache has turned over: a `Map`
 * evicting `keys().next()`, the ring-of-keys design `BoundedCache` had until session 27 (kept here as the
 * baseline), and today's `BoundedCache`. Keys are 64-character hex ids made before the clock starts, as the
 * node's ids are. Prints ns per operation and the ratios; run with `node bench/boundedCache.bench.ts`.
 */
import { randomBytes } from "node:crypto";
import { BoundedCache } from "../src/core/boundedCache.ts";

const OPS = 400_000;

interface Cache {
  set(key: string, value: number): void;
  get(key: string): number | undefined;
}

class NaiveFifo implements Cache {
  private readonly map = new Map<string, number>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  get(key: string): number | undefined {
    return this.map.get(key);
  }
  set(key: string, value: number): void {
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

/** The former design: insertion order in a ring of keys beside the map. */
class RingFifo implements Cache {
  private readonly map = new Map<string, number>();
  private readonly max: number;
  private ring: string[] = [];
  private head = 0;
  constructor(max: number) {
    this.max = max;
  }
  get(key: string): number | undefined {
    return this.map.get(key);
  }
  set(key: string, value: number): void {
    const before = this.map.size;
    this.map.set(key, value);
    if (this.map.size === before) return;
    this.ring.push(key);
    if (this.map.size > this.max) {
      while (this.head < this.ring.length) if (this.map.delete(this.ring[this.head++]!)) break;
    }
    if (this.head >= 1024 && this.head * 2 >= this.ring.length) {
      this.ring = this.ring.slice(this.head);
      this.head = 0;
    }
  }
}

function run(make: (n: number) => Cache, n: number, keys: readonly string[], ops: number): number {
  const cache = make(n);
  for (let i = 0; i < n; i++) cache.set(keys[i]!, i);
  let found = 0;
  const recent = Math.min(4096, n / 2);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) {
    cache.set(keys[n + i]!, i);
    // A lookup of a recent key, as the node's caches mostly see.
    if (cache.get(keys[n + i - (i % recent)]!) !== undefined) found++;
  }
  const ns = Number(process.hrtime.bigint() - t0) / ops;
  if (found !== ops) throw new Error(`lost a recent key: ${found} of ${ops} found`);
  return ns;
}

for (const n of [1_000, 10_000, 65_536, 100_000]) {
  const keys = Array.from({ length: n + OPS }, () => randomBytes(32).toString("hex"));
  const naiveOps = n >= 65_536 ? OPS / 20 : OPS / 4; // tens of µs per insertion at these sizes
  const naive = run((m) => new NaiveFifo(m), n, keys, naiveOps);
  // Alternated three times each, the best of each kept: what the machine adds only slows a run down.
  let ring = Number.POSITIVE_INFINITY;
  let now = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    ring = Math.min(
      ring,
      run((m) => new RingFifo(m), n, keys, OPS),
    );
    now = Math.min(
      now,
      run((m) => new BoundedCache<string, number>(m), n, keys, OPS),
    );
  }
  console.log(
    `${String(n).padStart(7)} entries: Map+keys().next() ${naive.toFixed(0).padStart(6)} ns, ` +
      `ring ${ring.toFixed(0).padStart(4)} ns, BoundedCache ${now.toFixed(0).padStart(4)} ns ` +
      `(${(naive / now).toFixed(1)}× and ${(ring / now).toFixed(2)}× faster)`,
  );
}
