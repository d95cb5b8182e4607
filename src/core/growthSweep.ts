/**
 * Keeps a map that grows with the identities a node meets (an open network's peers come and go) to the ones
 * that still matter: once it holds `start` entries, and then each time it has doubled since the last sweep,
 * the entries `drop` picks are deleted. Each sweep is O(entries), so the cost is O(1) per entry added, and a
 * map whose entries all still matter just grows with them.
 */
export class GrowthSweep {
  private readonly start: number;
  private sweepAt: number;

  constructor(start: number) {
    this.start = start;
    this.sweepAt = start;
  }

  /** Call before adding an entry to `map`. */
  beforeAdd<K, V>(map: Map<K, V>, drop: (key: K, value: V) => boolean): void {
    if (map.size < this.sweepAt) return;
    for (const [key, value] of map) if (drop(key, value)) map.delete(key);
    this.sweepAt = Math.max(this.start, 2 * map.size);
  }
}
