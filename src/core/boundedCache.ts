/**
 * A map of at most `maxEntries` entries that forgets the oldest-inserted entry first: the node's caches and
 * bounded records.
 *
 * Why not a `Map` evicting `keys().next()`: V8's ordered hash tables leave a deleted entry's slot in place
 * until the next rehash, and a fresh iterator from the front steps over every such slot. Evicting the oldest
 * of 65,536 entries that way cost ≈ 30 µs per insertion once the map had turned over (100,000 entries: ≈ 60
 * µs), and a node evicts from several caches per transfer. Here one iterator lives as long as the map and is
 * advanced once per eviction: it never steps over a slot twice, and a JavaScript map iterator follows its map
 * through deletions and rehashes (it yields every live entry in insertion order, those set after it was made
 * included). Until session 27 the order lived in a ring of keys beside the map; the iterator needs no second
 * copy of every key and made an insertion with eviction plus a lookup 1.1–1.4× cheaper from 10,000 entries up
 * (`node bench/boundedCache.bench.ts`, which keeps the ring as its baseline).
 *
 * Setting a key already present replaces its value and keeps its place; a key deleted and set again takes the
 * newest place, as in a `Map`.
 */
export class BoundedCache<K, V> {
  readonly maxEntries: number;
  private readonly map = new Map<K, V>();
  /**
   * The next key to evict comes from here. Everything it has passed has been evicted (or deleted and, if set
   * again, moved behind it), so what it yields next is the oldest entry. Made on the first eviction, and again
   * if it ran off the end of an emptied map (a finished iterator stays finished).
   */
  private oldest: MapIterator<K> | undefined;

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
    this.map.set(key, value);
    // A replaced value leaves the size as it was; a new key beyond the bound pushes the oldest out.
    if (this.map.size > this.maxEntries) this.evictOldest();
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** Entries oldest first. */
  entries(): MapIterator<[K, V]> {
    return this.map.entries();
  }

  /** Evicts the oldest entries until at most `entries` remain (after the bound was lowered by a caller). */
  trimTo(entries: number): void {
    while (this.map.size > entries) this.evictOldest();
  }

  /** Only called on a non-empty map, so the oldest entry exists. */
  private evictOldest(): void {
    let next = this.oldest?.next();
    if (next === undefined || next.done === true) {
      this.oldest = this.map.keys();
      next = this.oldest.next();
    }
    this.map.delete(next.value as K);
  }
}
