/** How many entries a `SmallMap` keeps in its own fields before it makes a `Map` for the rest. */
export const SMALL_MAP_INLINE_ENTRIES = 4;

/**
 * A map that keeps its first four entries in fields of its own and makes a `Map` only for a fifth key.
 *
 * Why: every live broadcast instance keeps its voters' ECHO and READY digests by peer. On a small network the
 * voters are the few peers, and a `new Map()` per tally was an object and a hash table that live as long as
 * the instance (promoted at saturation), with a lookup in it per vote. Here a vote from one of the first four
 * voters is a comparison or four on an object the vote already touches. A large sample's further voters go
 * to the `Map`, so a lookup never scans more than four fields.
 *
 * Keys are compared with `===` (as `SameValueZero` would, but for NaN, which no caller uses). Iteration is in
 * insertion order, as in a `Map`: deleting an inline entry shifts the later ones down and refills the last
 * field from the `Map`'s oldest entry, so the `Map` is empty whenever a field is free.
 */
export class SmallMap<K, V> implements Iterable<[K, V]> {
  private inline = 0;
  private k0: K | undefined;
  private v0: V | undefined;
  private k1: K | undefined;
  private v1: V | undefined;
  private k2: K | undefined;
  private v2: V | undefined;
  private k3: K | undefined;
  private v3: V | undefined;
  private rest: Map<K, V> | undefined;

  get size(): number {
    return this.inline + (this.rest?.size ?? 0);
  }

  get(key: K): V | undefined {
    const i = this.indexOf(key);
    if (i >= 0) return this.valueAt(i);
    return this.rest?.get(key);
  }

  has(key: K): boolean {
    return this.indexOf(key) >= 0 || this.rest?.has(key) === true;
  }

  set(key: K, value: V): this {
    const i = this.indexOf(key);
    if (i >= 0) this.put(i, key, value);
    else if (this.inline < SMALL_MAP_INLINE_ENTRIES) this.put(this.inline++, key, value);
    else {
      this.rest ??= new Map();
      this.rest.set(key, value);
    }
    return this;
  }

  delete(key: K): boolean {
    const i = this.indexOf(key);
    if (i < 0) return this.rest?.delete(key) === true;
    for (let j = i; j < this.inline - 1; j++) this.put(j, this.keyAt(j + 1) as K, this.valueAt(j + 1) as V);
    this.inline--;
    this.put(this.inline, undefined, undefined);
    const next = this.rest?.entries().next();
    if (next !== undefined && next.done !== true) {
      const [k, v] = next.value;
      this.rest!.delete(k);
      this.put(this.inline++, k, v);
      if (this.rest!.size === 0) this.rest = undefined;
    }
    return true;
  }

  /** Calls `fn` for every entry in insertion order, with no iterator or entry arrays. */
  forEach(fn: (value: V, key: K) => void): void {
    for (let i = 0; i < this.inline; i++) fn(this.valueAt(i) as V, this.keyAt(i) as K);
    this.rest?.forEach(fn);
  }

  [Symbol.iterator](): Iterator<[K, V]> {
    const entries: Array<[K, V]> = [];
    this.forEach((value, key) => {
      entries.push([key, value]);
    });
    return entries[Symbol.iterator]();
  }

  private indexOf(key: K): number {
    const n = this.inline;
    if (n > 0 && this.k0 === key) return 0;
    if (n > 1 && this.k1 === key) return 1;
    if (n > 2 && this.k2 === key) return 2;
    if (n > 3 && this.k3 === key) return 3;
    return -1;
  }

  private keyAt(i: number): K | undefined {
    return i === 0 ? this.k0 : i === 1 ? this.k1 : i === 2 ? this.k2 : this.k3;
  }

  private valueAt(i: number): V | undefined {
    return i === 0 ? this.v0 : i === 1 ? this.v1 : i === 2 ? this.v2 : this.v3;
  }

  private put(i: number, key: K | undefined, value: V | undefined): void {
    switch (i) {
      case 0:
        this.k0 = key;
        this.v0 = value;
        return;
      case 1:
        this.k1 = key;
        this.v1 = value;
        return;
      case 2:
        this.k2 = key;
        this.v2 = value;
        return;
      default:
        this.k3 = key;
        this.v3 = value;
    }
  }
}
