/**
 * A map of at most `maxEntries` entries that forgets the oldest-inserted entry first: the node's caches and
 * bounded records.
 *
 * Why not a `Map` evicting `keys().next()`: V8's ordered hash tables leave a deleted entry's slot in place
 * until the next rehash, and an iterator from the front steps over every such slot. Evicting the oldest of
 * 65,536 entries that way cost ≈ 30 µs per insertion once the map had turned over (100,000 entries: ≈ 60 µs),
 * and a node evicts from several caches per transfer. Here the insertion order lives in a ring of keys, so an
 * eviction deletes by key: ≈ 0.1–0.3 µs whatever the size (`node bench/boundedCache.bench.ts`).
 *
 * Setting a key already present replaces its value and keeps its place. A key deleted and set again may
 * leave at its first insertion's turn — early, which a cache tolerates; users that need exact order never
 * delete.
 */
export class BoundedCache<K, V> {
  readonly maxEntries: number;
  private readonly map = new Map<K, V>();
  /** Keys in insertion order from `head`; a key no longer in `map` is a stale slot, skipped. */
  private ring: K[] = [];
  private head = 0;

  constructor(maxEntries: number) {
    if (!(Number.isSafeInteger(maxEntries) && maxEntries >= 1))
      throw new RangeError("maxEntries must be ≥ 1");
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): void {
    // One hash lookup, not a `has` and a `set`: whether the map grew tells a new key from a replaced one.
    const before = this.map.size;
    this.map.set(key, value);
    if (this.map.size === before) return;
    this.ring.push(key);
    if (this.map.size > this.maxEntries) this.evictOldest(key);
    this.tidy();
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** Entries oldest first. */
  entries(): MapIterator<[K, V]> {
    return this.map.entries();
  }

  /** Evicts the oldest entries until at most `maxEntries` remain (after the bound was lowered by a caller). */
  trimTo(entries: number): void {
    while (this.map.size > entries) this.evictOldest();
  }

  /** `keep`: the key just set, whose earlier slot (if it was deleted and set again) is stale. */
  private evictOldest(keep?: K): void {
    while (this.head < this.ring.length) {
      const oldest = this.ring[this.head++]!;
      if (oldest !== keep && this.map.delete(oldest)) return;
    }
  }

  /** Drops consumed ring slots, and rebuilds the ring when deletions left it mostly stale. */
  private tidy(): void {
    if (this.head >= 1024 && this.head * 2 >= this.ring.length) {
      this.ring = this.ring.slice(this.head);
      this.head = 0;
    }
    if (this.ring.length - this.head > 2 * this.maxEntries + 1024) {
      // The map iterates in insertion order: its keys are the ring without stale slots (one pass, rare).
      this.ring = [...this.map.keys()];
      this.head = 0;
    }
  }
}
