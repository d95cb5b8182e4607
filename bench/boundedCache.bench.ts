/**
 * Bounded FIFO caches: a `Map` evicting `keys().next()` against `BoundedCache`, per insert + eviction once the
 * cache has turned over. Prints ns per operation and the ratio; run with `node bench/boundedCache.bench.ts`.
 */
import { BoundedCache } from "../src/core/boundedCache.ts";

const OPS = 200_000;

function mapFifo(n: number): number {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) m.set(`k${i}`, i);
  let next = n;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) {
    m.set(`k${next++}`, i);
    m.delete(m.keys().next().value!);
  }
  return Number(process.hrtime.bigint() - t0) / OPS;
}

function boundedCache(n: number): number {
  const c = new BoundedCache<string, number>(n);
  for (let i = 0; i < n; i++) c.set(`k${i}`, i);
  let next = n;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) c.set(`k${next++}`, i);
  return Number(process.hrtime.bigint() - t0) / OPS;
}

for (const n of [1_000, 10_000, 65_536, 100_000]) {
  const a = mapFifo(n);
  const b = boundedCache(n);
  console.log(
    `${String(n).padStart(7)} entries: Map+keys().next() ${a.toFixed(0).padStart(6)} ns, BoundedCache ${b.toFixed(0).padStart(4)} ns (${(a / b).toFixed(1)}×)`,
  );
}
