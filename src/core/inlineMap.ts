/**
 * A map that keeps its first entry in two fields and makes a `Map` only for a second key.
 *
 * Why: a broadcast instance keeps several small per-digest tables (payloads, vote weights, its own READY
 * digests), and all but an equivocating source's instances hold one digest in each. Each `new Map()` is an
 * object and a hash table that live as long as the instance — longer than two scavenges at saturation, so
 * they are copied twice and promoted. Five such tables were ≈ 7 % of the bytes a loaded node's young
 * generation kept. Only the first entry is inline; a `Map` keeps the rest in insertion order.
 */
export class InlineMap<K, V> implements ReadonlyInlineMap<K, V> {
  private hasFirst = false;
  private firstKey: K | undefined;
  private firstValue: V | undefined;
  private rest: Map<K, V> | undefined;

  get size(): number {
    return (this.hasFirst ? 1 : 0) + (this.rest?.size ?? 0);
  }

  get(key: K): V | undefined {
    if (this.hasFirst && this.firstKey === key) return this.firstValue;
    return this.rest?.get(key);
  }

  has(key: K): boolean {
    return (this.hasFirst && this.firstKey === key) || this.rest?.has(key) === true;
  }

  set(key: K, value: V): this {
    if (this.hasFirst && this.firstKey === key) this.firstValue = value;
    else if (!this.hasFirst && this.rest === undefined) {
      this.hasFirst = true;
      this.firstKey = key;
      this.firstValue = value;
    } else {
      this.rest ??= new Map();
      this.rest.set(key, value);
    }
    return this;
  }

  /**
   * Removes the key. Once the inline entry is gone, later keys go to the `Map`, so iteration keeps insertion
   * order.
   */
  delete(key: K): boolean {
    if (this.hasFirst && this.firstKey === key) {
      this.hasFirst = false;
      this.firstKey = undefined;
      this.firstValue = undefined;
      if (this.rest === undefined) return true;
      // Keep order: the oldest remaining entry becomes the inline one.
      const next = this.rest.entries().next();
      if (!next.done) {
        const [k, v] = next.value;
        this.rest.delete(k);
        this.hasFirst = true;
        this.firstKey = k;
        this.firstValue = v;
      }
      if (this.rest.size === 0) this.rest = undefined;
      return true;
    }
    return this.rest?.delete(key) === true;
  }

  /** The keys in insertion order, as an array: a `for…of` over it allocates no iterator. */
  keys(): K[] {
    const keys: K[] = this.hasFirst ? [this.firstKey as K] : [];
    if (this.rest !== undefined) for (const key of this.rest.keys()) keys.push(key);
    return keys;
  }

  values(): V[] {
    const values: V[] = this.hasFirst ? [this.firstValue as V] : [];
    if (this.rest !== undefined) for (const value of this.rest.values()) values.push(value);
    return values;
  }

  entries(): Array<[K, V]> {
    const entries: Array<[K, V]> = this.hasFirst ? [[this.firstKey as K, this.firstValue as V]] : [];
    if (this.rest !== undefined) for (const entry of this.rest.entries()) entries.push(entry);
    return entries;
  }

  [Symbol.iterator](): Iterator<[K, V]> {
    return this.entries()[Symbol.iterator]();
  }
}

/** What readers of an `InlineMap` (or a `Map`) may use. */
export interface ReadonlyInlineMap<K, V> extends Iterable<[K, V]> {
  readonly size: number;
  get(key: K): V | undefined;
  has(key: K): boolean;
  keys(): readonly K[];
  values(): readonly V[];
}

/** A set that keeps its first member in a field and makes a `Set` only for a second (see `InlineMap`). */
export class InlineSet<T> implements Iterable<T> {
  private hasFirst = false;
  private first: T | undefined;
  private rest: Set<T> | undefined;

  get size(): number {
    return (this.hasFirst ? 1 : 0) + (this.rest?.size ?? 0);
  }

  has(value: T): boolean {
    return (this.hasFirst && this.first === value) || this.rest?.has(value) === true;
  }

  add(value: T): this {
    if (this.hasFirst && this.first === value) return this;
    if (!this.hasFirst && this.rest === undefined) {
      this.hasFirst = true;
      this.first = value;
    } else {
      this.rest ??= new Set();
      this.rest.add(value);
    }
    return this;
  }

  [Symbol.iterator](): Iterator<T> {
    const members: T[] = this.hasFirst ? [this.first as T] : [];
    if (this.rest !== undefined) for (const member of this.rest) members.push(member);
    return members[Symbol.iterator]();
  }
}
